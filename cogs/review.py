"""``/group stats`` and ``/group review`` (the commands live in :mod:`cogs.groups`, this module
renders them), the year in review's **Share** button and the review DM at the twelfth module.

Thin adapter over :class:`bot.services.get(ReviewService).ReviewService`: what a viewer may see is decided
there; every chart goes out with its numbers as text (the embed, and the image's description).
"""

from __future__ import annotations

import io
import logging
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import discord
from discord.ext import commands

from bot.client import RoundtableBot
from bot.models import GoalStatus, KpiVisibility
from bot.services.base import Actor
from bot.services.goals import Sight, show_month
from bot.services.review import GroupStats, ReviewService, YearReview
from bot.services.review_feature import YEAR_REVIEW
from bot.ui.actor import actor_from
from bot.ui.base import RendersErrors
from bot.ui.charts import Chart, CycleBar, ReviewKpi, render_group_stats_chart, render_review_card
from bot.ui.dm import mention_only
from bot.ui.notify import Notification, OutgoingMessage, Rendered, Renderer
from bot.ui.pages import EMBED_DESCRIPTION, join_lines
from bot.ui.reply import defer, respond
from bot.ui.text import inert
from bot.ui.words import plural

log = logging.getLogger(__name__)

EMBED_COLOUR = discord.Colour.blurple()
FILE_DESCRIPTION_MAX = 1024


# --- /group stats --------------------------------------------------------------------------------


def cycle_label(stats: GroupStats, index: int) -> str:
    day = stats.cycles[index].starts_at.astimezone(ZoneInfo(stats.timezone)).date()
    previous = stats.cycles[index - 1].starts_at.astimezone(ZoneInfo(stats.timezone)).year if index else None
    return f"{day.day} {day:%b}" + (f" {day.year}" if previous != day.year else "")


def stats_bars(stats: GroupStats) -> list[CycleBar]:
    bars = []
    for index, cycle in enumerate(stats.cycles):
        rate = cycle.rate
        detail = f"{rate.done} done, {rate.partly} partly of {rate.counted}" if rate.partly else f"{rate.done} of {rate.counted}"
        bars.append(CycleBar(
            label=cycle_label(stats, index), completion=rate.rate, completion_detail=detail,
            attendance=cycle.attendance, attendance_detail=f"{cycle.attended} of {cycle.expected}",
        ))
    return bars


def stats_goals(stats: GroupStats) -> list[tuple[str, int]]:
    return [(GoalStatus(status).label, count) for status, count in stats.goals_by_status.items()]


def stats_embeds(stats: GroupStats, chart: Chart) -> list[discord.Embed]:
    """The chart's numbers as text, then the members' rows (a facilitator's: everyone; a member's: theirs)."""
    lines = [
        f"The last {plural(len(stats.cycles), 'meeting cycle')}: commitments completed (partly counts half) and "
        "attendance (from the RSVPs: who said they were going).",
        "",
        *chart.alt.splitlines(),
        "",
        "**Each member** (the cycles above)" if stats.facilitator else "**You** (the cycles above)",
    ]
    for member in stats.members:
        rate = "—" if member.rate.rate is None else f"{member.rate.rate:.0%}"
        lines.append(
            f"<@{member.user_id}>: completed {rate} ({member.rate.done} done of {member.rate.counted}) · "
            f"at {member.attended} of {plural(member.meetings, 'meeting')}"
        )
    if not stats.facilitator:
        lines.append("*Each member's figures are for the facilitators; the group's are above.*")
    pages = join_lines(lines, EMBED_DESCRIPTION - 100)
    embeds = [
        discord.Embed(title=f"Group stats — {stats.group_name}" + (" (continued)" if i else ""), description=page,
                      colour=EMBED_COLOUR)
        for i, page in enumerate(pages[:2])
    ]
    embeds[0].set_image(url=f"attachment://{chart.filename}")
    if len(pages) > 2:
        embeds[-1].set_footer(text="More members than fit here.")
    return embeds


