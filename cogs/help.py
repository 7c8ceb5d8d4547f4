"""``/help`` and the getting-started message when the bot joins a server."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown

from bot.client import RoundtableBot
from bot.services.help import Checklist, HelpState, NextStep
from bot.ui.actor import actor_from
from bot.ui.dm import send_to_member
from bot.ui.errors import log_failure
from bot.ui.notify import OutgoingMessage
from bot.ui.reply import respond
from bot.ui.time import Style, ts
from bot.ui.words import plural

log = logging.getLogger(__name__)

ABOUT = (
    "Roundtable runs small peer accountability groups: meet once a month, learn a module together, "
    "brainstorm each other's issues, and report back on what you committed to."
)
FIRST_STEPS = (
    "1. A server admin runs `/server setup timezone:Europe/London` (optionally `facilitator_role:`).\n"
    "2. A facilitator runs `/group create name:\"Tuesday Founders\"` in the group's channel, then "
    "`/meeting recurring rule:\"first tuesday\" time:18:00`.\n"
    "3. Members run `/group join` and `/timezone set`."
)
# Every command a member uses in a cycle, by the moment of the cycle it belongs to.
BEFORE = (
    "`/module current` read this month's module · `/checkin` say what you read, did and learned\n"
    "`/meeting next` when and where, and your RSVP · `/meeting list` the dates ahead\n"
    "`/meeting table` put your issue on the agenda · `/meeting agenda` who's tabling what, who's coming · "
    "`/meeting withdraw`\n"
    "`/commit report` report back on what you committed to (or use the DM's buttons)\n"
    "`/brainstorm open` table an issue for the group"
)
AT = (
    "`/brainstorm idea` add an idea · `/brainstorm close` rank the ideas (the owner)\n"
    "`/commit add` what you'll do before the next meeting · `/win` celebrate a success 🎉"
)
AFTER = (
    "`/commit list` · `/commit done` · `/commit edit` · `/commit drop` · `/commit stats`\n"
    "`/module progress` · `/module list` · `/brainstorm list` · `/brainstorm show`\n"
    "`/goal add` · `/goal list` · `/goal update` · `/goal edit` · `/goal drop`\n"
    "`/kpi log` · `/kpi list` · `/kpi history` · `/kpi chart` · `/kpi add` · `/kpi edit` · `/kpi remove`"
)
YOU = (
    "`/group join` · `/group leave` · `/group info` · `/group list` · `/timezone set`\n"
    "`/away set` pause your DMs while you're away · `/away end` · `/away status`\n"
    "`/group stats` the group's figures per cycle · `/group review` your year, as an image\n"
    "`/meeting minutes` a past meeting's minutes (Markdown copy)\n"
    "`/buddy pair` · `/buddy unpair` · `/help`\n"
    "`/mydata export` a copy of your data · `/mydata forget` delete it"
)
FACILITATOR = (
    "`/group add` · `/group remove` · `/group facilitator` · `/group settings` · `/group archive`\n"
    "`/meeting schedule` · `/meeting recurring` · `/meeting move` · `/meeting place` · `/meeting cancel` · `/meeting end`\n"
    "`/meeting substitute` let a member facilitate one meeting · `/meeting reorder` reorder the hot seats\n"
    "`/meeting attendance` take or correct attendance (`rates:True`: each member's rate) · `/meeting feedback` members' scores, without names\n"
    "`/module set` · `/module import` · `/module export`\n"
    "`/group export` what the group shares (Markdown, JSON) · `/group delete` the group and its data"
)
ADMIN = "`/server setup` · `/group create` · `/admin outbox`"

SECTIONS = {
    "before": "Before the meeting",
    "at": "At the meeting",
    "after": "After the meeting",
    "you": "You and your groups",
    "facilitator": "Facilitators",
    "admin": "Server admins (Manage Server)",
    "start": "Start a group",
}


def what_next(state: HelpState | None) -> str:
    """The one thing to do now, from the member's place in the cycle."""
    if state is None:
        return "Use these commands in a server where Roundtable runs a group."
    when = f" ({ts(state.next_meeting_at, Style.FULL)})" if state.next_meeting_at is not None else ""
    group = f"**{escape_markdown(state.group_name)}**" if state.group_name else "your group"
    match state.next_step:
        case NextStep.JOIN:
            if state.is_admin:
                return "No group of yours here yet: start one with `/group create`, or join one with `/group join`."
            return "You're not in a group here yet: `/group join` shows the groups you can join."
        case NextStep.TIMEZONE:
            return "Set your time zone with `/timezone set`, so every time and reminder is in your own time."
        case NextStep.NO_MEETING:
            if state.is_facilitator:
                return f"{group} has no meeting planned: `/meeting recurring` or `/meeting schedule` sets one."
            return f"{group} has no meeting planned yet; a facilitator will set one (`/meeting next` shows it)."
        case NextStep.RSVP:
            return f"Tell {group} whether you're coming to the next meeting{when}: `/meeting next`."
        case NextStep.REPORT:
            return f"Report back on your {plural(state.to_report, 'commitment')} before the meeting{when}: `/commit report`."
        case NextStep.CHECKIN:
            return f"Check in on this month's module before the meeting{when}: `/checkin`."
        case _:
            return f"You're all set for the next meeting of {group}{when}."


