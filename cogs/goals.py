"""``/goal …`` and ``/kpi …``: goals with a status, KPIs logged monthly through a modal, KPI charts.

Thin adapter over :class:`bot.services.goals.GoalService`. What a viewer may see of a KPI is
decided by the service; the formatting here only shows what it returned.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.errors import UserError
from bot.models import CommitmentStatus, GoalStatus, KpiDirection, KpiVisibility
from bot.services.base import Actor
from bot.services.goals import (
    GoalInfo,
    GoalList,
    KpiChart,
    KpiPoint,
    KpiView,
    LogForm,
    Logged,
    Ref,
    Scorecard,
    Sight,
    month_from_text,
    month_key,
    show_month,
    show_number,
)
from bot.services.goals_feature import KPI_NUDGE
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors
from bot.ui.charts import render_kpi_chart
from bot.ui.dm import mention_only
from bot.ui.errors import log_failure
from bot.ui.notify import Notification, OutgoingMessage, Rendered, Renderer
from bot.ui.options import GroupOption, RefTransformer, TextTransformer, WhenOption
from bot.ui.pages import join_lines, respond_pages
from bot.ui.reply import defer, respond
from bot.ui.text import inert
from bot.ui.wins import ShareWinButton
from bot.ui.words import plural

log = logging.getLogger(__name__)

EMBED_COLOUR = discord.Colour.blurple()
DESCRIPTION_MAX = 4096
CHOICE_NAME_MAX = 100
LABEL_MAX = 45  # a modal field's label
MODAL_TITLE_MAX = 45
MESSAGE_COMPONENTS = 25  # five rows of five buttons
LINKED_SHOWN = 5  # a goal's card lists its latest linked commitments

STATUS_MARK: dict[str, str] = {
    GoalStatus.ON_TRACK: "🟢", GoalStatus.AT_RISK: "🟠", GoalStatus.BEHIND: "🔴", GoalStatus.DONE: "✅",
    GoalStatus.DROPPED: "➖",
}
GOAL_STATUS_CHOICES = [app_commands.Choice(name=status.label, value=status.value) for status in GoalStatus]
DIRECTION_CHOICES = [
    app_commands.Choice(name="up is better", value=KpiDirection.UP.value),
    app_commands.Choice(name="down is better", value=KpiDirection.DOWN.value),
]
VISIBILITY_CHOICES = [
    app_commands.Choice(name="private — only you (a facilitator sees that you logged)", value=KpiVisibility.PRIVATE.value),
    app_commands.Choice(name="change only — the group sees the % change, never the figure", value=KpiVisibility.CHANGE.value),
    app_commands.Choice(name="full — the group sees the figures", value=KpiVisibility.FULL.value),
]


# --- formatting ----------------------------------------------------------------------------------


def amount(value: Decimal, unit: str | None) -> str:
    return f"{show_number(value)} {inert(unit)}" if unit else show_number(value)


def change_text(change: int | None) -> str:
    if change is None:
        return "nothing the month before to compare with"
    return f"{change:+d} % on last month"


def goal_line(goal: GoalInfo) -> str:
    line = f"{STATUS_MARK[goal.status]} `#{goal.number}` {inert(goal.text)}"
    extras = []
    if goal.target is not None:
        extras.append(f"target {amount(goal.target, goal.unit)}")
    if goal.due_on is not None:
        extras.append(f"by {goal.due_on.day} {goal.due_on:%b %Y}")
    extras.append(f"*{goal.status_label}*")
    line += " — " + " · ".join(extras)
    if goal.note:
        line += "\n  ↳ " + inert(goal.note).replace("\n", "\n    ")
    shown = goal.commitments[-LINKED_SHOWN:]
    for item in shown:
        line += f"\n  • `#{item.number}` {inert(item.text)} — *{CommitmentStatus(item.status).label}*"
    if len(goal.commitments) > len(shown):
        line += f"\n  • and {plural(len(goal.commitments) - len(shown), 'earlier commitment')}"
    return line


def board_goal_line(goals: Sequence[GoalInfo]) -> list[str]:
    """A member's goals on the meeting board: one line, each goal with its status (none: no line)."""
    if not goals:
        return []
    return ["🎯 Goals: " + " · ".join(f"{STATUS_MARK[g.status]} `#{g.number}` {inert(g.text)} (*{g.status_label}*)" for g in goals)]


