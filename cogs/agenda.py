"""The agenda as members see it: the issues tabled for a meeting, in hot-seat order, and who is coming.

The commands (``/meeting table``, ``/meeting agenda``, ``/meeting withdraw``, ``/meeting reorder``) live
with the other meeting commands in ``cogs.meetings`` and draw with the helpers here.
"""

from __future__ import annotations

import discord

from bot.models import MeetingStatus
from bot.services.agenda import ISSUE_MAX, Agenda
from bot.ui.text import inert
from bot.ui.time import ts_with_relative

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
    hot_seats = "\n".join(lines) if lines else "No issue tabled yet: `/meeting table` puts yours on it."
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