async def send_group_stats(interaction: discord.Interaction[RoundtableBot], group_id: int | None) -> None:
    await defer(interaction)  # reading a year of cycles and drawing the chart may take more than a second
    stats = await interaction.client.services.get(ReviewService).group_stats(actor_from(interaction), group_id=group_id)
    chart = await render_group_stats_chart(f"{stats.group_name}: per meeting cycle", stats_bars(stats), stats_goals(stats))
    file = discord.File(io.BytesIO(chart.png), filename=chart.filename, description=chart.alt[:FILE_DESCRIPTION_MAX])
    await respond(interaction, embeds=stats_embeds(stats, chart), file=file)


# --- the year in review --------------------------------------------------------------------------


def review_kpis(review: YearReview) -> list[ReviewKpi]:
    kpis = []
    for kpi in review.kpis:
        by_month = {p.month: p for p in kpi.points}
        months = sorted(by_month)
        figures = kpi.sight is Sight.FIGURES
        if not months or kpi.sight not in (Sight.FIGURES, Sight.CHANGE):
            continue
        kpis.append(ReviewKpi(
            name=kpi.name, unit=kpi.unit, labels=[show_month(m) for m in months],
            values=[_float(by_month[m].value) if figures else None for m in months],
            changes=[by_month[m].change_pct for m in months],
            target=float(kpi.target) if figures and kpi.target is not None else None,
        ))
    return kpis


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def review_facts(review: YearReview) -> list[tuple[str, str]]:
    done = sum(g.status == GoalStatus.DONE for g in review.goals)
    return [
        ("commitments kept", f"{review.kept} of {review.counted}"),
        ("wins", str(review.wins)),
        ("goals done", f"{done} of {len(review.goals)}"),
        ("KPIs logged", str(len([k for k in review.kpis if k.points]))),
    ]


async def review_chart(review: YearReview, name: str) -> Chart:
    return await render_review_card(
        f"{name}'s year in {review.group_name} ({show_month(review.since)} – {show_month(review.until)})",
        review_facts(review), [(g.text, GoalStatus(g.status).label) for g in review.goals], review_kpis(review),
        review.latest_wins,
    )


def review_embed(review: YearReview, chart: Chart) -> discord.Embed:
    lines = [f"<@{review.user_id}>'s year in **{review.group_name}**, {show_month(review.since)} – "
             f"{show_month(review.until)}", ""]
    lines.extend(inert(line) for line in chart.alt.splitlines())
    if not review.shared:
        private = [inert(k.name) for k in review.kpis if k.visibility == KpiVisibility.PRIVATE]
        change = [inert(k.name) for k in review.kpis if k.visibility == KpiVisibility.CHANGE]
        terms = []
        if private:
            terms.append(", ".join(private) + " left out (private)")
        if change:
            terms.append(", ".join(change) + " as the % change only")
        lines += ["", "Only you see this. **Share** posts it to the group" + (": " + "; ".join(terms) if terms else "") + "."]
    embed = discord.Embed(title="Year in review", description=join_lines(lines, EMBED_DESCRIPTION)[0],
                          colour=EMBED_COLOUR)
    embed.set_image(url=f"attachment://{chart.filename}")
    return embed


def chart_file(chart: Chart) -> discord.File:
    return discord.File(io.BytesIO(chart.png), filename=chart.filename, description=chart.alt[:FILE_DESCRIPTION_MAX])


def share_view(guild_id: int, group_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ShareReviewButton(guild_id, group_id))
    return view


async def send_review(
    interaction: discord.Interaction[RoundtableBot], group_id: int | None, *, actor: Actor | None = None
) -> None:
    """``/group review`` (and the twelfth module's DM button): the member's own year, privately, with **Share**."""
    actor = actor or actor_from(interaction)
    await defer(interaction)  # a year of goals, KPIs and commitments, then the chart
    review = await interaction.client.services.get(ReviewService).year_review(actor, group_id=group_id)
    chart = await review_chart(review, interaction.user.display_name)
    await respond(interaction, embed=review_embed(review, chart), file=chart_file(chart),
                  view=share_view(actor.guild_id, review.group_id))