def checklist_text(checklist: Checklist) -> str:
    return "\n".join(f"{'✅' if step.done else '⬜'} {step.text}" for step in checklist.steps)


def help_embed(state: HelpState | None = None) -> discord.Embed:
    """``/help`` for its reader: a member sees the cycle; facilitators and admins also see theirs."""
    embed = discord.Embed(
        title="Roundtable", description=f"**Next:** {what_next(state)}\n\n{ABOUT}", colour=discord.Colour.blurple()
    )
    is_member = state is not None and state.is_member
    is_admin = state is not None and state.is_admin
    if not is_member:
        embed.add_field(name=SECTIONS["start"], value=FIRST_STEPS, inline=False)
    if state is not None and state.setup is not None:
        name = f"Setting up {state.setup.group_name}"[:256]
        embed.add_field(name=name, value=checklist_text(state.setup)[:1024], inline=False)
    embed.add_field(name=SECTIONS["before"], value=BEFORE, inline=False)
    embed.add_field(name=SECTIONS["at"], value=AT, inline=False)
    embed.add_field(name=SECTIONS["after"], value=AFTER, inline=False)
    embed.add_field(name=SECTIONS["you"], value=YOU, inline=False)
    if state is None or state.is_facilitator or is_admin:
        embed.add_field(name=SECTIONS["facilitator"], value=FACILITATOR, inline=False)
    if state is None or is_admin:
        embed.add_field(name=SECTIONS["admin"], value=ADMIN, inline=False)
    return embed


def welcome_text() -> str:
    return f"👋 Thanks for adding Roundtable. {ABOUT}\n\n**Getting started**\n{FIRST_STEPS}\n\n`/help` lists every command."


class HelpCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What to do next, and the commands for each moment of the cycle")
    async def help(self, interaction: discord.Interaction) -> None:
        state = await self.bot.services.help.state(actor_from(interaction)) if interaction.guild_id else None
        await respond(interaction, embed=help_embed(state))

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        try:
            if not await self.bot.services.guilds.mark_welcomed(guild.id):
                return
            await self.welcome(guild)
        except Exception as exc:  # a listener must never die silently
            log_failure(f"welcome guild {guild.id}", exc)

    async def welcome(self, guild: discord.Guild) -> str:
        """Post the getting-started message: the system channel if allowed, else DM the owner."""
        channel = guild.system_channel
        if channel is not None and channel.permissions_for(guild.me).send_messages:
            try:
                await channel.send(welcome_text())
                return "system channel"
            except discord.HTTPException as exc:
                log.info("Couldn't welcome in %s's system channel: %s", guild.id, exc)
        if guild.owner_id is None:
            return "nowhere"
        delivery = await send_to_member(self.bot, guild.owner_id, OutgoingMessage(content=welcome_text()))
        return "owner DM" if delivery.by_dm else "nowhere"


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(HelpCog(bot))