def goal_choice_name(goal: GoalInfo) -> str:
    suffix = f" — {goal.status_label}"
    prefix = f"#{goal.number} "
    room = CHOICE_NAME_MAX - len(prefix) - len(suffix)
    text = goal.text if len(goal.text) <= room else goal.text[: room - 1] + "…"
    return prefix + text + suffix


def goal_pages(listing: GoalList) -> list[discord.Embed]:
    lines: list[str] = []
    for member in listing.members:
        lines.append(f"**<@{member.user_id}>**")
        lines.extend(goal_line(goal) for goal in member.goals)
    pages = join_lines(lines, DESCRIPTION_MAX - 100) if lines else ["No goals yet: set one with `/goal add`."]
    title = f"Goals in {listing.group_name}"
    embeds = [discord.Embed(title=title, description=page, colour=EMBED_COLOUR) for page in pages]
    if len(embeds) > 1:
        for number, embed in enumerate(embeds, start=1):
            embed.set_footer(text=f"Page {number} of {len(embeds)}")
    return embeds


def point_line(kpi: KpiView, point: KpiPoint) -> str:
    """One month of a KPI, as much as the viewer may see."""
    month = show_month(point.month)
    if kpi.sight is Sight.FIGURES and point.value is not None:
        return f"{month}: **{amount(point.value, kpi.unit)}** ({change_text(point.change_pct)})"
    if kpi.sight is Sight.CHANGE and point.change_pct is not None:
        return f"{month}: {change_text(point.change_pct)}"
    if kpi.sight is Sight.CHANGE:
        return f"{month}: logged ({change_text(None)})"
    return f"{month}: logged"


def kpi_heading(kpi: KpiView) -> str:
    heading = f"**{inert(kpi.name)}** ({inert(kpi.unit)}, {KpiVisibility(kpi.visibility).label}"
    if kpi.target is not None:
        heading += f", target {amount(kpi.target, kpi.unit)}"
    return heading + ")"


def history_embed(kpi: KpiView, group_name: str) -> discord.Embed:
    lines = [f"<@{kpi.user_id}>'s KPI in **{group_name}**", kpi_heading(kpi), ""]
    if not kpi.points:
        lines.append("Nothing logged yet.")
    lines.extend(point_line(kpi, point) for point in reversed(kpi.points))
    pages = join_lines(lines, DESCRIPTION_MAX)
    return discord.Embed(title="KPI history", description=pages[0], colour=EMBED_COLOUR)


def scorecard_embed(card: Scorecard) -> discord.Embed:
    lines = [f"<@{card.user_id}>'s KPIs in **{card.group_name}**", ""]
    if not card.kpis:
        lines.append("No KPIs to show.")
    for kpi in card.kpis:
        latest = kpi.latest
        lines.append(kpi_heading(kpi))
        lines.append("  " + (point_line(kpi, latest) if latest is not None else "nothing logged yet"))
    pages = join_lines(lines, DESCRIPTION_MAX)
    return discord.Embed(title="Scorecard", description=pages[0], colour=EMBED_COLOUR)


def logged_text(logged: Logged) -> str:
    lines = [f"Logged for **{show_month(logged.month)}** ({logged.group_name}):"]
    for value in logged.values:
        lines.append(f"• {inert(value.name)}: **{amount(value.value, value.unit)}** ({change_text(value.change_pct)})")
    for name in logged.reached:
        lines.append(f"🎯 {inert(name)} reached its target!")
    return "\n".join(lines)


def month_label(month: date) -> str:
    return f"{month:%b}\n{month.year}" if month.month == 1 else f"{month:%b}"


