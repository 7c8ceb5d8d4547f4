"""A click on a button that is no longer on its message gets an answer, never silence.

discord.py drops a component interaction whose ``custom_id`` isn't on the message any more (a DM
redrawn between the member's screen and their click: the report-back's buttons after an answer);
the member would see "This interaction failed". Discord sends the message as it is now, so the
test is exact: the clicked ``custom_id`` is on none of its components.
"""

from __future__ import annotations

import logging

import discord

from bot.ui.reply import respond

log = logging.getLogger(__name__)

VANISHED = "That button isn't on this message any more: it changed after you opened it. Use the buttons shown now."


def on_message(message: discord.Message, component_type: int, custom_id: str) -> bool:
    """Whether ``message`` still carries a component of that type and custom_id."""
    view_cls: type[discord.ui.View] | type[discord.ui.LayoutView] = (
        discord.ui.LayoutView if message.flags.components_v2 else discord.ui.View
    )
    view = view_cls.from_message(message, timeout=None)
    return any(
        item.type.value == component_type and getattr(item, "custom_id", None) == custom_id
        for item in view.walk_children()
    )


async def answer_vanished_click(interaction: discord.Interaction) -> bool:
    """Answer privately if the clicked component has left its message; True if it had."""
    if interaction.type is not discord.InteractionType.component or interaction.message is None:
        return False
    data: dict[str, object] = dict(interaction.data or {})
    custom_id, component_type = data.get("custom_id"), data.get("component_type")
    if not isinstance(custom_id, str) or not isinstance(component_type, int):
        return False
    if on_message(interaction.message, component_type, custom_id):
        return False
    log.info("Click on %r, no longer on message %s: answered", custom_id, interaction.message.id)
    await respond(interaction, VANISHED)
    return True
