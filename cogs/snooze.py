"""``/away set|end|status``; "Remind me later" (the buttons of ``bot.ui.snooze``) and the ``snooze``
renderer, which re-sends the snoozed reminder through its own kind's renderer, as it is now.

Thin adapter over :class:`bot.services.get(SnoozeService).SnoozeService` and ``AwayService``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.services.snooze import AWAY_NOTE_MAX, SNOOZE, AwayService, AwayStatus
from bot.ui.actor import actor_from
from bot.ui.notify import Notification, Rendered, Renderer
from bot.ui.options import TextTransformer, WhenOption
from bot.ui.reply import respond
from bot.ui.snooze import RemindLaterButton, SnoozeTimeButton, away_label
from bot.ui.text import inert
from bot.ui.words import plural

SNOOZED_PREFIX = "⏰ The reminder you asked for:"


def day_text(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def status_text(status: AwayStatus) -> str:
    if status.until is None or status.last_day is None:
        return ("You're not away: your DMs and nudges come as usual. `/away set until:DATE` pauses them in every "
                "group of this server.")
    lines = [
        f"You're away through **{day_text(status.last_day)}** ({status.timezone}): no DMs or nudges from your groups "
        "in this server until then. Your groups see you as "
        f"{away_label(status.until)} on the report-back board and in `/group info`.",
    ]
    if status.note:
        lines.append(f"Note: {inert(status.note)}")
    lines.append("`/away end` ends it early.")
    return "\n".join(lines)


class SnoozeCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    away = app_commands.Group(name="away", description="Pause your DMs and nudges while you're away", guild_only=True)

    def _renderers(self) -> dict[str, Renderer]:
        return {SNOOZE: self.render_snooze}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RemindLaterButton, SnoozeTimeButton)
        self.bot.notifications.register_all(self._renderers())

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RemindLaterButton, SnoozeTimeButton)
        self.bot.notifications.unregister_all(self._renderers())

    @away.command(name="set", description="Pause your DMs and nudges in every group here, through a date")
    @app_commands.describe(until="The last day you're away (like `24 December` or `next friday`), in your timezone",
                           note="A note for yourself (optional)")
    async def away_set(
        self, interaction: discord.Interaction, until: WhenOption,
        note: app_commands.Transform[str, TextTransformer(AWAY_NOTE_MAX, what="note")] | None = None,
    ) -> None:
        status = await self.bot.services.get(AwayService).set(actor_from(interaction), until=until, note=note)
        paused = f"\n{plural(status.changed, 'upcoming DM')} won't be sent." if status.changed else ""
        await respond(interaction, status_text(status) + paused)

    @away.command(name="end", description="End your away early: DMs and nudges come again")
    async def away_end(self, interaction: discord.Interaction) -> None:
        status = await self.bot.services.get(AwayService).end(actor_from(interaction))
        back = f" {plural(status.changed, 'upcoming DM')} back on." if status.changed else ""
        await respond(interaction, f"Welcome back! Your DMs and nudges come again.{back}")

    @away.command(name="status", description="Whether you're away, and until when")
    async def away_status(self, interaction: discord.Interaction) -> None:
        await respond(interaction, status_text(await self.bot.services.get(AwayService).status(actor_from(interaction))))

    # outbox renderer --------------------------------------------------------------------------------

    async def render_snooze(self, note: Notification) -> Rendered:
        """The snoozed reminder, rendered now by its own kind's renderer (its current state)."""
        kind, meeting_id = note.payload.get("kind"), note.payload.get("meeting_id")
        if not isinstance(kind, str) or kind == SNOOZE or not isinstance(meeting_id, int):
            return Rendered.skip("the snoozed reminder's kind is gone")
        renderer = self.bot.notifications.get(kind)
        if renderer is None:
            return Rendered.skip("the snoozed reminder's kind is gone")
        original = Notification(
            id=note.id, kind=kind, guild_id=note.guild_id, group_id=note.group_id, meeting_id=meeting_id,
            occurrence=str(note.payload.get("occurrence") or f"meeting:{meeting_id}"),
            recipient_id=note.recipient_id, due_at=note.due_at,
            payload={"starts_at": note.payload.get("starts_at")},
        )
        rendered = await renderer(original)
        if rendered.message is None:
            return rendered
        content = rendered.message.content
        message = replace(rendered.message, content=SNOOZED_PREFIX + (f"\n{content}" if content else ""))
        return replace(rendered, message=message)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(SnoozeCog(bot))