async def goals_to_link(interaction: discord.Interaction[RoundtableBot], current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for ``/commit add goal:``: the member's own open goals in the group the command
    acts on (its ``group`` option, else the channel's group), at most 25."""
    if interaction.guild_id is None:
        return []
    try:
        typed = getattr(interaction.namespace, "group", None)
        group_id = None
        if isinstance(typed, str) and typed.strip():
            group_id = await interaction.client.services.groups.find_id(interaction.guild_id, typed.strip())
        goals = await interaction.client.services.goals.goal_choices(
            actor_from(interaction), current, open_only=True, group_id=group_id, in_group=True
        )
    except Exception as error:  # an autocomplete can't show an error: offer nothing
        log_failure("goal autocomplete", error)
        return []
    return [app_commands.Choice(name=goal_choice_name(g), value=f"id:{g.id}") for g in goals]


# --- the monthly log modal -----------------------------------------------------------------------


class KpiLogModal(Modal):
    """One field per KPI (five at most); an empty field leaves that month's value as it was."""

    def __init__(self, form: LogForm, *, actor: Actor | None = None) -> None:
        title = f"KPIs for {show_month(form.month)}"
        if form.pages > 1:
            title += f" ({form.page + 1}/{form.pages})"
        super().__init__(
            title=title[:MODAL_TITLE_MAX], custom_id=f"kpi:logmodal:{form.group_id}:{month_key(form.month)}:{form.page}"
        )
        self.form = form
        self.actor = actor  # opened from a DM (the KPI nudge): the member in the group's server
        self.inputs: dict[int, discord.ui.TextInput[KpiLogModal]] = {}
        for field in form.fields:
            text_input: discord.ui.TextInput[KpiLogModal] = discord.ui.TextInput(
                label=f"{field.name} ({field.unit})"[:LABEL_MAX], required=False, max_length=40,
                default=show_number(field.current) if field.current is not None else None,
                placeholder="a number, like 1,250.50", custom_id=f"kpi:field:{field.kpi_id}",
            )
            self.inputs[field.kpi_id] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: discord.Interaction[RoundtableBot]) -> None:  # type: ignore[override]
        actor = self.actor or actor_from(interaction)
        logged = await interaction.client.services.goals.log_values(
            actor, group_id=self.form.group_id, month=self.form.month,
            values={kpi_id: text_input.value for kpi_id, text_input in self.inputs.items()},
        )
        view = None
        if logged.reached_ids:  # "Share as a win", posted only on the owner's click
            view = discord.ui.View(timeout=None)
            for kpi_id in logged.reached_ids[:4]:
                view.add_item(ShareWinButton.kpi(actor.guild_id, kpi_id, logged.month))
        text = logged_text(logged)
        if self.form.page + 1 < self.form.pages and self.actor is not None:
            text += f"\n\nPage {self.form.page + 1} of {self.form.pages}: run `/kpi log` in the server for the rest."
        elif self.form.page + 1 < self.form.pages:
            view = view or discord.ui.View(timeout=None)
            view.add_item(NextKpisButton(self.form.group_id, self.form.month, self.form.page + 1))
            text += f"\n\nPage {self.form.page + 1} of {self.form.pages}: press **Next KPIs** for the rest."
        await respond(interaction, text, view=view)


class NextKpisButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kpi:lognext:(?P<group>[0-9]+):(?P<month>[0-9]{4}-[0-9]{2}):(?P<page>[0-9]{1,2})",
):
    """"Next KPIs": opens the modal's next page (works after a restart: everything is in custom_id)."""

    def __init__(self, group_id: int, month: date, page: int) -> None:
        super().__init__(discord.ui.Button(
            label="Next KPIs", style=discord.ButtonStyle.primary,
            custom_id=f"kpi:lognext:{group_id}:{month_key(month)}:{page}",
        ))
        self.group_id, self.month, self.page = group_id, month, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> NextKpisButton:
        return cls(int(match["group"]), month_from_text(match["month"]), int(match["page"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        form = await interaction.client.services.goals.log_form(
            actor_from(interaction), month=self.month, page=self.page, group_id=self.group_id
        )
        await interaction.response.send_modal(KpiLogModal(form))


class LogKpisButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kpi:lognow:(?P<guild>[0-9]+):(?P<group>[0-9]+):(?P<month>[0-9]{4}-[0-9]{2})",
):
    """"Log this month's KPIs" (the KPI nudge, a DM): opens the ``/kpi log`` modal for the month.

    A DM has no server, so the custom_id carries it; the service still checks the member is in the group.
    """

    def __init__(self, guild_id: int, group_id: int, month: date) -> None:
        super().__init__(discord.ui.Button(
            label="Log this month's KPIs", style=discord.ButtonStyle.primary,
            custom_id=f"kpi:lognow:{guild_id}:{group_id}:{month_key(month)}",
        ))
        self.guild_id, self.group_id, self.month = guild_id, group_id, month

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> LogKpisButton:
        return cls(int(match["guild"]), int(match["group"]), month_from_text(match["month"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        form = await interaction.client.services.goals.log_form(actor, month=self.month, group_id=self.group_id)
        await interaction.response.send_modal(KpiLogModal(form, actor=actor))


class LogDueKpisButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kpi:logdue:(?P<guild>[0-9]+):(?P<group>[0-9]+)",
):
    """"Log this month's KPIs" on the module prompt, the minutes and the carry-over DM: opens the
    ``/kpi log`` modal for the month just ended in the clicker's zone. Anyone may press it; a member
    without KPIs is told privately how to add one."""

    def __init__(self, guild_id: int, group_id: int) -> None:
        super().__init__(discord.ui.Button(
            label="Log this month's KPIs", style=discord.ButtonStyle.secondary, emoji="📈",
            custom_id=f"kpi:logdue:{guild_id}:{group_id}",
        ))
        self.guild_id, self.group_id = guild_id, group_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> LogDueKpisButton:
        return cls(int(match["guild"]), int(match["group"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        in_server = interaction.guild_id is not None
        actor = actor_from(interaction) if in_server else Actor(
            guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name
        )
        form = await interaction.client.services.goals.log_form(actor, group_id=self.group_id)
        await interaction.response.send_modal(KpiLogModal(form, actor=None if in_server else actor))


async def with_log_kpis(
    bot: RoundtableBot, view: discord.ui.View | None, *, guild_id: int, group_id: int, user_id: int | None = None
) -> discord.ui.View | None:
    """``view`` with a "Log this month's KPIs" button when the group (or ``user_id``) keeps KPIs."""
    if not await bot.services.goals.has_kpis(group_id=group_id, user_id=user_id):
        return view
    view = view or discord.ui.View(timeout=None)
    if len(view.children) < MESSAGE_COMPONENTS:
        view.add_item(LogDueKpisButton(guild_id, group_id))
    return view


# --- the cog -------------------------------------------------------------------------------------


class GoalsCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    goal = app_commands.Group(name="goal", description="Your goals, each with a number and a date", guild_only=True)
    kpi = app_commands.Group(name="kpi", description="Your KPIs, logged monthly", guild_only=True)

    def _renderers(self) -> dict[str, Renderer]:
        return {KPI_NUDGE: self.render_kpi_nudge}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(NextKpisButton, LogKpisButton, LogDueKpisButton, ShareKpiChartButton)
        self.bot.notifications.register_all(self._renderers())

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(NextKpisButton, LogKpisButton, LogDueKpisButton, ShareKpiChartButton)
        self.bot.notifications.unregister_all(self._renderers())

    async def render_kpi_nudge(self, note: Notification) -> Rendered:
        try:
            month = month_from_text(str(note.payload.get("month", "")))
        except UserError:
            return Rendered.skip("no month")
        view = discord.ui.View(timeout=None)
        view.add_item(LogKpisButton(note.guild_id, note.group_id, month))
        content = (
            f"📈 Time to log your KPIs for **{show_month(month)}**: press the button below "
            "(or use `/kpi log`). Only you see the figures unless you chose otherwise."
        )
        fallback = OutgoingMessage(
            content=f"<@{note.recipient_id}>, your KPIs for {show_month(month)} aren't logged yet — `/kpi log`",
            allowed_mentions=mention_only(note.recipient_id),
        )
        return Rendered(message=OutgoingMessage(content=content, view=view), fallback=fallback)

    # autocomplete ---------------------------------------------------------------------------------

    async def own_goals(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        try:
            goals = await self.bot.services.goals.goal_choices(actor_from(interaction), current)
        except Exception as error:  # an autocomplete can't show an error: offer nothing
            log_failure("goal autocomplete", error)
            return []
        return [app_commands.Choice(name=goal_choice_name(g), value=f"id:{g.id}") for g in goals]

    async def kpis(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        member = getattr(interaction.namespace, "member", None)
        member_id = getattr(member, "id", None)
        try:
            choices = await self.bot.services.goals.kpi_choices(
                actor_from(interaction), current, member_id=int(member_id) if member_id is not None else None
            )
        except Exception as error:
            log_failure("KPI autocomplete", error)
            return []
        return [
            app_commands.Choice(name=f"{c.name} ({c.unit})"[:CHOICE_NAME_MAX], value=f"id:{c.id}") for c in choices
        ]

    async def months(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        try:
            months = await self.bot.services.goals.months(actor_from(interaction))
        except Exception as error:
            log_failure("month autocomplete", error)
            return []
        names = {m: show_month(m) + (" (this month)" if i == 0 else " (just ended)" if i == 1 else "")
                 for i, m in enumerate(months)}
        needle = current.strip().casefold()
        return [
            app_commands.Choice(name=name, value=month_key(m))
            for m, name in names.items() if not needle or needle in name.casefold() or needle in month_key(m)
        ][:25]

    # /goal ----------------------------------------------------------------------------------------

    @goal.command(name="add", description="Set a goal (at most five open per group)")
    @app_commands.describe(
        text="Your goal (up to 200 characters)", target="A number to reach, like 10 or 25,000",
        unit="The target's unit, like clients or £ (up to 12 characters)", by="When, like 2027-06-30 or 30 June",
        group="Your group",
    )
    async def goal_add(
        self, interaction: discord.Interaction, text: app_commands.Transform[str, TextTransformer(200, what="goal")],
        target: app_commands.Transform[str, TextTransformer(40, what="target")] | None = None, unit: app_commands.Transform[str, TextTransformer(40, what="unit")] | None = None,
        by: WhenOption | None = None, group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.add_goal(
            actor_from(interaction), text=text, target=target, unit=unit, by=by, group_id=group
        )
        await respond(interaction, f"Goal set in **{result.group_name}**:\n{goal_line(result.goal)}")

    @goal.command(name="list", description="The group's goals, by member")
    @app_commands.describe(member="Only this member's", group="Your group")
    async def goal_list(
        self, interaction: discord.Interaction, member: discord.Member | None = None, group: GroupOption = None
    ) -> None:
        listing = await self.bot.services.goals.list_goals(
            actor_from(interaction), member_id=member.id if member else None, group_id=group
        )
        await respond_pages(interaction, goal_pages(listing))

    @goal.command(name="update", description="How a goal is going: on track, at risk, behind, done or dropped")
    @app_commands.describe(goal="Your goal (#number)", status="How it's going", note="A note (optional)", group="Your group")
    @app_commands.autocomplete(goal=own_goals)
    @app_commands.choices(status=GOAL_STATUS_CHOICES)
    async def goal_update(
        self, interaction: discord.Interaction, goal: app_commands.Transform[str, RefTransformer(100, what="goal")], status: app_commands.Choice[str],
        note: app_commands.Transform[str, TextTransformer(1000, what="note")] | None = None, group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.update_goal(
            actor_from(interaction), goal=Ref.parse(goal), status=status.value, note=note, group_id=group
        )
        prefix = "Updated" if result.changed else "Already so"
        await respond(interaction, f"{prefix}: {goal_line(result.goal)}")

    @goal.command(name="edit", description="Change your goal's text, target, unit or date")
    @app_commands.describe(
        goal="Your goal (#number)", text="New text", target="New target", unit="New unit", by="New date", group="Your group"
    )
    @app_commands.autocomplete(goal=own_goals)
    async def goal_edit(
        self, interaction: discord.Interaction, goal: app_commands.Transform[str, RefTransformer(100, what="goal")],
        text: app_commands.Transform[str, TextTransformer(200, what="goal")] | None = None, target: app_commands.Transform[str, TextTransformer(40, what="target")] | None = None,
        unit: app_commands.Transform[str, TextTransformer(40, what="unit")] | None = None, by: WhenOption | None = None,
        group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.edit_goal(
            actor_from(interaction), goal=Ref.parse(goal), text=text, target=target, unit=unit, by=by, group_id=group
        )
        await respond(interaction, f"{'Updated' if result.changed else 'Unchanged'}: {goal_line(result.goal)}")

    @goal.command(name="drop", description="Drop one of your goals")
    @app_commands.describe(goal="Your goal (#number)", group="Your group")
    @app_commands.autocomplete(goal=own_goals)
    async def goal_drop(
        self, interaction: discord.Interaction, goal: app_commands.Transform[str, RefTransformer(100, what="goal")], group: GroupOption = None
    ) -> None:
        result = await self.bot.services.goals.drop_goal(actor_from(interaction), goal=Ref.parse(goal), group_id=group)
        item = result.goal
        text = f"Dropped `#{item.number}` {inert(item.text)}." if result.changed else f"`#{item.number}` was already dropped."
        await respond(interaction, text)

    # /kpi -----------------------------------------------------------------------------------------

    @kpi.command(name="add", description="Track a KPI monthly (at most eight per group; private unless you say)")
    @app_commands.describe(
        name="Its name, like Revenue (up to 40 characters)", unit="Its unit, like £, clients or % (up to 12 characters)",
        target="A monthly target, like 10,000", direction="Is up or down better? (default: up)",
        visibility="Who sees it (default: private)", negative="Can it be negative, like a profit? (default: no)",
        group="Your group",
    )
    @app_commands.choices(direction=DIRECTION_CHOICES, visibility=VISIBILITY_CHOICES)
    async def kpi_add(
        self, interaction: discord.Interaction, name: app_commands.Transform[str, TextTransformer(40, what="KPI name")],
        unit: app_commands.Transform[str, TextTransformer(40, what="unit")], target: app_commands.Transform[str, TextTransformer(40, what="target")] | None = None,
        direction: app_commands.Choice[str] | None = None, visibility: app_commands.Choice[str] | None = None,
        negative: bool = False, group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.add_kpi(
            actor_from(interaction), name=name, unit=unit, target=target,
            direction=direction.value if direction else KpiDirection.UP,
            visibility=visibility.value if visibility else KpiVisibility.PRIVATE, allows_negative=negative,
            group_id=group,
        )
        await respond(
            interaction,
            f"KPI added in **{result.group_name}**: {kpi_heading(result.kpi)}\n"
            f"Log it each month with `/kpi log` (from {show_month(result.kpi.first_month)} on).",
        )

    @kpi.command(name="log", description="Log your KPIs for a month (default: the month just ended)")
    @app_commands.describe(month="Which month, like 2026-11 or November (default: the month just ended)", group="Your group")
    @app_commands.autocomplete(month=months)
    async def kpi_log(
        self, interaction: discord.Interaction, month: app_commands.Transform[str, TextTransformer(40, what="month")] | None = None,
        group: GroupOption = None,
    ) -> None:
        form = await self.bot.services.goals.log_form(actor_from(interaction), month=month, group_id=group)
        await interaction.response.send_modal(KpiLogModal(form))

    @kpi.command(name="edit", description="Change your KPI: name, unit, target, direction or who sees it")
    @app_commands.describe(
        kpi="Your KPI", name="New name", unit="New unit", target="New target", direction="Is up or down better?",
        visibility="Who sees it", negative="Can it be negative?", group="Your group",
    )
    @app_commands.autocomplete(kpi=kpis)
    @app_commands.choices(direction=DIRECTION_CHOICES, visibility=VISIBILITY_CHOICES)
    async def kpi_edit(
        self, interaction: discord.Interaction, kpi: app_commands.Transform[str, RefTransformer(100, what="KPI")],
        name: app_commands.Transform[str, TextTransformer(40, what="KPI name")] | None = None, unit: app_commands.Transform[str, TextTransformer(40, what="unit")] | None = None,
        target: app_commands.Transform[str, TextTransformer(40, what="target")] | None = None, direction: app_commands.Choice[str] | None = None,
        visibility: app_commands.Choice[str] | None = None, negative: bool | None = None, group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.edit_kpi(
            actor_from(interaction), kpi=Ref.parse(kpi), name=name, unit=unit, target=target,
            direction=direction.value if direction else None, visibility=visibility.value if visibility else None,
            allows_negative=negative, group_id=group,
        )
        await respond(interaction, f"{'Updated' if result.changed else 'Unchanged'}: {kpi_heading(result.kpi)}")

    @kpi.command(name="remove", description="Remove your KPI and every value logged for it")
    @app_commands.describe(kpi="Your KPI", group="Your group")
    @app_commands.autocomplete(kpi=kpis)
    async def kpi_remove(
        self, interaction: discord.Interaction, kpi: app_commands.Transform[str, RefTransformer(100, what="KPI")], group: GroupOption = None
    ) -> None:
        result = await self.bot.services.goals.remove_kpi(actor_from(interaction), kpi=Ref.parse(kpi), group_id=group)
        count = len(result.kpi.points)
        await respond(
            interaction, f"Removed {inert(result.kpi.name)} and its {plural(count, 'logged month')}."
        )

    @kpi.command(name="history", description="A KPI month by month (yours, or what a member shares)")
    @app_commands.describe(kpi="The KPI", member="Whose (default: yours)", group="Your group")
    @app_commands.autocomplete(kpi=kpis)
    async def kpi_history(
        self, interaction: discord.Interaction, kpi: app_commands.Transform[str, RefTransformer(100, what="KPI")],
        member: discord.Member | None = None, group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.goals.history(
            actor_from(interaction), kpi=Ref.parse(kpi), member_id=member.id if member else None, group_id=group
        )
        await respond(interaction, embed=history_embed(result.kpi, result.group_name))

    @kpi.command(name="list", description="A member's KPIs with their latest month, as they share them")
    @app_commands.describe(member="Whose (default: yours)", group="Your group")
    async def kpi_list(
        self, interaction: discord.Interaction, member: discord.Member | None = None, group: GroupOption = None
    ) -> None:
        card = await self.bot.services.goals.scorecard(
            actor_from(interaction), member_id=member.id if member else None, group_id=group
        )
        await respond(interaction, embed=scorecard_embed(card))

    @kpi.command(name="chart", description="Your KPI over the year, with its target (only you see it; a shared KPI you may post)")
    @app_commands.describe(kpi="Your KPI (default: your first)", group="Your group")
    @app_commands.autocomplete(kpi=kpis)
    async def kpi_chart(
        self, interaction: discord.Interaction, kpi: app_commands.Transform[str, RefTransformer(100, what="KPI")] | None = None,
        group: GroupOption = None,
    ) -> None:
        data = await self.bot.services.goals.chart(
            actor_from(interaction), kpi=Ref.parse(kpi) if kpi else None, group_id=group
        )
        await defer(interaction)
        embed, file = await kpi_chart_message(data)
        view: discord.ui.View | None = None
        if data.kpi.visibility == KpiVisibility.FULL:  # the group sees its figures: she may post the chart
            view = discord.ui.View(timeout=None)
            view.add_item(ShareKpiChartButton(interaction.guild_id or 0, data.kpi.id))
        await respond(interaction, embed=embed, file=file, view=view)


class ShareKpiChartButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kpi:sharechart:(?P<guild>[0-9]{1,19}):(?P<kpi>[0-9]{1,19})",
):
    """**Share with the group** under the chart of a fully shared KPI: posts it in the group's channel,
    on the owner's click only (``GoalService.chart_to_share`` checks owner and visibility again)."""

    def __init__(self, guild_id: int, kpi_id: int) -> None:
        super().__init__(discord.ui.Button(
            label="Share with the group", style=discord.ButtonStyle.primary,
            custom_id=f"kpi:sharechart:{guild_id}:{kpi_id}",
        ))
        self.guild_id, self.kpi_id = guild_id, kpi_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShareKpiChartButton:
        return cls(int(match["guild"]), int(match["kpi"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        data = await interaction.client.services.goals.chart_to_share(actor, kpi_id=self.kpi_id)
        await interaction.response.edit_message(view=None)  # the button goes first: one click, one post
        embed, file = await kpi_chart_message(data, title=f"{interaction.user.display_name}'s {data.kpi.name}")
        channel = interaction.client.get_partial_messageable(data.channel_id, guild_id=self.guild_id)
        try:
            await channel.send(f"📈 <@{actor.user_id}> shared a KPI.", embed=embed, file=file,
                               allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            log.warning("Couldn't share a KPI chart in %s: %s", data.channel_id, error)
            await respond(interaction, f"I couldn't post in <#{data.channel_id}> (missing access?).")
            return
        await respond(interaction, f"Shared in <#{data.channel_id}>.")


async def kpi_chart_message(data: KpiChart, *, title: str = "Your KPI over the last 12 months") -> tuple[discord.Embed, discord.File]:
    """The chart as an attachment in an embed whose description has the same numbers as text."""
    kpi = data.kpi
    values = [data.value_in(month) for month in data.months]
    chart = await render_kpi_chart(
        kpi.name, kpi.unit, [month_label(m) for m in data.months],
        [None if v is None else float(v) for v in values], None if kpi.target is None else float(kpi.target),
    )
    lines = [kpi_heading(kpi), ""]
    for month, value in zip(data.months, values, strict=True):
        lines.append(f"{show_month(month)}: {'—' if value is None else amount(value, kpi.unit)}")
    embed = discord.Embed(title=inert(title, 200), description="\n".join(lines), colour=EMBED_COLOUR)
    embed.set_image(url=f"attachment://{chart.filename}")
    return embed, discord.File(io.BytesIO(chart.png), filename=chart.filename, description=chart.alt[:1024])


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(GoalsCog(bot))
