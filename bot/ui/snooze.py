"""Remind me later: the one snooze component every reminder DM carries.

Adding it to a DM is one call, where the DM's view is built::

    view = add_remind_later(view, kind=REPORTBACK_DM, group_id=report.group_id, meeting_id=report.meeting_id)

The kind must be declared ``snoozable`` by its feature (``bot.features.NotificationKind``); the
snooze re-sends the DM through that kind's renderer (``cogs.snooze``). Both buttons are
``DynamicItem``s (the ids are in the custom_id), so a click after a restart works; the cog that
owns the ``snooze`` kind registers them. Clicking "Remind me later" answers privately with the
times still open (bot.services.snooze); clicking one stores the snooze and says when it comes.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.services.snooze import SnoozeService
from bot.ui.base import RendersErrors
from bot.ui.reply import respond
from bot.ui.time import Style, ts

if TYPE_CHECKING:
    from bot.client import RoundtableBot
    from bot.services.snooze import SnoozeChoices

ROWS = 5  # a message holds five rows of components
ROW_WIDTH = 5
_IDS = r"(?P<kind>[a-z_]{1,32}):(?P<group>[0-9]{1,19}):(?P<meeting>[0-9]{1,19})"


class RemindLaterButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"snooze:ask:" + _IDS,
):
    """"Remind me later" on a reminder DM: offers the times still open, privately."""

    def __init__(self, kind: str, group_id: int, meeting_id: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label="Remind me later", emoji="⏰", style=discord.ButtonStyle.secondary,
                              custom_id=f"snooze:ask:{kind}:{group_id}:{meeting_id}", row=row)
        )
        self.kind, self.group_id, self.meeting_id = kind, group_id, meeting_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> RemindLaterButton:
        return cls(match["kind"], int(match["group"]), int(match["meeting"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        choices = await interaction.client.services.get(SnoozeService).options(
            user_id=interaction.user.id, group_id=self.group_id, kind=self.kind, meeting_id=self.meeting_id
        )
        await respond(interaction, choices_text(choices), view=choices_view(self.kind, self.group_id, self.meeting_id,
                                                                           choices))


class SnoozeTimeButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"snooze:set:" + _IDS + r":(?P<option>hour|morning|day_before)",
):
    """One of the times "Remind me later" offers; stores the snooze (re-checked at the click)."""

    def __init__(self, kind: str, group_id: int, meeting_id: int, option: str, *, label: str = "Snooze") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.primary,
                              custom_id=f"snooze:set:{kind}:{group_id}:{meeting_id}:{option}")
        )
        self.kind, self.group_id, self.meeting_id, self.option = kind, group_id, meeting_id, option

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> SnoozeTimeButton:
        return cls(match["kind"], int(match["group"]), int(match["meeting"]), match["option"])

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        snoozed = await interaction.client.services.get(SnoozeService).snooze(
            user_id=interaction.user.id, group_id=self.group_id, kind=self.kind, meeting_id=self.meeting_id,
            option=self.option,
        )
        at = snoozed.option.at
        await interaction.response.edit_message(
            content=f"⏰ Done: I'll remind you {ts(at, Style.FULL)} ({ts(at, Style.RELATIVE)}).", view=None
        )


def choices_text(choices: SnoozeChoices) -> str:
    lines = ["When should I remind you?"]
    lines += [f"• **{o.label}**: {ts(o.at, Style.FULL)}" for o in choices.options]
    if choices.limit is not None:
        lines.append(f"(Nothing later than the meeting, {ts(choices.limit, Style.FULL)}.)")
    return "\n".join(lines)


def choices_view(kind: str, group_id: int, meeting_id: int, choices: SnoozeChoices) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for option in choices.options:
        view.add_item(SnoozeTimeButton(kind, group_id, meeting_id, option.key, label=option.label))
    return view


def add_remind_later(
    view: discord.ui.View | None, *, kind: str, group_id: int, meeting_id: int
) -> discord.ui.View:
    """``view`` with "Remind me later" added: on a row of its own below the others when one is
    free, else at the end of the first row with room. A view that is full keeps its buttons (the
    DM's own buttons come first) and gets none."""
    view = view if view is not None else discord.ui.View(timeout=None)
    if any(item.row is None for item in view.children):  # laid out by discord.py: let it find room
        with contextlib.suppress(ValueError):  # full: the DM keeps its own buttons
            view.add_item(RemindLaterButton(kind, group_id, meeting_id))
        return view
    widths = [0] * ROWS
    for item in view.children:
        if item.row is not None and 0 <= item.row < ROWS:
            widths[item.row] += item.width
    used = [index for index, width in enumerate(widths) if width]
    below = (max(used) + 1) if used else 0
    if below < ROWS:
        row: int | None = below
    else:
        row = next((index for index, width in enumerate(widths) if width < ROW_WIDTH), None)
        if row is None:
            return view
    view.add_item(RemindLaterButton(kind, group_id, meeting_id, row=row))
    return view


def away_label(until: datetime) -> str:
    """"away until 20 December 2026": the last day away, in the reader's zone (``until`` is when it ends)."""
    return f"away until {ts(until - timedelta(minutes=1), Style.LONG_DATE)}"