def review_summary(review: YearReview) -> str:
    facts = " · ".join(f"{label}: **{value}**" for label, value in review_facts(review))
    return (f"🗓️ The twelfth module: your year in **{review.group_name}** ({show_month(review.since)} – "
            f"{show_month(review.until)}).\n{facts}\nSee it as an image (only you), and share it with the group if you like.")


class ShowReviewButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"review:show:(?P<guild>[0-9]+):(?P<group>[0-9]+)",
):
    """"Show my year in review" on the twelfth module's DM: the clicker's own year, privately."""

    def __init__(self, guild_id: int, group_id: int) -> None:
        super().__init__(discord.ui.Button(
            label="Show my year in review", style=discord.ButtonStyle.primary,
            custom_id=f"review:show:{guild_id}:{group_id}",
        ))
        self.guild_id, self.group_id = guild_id, group_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShowReviewButton:
        return cls(int(match["guild"]), int(match["group"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        await send_review(interaction, self.group_id, actor=actor)


class ShareReviewButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"review:share:(?P<guild>[0-9]+):(?P<group>[0-9]+)",
):
    """**Share** under a member's year in review: posts the clicker's own year to the group, with
    only what the group may see (never another member's: the review is always the clicker's)."""

    def __init__(self, guild_id: int, group_id: int) -> None:
        super().__init__(discord.ui.Button(
            label="Share with the group", style=discord.ButtonStyle.primary, custom_id=f"review:share:{guild_id}:{group_id}",
        ))
        self.guild_id, self.group_id = guild_id, group_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShareReviewButton:
        return cls(int(match["guild"]), int(match["group"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        review = await interaction.client.services.get(ReviewService).year_review(actor, group_id=self.group_id, shared=True)
        # The button goes from the member's copy first: a second click can't post it twice.
        await interaction.response.edit_message(view=None)
        chart = await review_chart(review, interaction.user.display_name)
        channel = interaction.client.get_partial_messageable(review.channel_id, guild_id=self.guild_id)
        try:
            await channel.send(
                f"🎉 <@{review.user_id}> shared their year in review.", embed=review_embed(review, chart),
                file=chart_file(chart), allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as error:
            log.warning("Couldn't share a year in review in %s: %s", review.channel_id, error)
            await respond(interaction, f"I couldn't post in <#{review.channel_id}> (missing access?).")
            return
        await respond(interaction, f"Shared in <#{review.channel_id}>, without the figures you keep private.")


class ReviewCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    def _renderers(self) -> dict[str, Renderer]:
        return {YEAR_REVIEW: self.render_year_review}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ShareReviewButton, ShowReviewButton)
        self.bot.notifications.register_all(self._renderers())

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ShareReviewButton, ShowReviewButton)
        self.bot.notifications.unregister_all(self._renderers())

    async def render_year_review(self, note: Notification) -> Rendered:
        """The twelfth module: each member's year, privately; the image on a click (then **Share**)."""
        review = await self.bot.services.get(ReviewService).review_of(group_id=note.group_id, user_id=note.recipient_id)
        if review is None:
            return Rendered.skip("the group or membership is gone")
        view = discord.ui.View(timeout=None)
        view.add_item(ShowReviewButton(note.guild_id, note.group_id))
        fallback = OutgoingMessage(
            content=f"<@{note.recipient_id}>, your year in **{review.group_name}** is ready: `/group review`",
            allowed_mentions=mention_only(note.recipient_id),
        )
        return Rendered(message=OutgoingMessage(content=review_summary(review), view=view), fallback=fallback)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(ReviewCog(bot))
