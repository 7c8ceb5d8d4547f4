"""``/agenda …``: table an issue for a meeting, see the agenda (hot seats and RSVPs), reorder it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.models import MeetingStatus
from bot.services.agenda import ISSUE_MAX, Agenda
from bot.services.meetings import ordinal
from bot.ui.actor import actor_from
from bot.ui.options import BoundedInt, GroupOption, MeetingOption, TextTransformer
from bot.ui.reply import respond
from bot.ui.text import inert
from bot.ui.time import Style, ts, ts_with_relative

# Discord lets a member type more than the limit, so the bot (not the client) can say what's wrong.
TYPED_MAX = 2 * ISSUE_MAX
_ISSUE_SHOWN = 240  # an escaped issue on the agenda: 12 of them fit in one embed


def _people(user_ids: tuple[int, ...]) -> str:
    text = ", ".join(f"<@{uid}>" for uid in user_ids)
    return (text if len(text) <= 1024 else f"{len(user_ids)} members") or "—"


def agenda_embed(agenda: Agenda) -> discord.Embed:
    lines = []
    for entry in agenda.entries:
        line = f"**{entry.position}.** <@{entry.user_id}> — {inert(entry.issue, _ISSUE_SHOWN)}"
        if entry.thread_id is not None:
            line += f" · brainstorm <#{entry.thread_id}>"
        elif entry.from_brainstorm:
            line += " · brainstorm"
        lines.append(line)
    hot_seats = "\n".join(lines) if lines else "No issue tabled yet: `/agenda table` puts yours on it."
    status = "" if agenda.status == MeetingStatus.SCHEDULED else f" — {agenda.status}"
    embed = discord.Embed(
        title=f"Agenda — {agenda.group_name}"[:256],
        description=f"{ts_with_relative(agenda.starts_at)}{status}\n\n"
        f"**Hot seats, in order**\n{hot_seats}"[:4096],
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name=f"Going ({len(agenda.going)})", value=_people(agenda.going), inline=True)
    embed.add_field(name=f"Maybe ({len(agenda.maybe)})", value=_people(agenda.maybe), inline=True)
    embed.add_field(name=f"Apologies ({len(agenda.apologies)})", value=_people(agenda.apologies), inline=True)
    embed.add_field(name=f"No answer yet ({len(agenda.no_answer)})", value=_people(agenda.no_answer), inline=False)
    footer = agenda.label + (" · order set by a facilitator" if agenda.reordered else " · hot seats rotate fairly")
    embed.set_footer(text=footer)
    return embed


class AgendaCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    agenda = app_commands.Group(name="agenda", description="The meeting's agenda: tabled issues and hot seats",
                                guild_only=True)

    @agenda.command(name="table", description="Put your issue on the agenda of the next meeting")
    @app_commands.describe(issue=f"What you'd like the group's help with (up to {ISSUE_MAX} characters)",
                           meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def agenda_table(self, interaction: discord.Interaction, issue: app_commands.Transform[str, TextTransformer(TYPED_MAX, what="issue")],
                           meeting: MeetingOption | None = None, group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.table(actor_from(interaction), issue=issue, meeting_id=meeting,
                                                      group_id=group)
        position = agenda.position_of(interaction.user.id) or len(agenda.entries)
        await respond(
            interaction,
            f"Tabled for the meeting of {ts(agenda.starts_at, Style.FULL)}: you're **{ordinal(position)}** in the hot-seat order.",
            embed=agenda_embed(agenda),
        )

    @agenda.command(name="show", description="Who's tabling what, in hot-seat order, and who's coming")
    @app_commands.describe(meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def agenda_show(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                          group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.show(actor_from(interaction), meeting_id=meeting, group_id=group)
        await respond(interaction, embed=agenda_embed(agenda))

    @agenda.command(name="withdraw", description="Take your issue off a meeting's agenda")
    @app_commands.describe(meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def agenda_withdraw(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                              group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.withdraw(actor_from(interaction), meeting_id=meeting, group_id=group)
        await respond(interaction, f"Your issue is off the agenda of the meeting of {ts(agenda.starts_at, Style.FULL)}.",
                      embed=agenda_embed(agenda))

    @agenda.command(name="move", description="Put a member's issue at another place in the hot-seat order (facilitator)")
    @app_commands.describe(member="Whose issue", position="Its new place (1 goes first)",
                           meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def agenda_move(self, interaction: discord.Interaction, member: discord.User,
                          position: app_commands.Transform[int, BoundedInt(1, 12, what="place")], meeting: MeetingOption | None = None,
                          group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.move(actor_from(interaction), user_id=member.id, position=position,
                                                     meeting_id=meeting, group_id=group)
        await respond(interaction, f"<@{member.id}>'s issue is now **{ordinal(position)}** in the hot-seat order.",
                      embed=agenda_embed(agenda))


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(AgendaCog(bot))
