"""Charts as PNG images, rendered with matplotlib's Agg canvas off the event loop.

Domain-free: callers pass labels and numbers, and get back the image and its text alternative
(the same numbers as lines of text, for the embed). Colours are the Okabe–Ito palette (safe for
every common colour-vision deficiency) on an opaque light card, so a chart reads the same on
Discord's dark and light themes; the target is a dashed line as well as a colour.

``await render_kpi_chart(...)`` (and the other ``render_*``) run in a worker process (one, started
with ``spawn`` on the first chart and kept): matplotlib's drawing holds the GIL and fills the heap,
and in a thread of the bot's own process that showed as event-loop lag (the GIL handed back every
5 ms at best, and full garbage collections of matplotlib's objects stopping the loop for tens to
hundreds of ms under load; see docs/PERFORMANCE.md, "Charts"). In the worker the loop only waits
for the pickled arguments and the PNG bytes. A worker that died is replaced once per call; when a
new one can't start either (a process whose ``__main__`` can't be re-imported, like a script read
from stdin), the chart is rendered in a thread instead, and that is logged.
The synchronous functions stay usable directly (tests, the benchmark), one at a time behind a lock
(matplotlib's text layout isn't thread-safe).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import io
import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

# Okabe & Ito (2008): distinguishable with protanopia, deuteranopia and tritanopia.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
CARD = "#F4F4F4"  # opaque: the same contrast on a dark or a light theme
INK = "#1F1F1F"
GRID = "#C8C8C8"
WIDTH_PX, HEIGHT_PX, DPI = 800, 400, 100
FILENAME_KPI = "kpi.png"
FILENAME_COMPLETION = "completion.png"
FILENAME_GROUP = "group-stats.png"
FILENAME_REVIEW = "year-in-review.png"
WIDE_PX = 1000

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
T = TypeVar("T")


def _executor(*, fresh: bool = False) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if fresh and _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
        if _pool is None:
            # spawn: a fresh interpreter that imports this module (``python -m bot``'s __main__ is
            # not re-run: multiprocessing skips a ``*.__main__`` module).
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=prepare_worker)
        return _pool


@dataclass(frozen=True, slots=True)
class _Matplotlib:
    Figure: type[Figure]
    FigureCanvasAgg: type[FigureCanvasAgg]
    FuncFormatter: type[FuncFormatter]
    MaxNLocator: type[MaxNLocator]
    PercentFormatter: type[PercentFormatter]


@functools.cache
def _mpl() -> _Matplotlib:
    """matplotlib, imported on the first chart drawn: in the chart worker (or the thread fallback,
    the tests, the benchmark), never in the bot's own process, which it would grow by ~30 MiB."""
    import matplotlib

    matplotlib.use("Agg")  # no display, whatever the environment says
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    return _Matplotlib(Figure, FigureCanvasAgg, FuncFormatter, MaxNLocator, PercentFormatter)


def prepare_worker() -> None:
    """The chart worker's start: matplotlib warmed up (fonts, caches, a first figure), then the heap
    it leaves frozen (``gc.freeze``), so the full collections drawing triggers scan only what one
    chart allocates: measured, a full collection of the unfrozen heap added ~100 ms to one render
    in ten (the p99 of the two largest charts 308 / 341 ms; frozen, 209 / 248 ms)."""
    completion_chart("warm-up", ["a", "b"], [0.5, None])
    gc.collect()
    gc.freeze()


async def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the chart worker process (module-level functions and picklable arguments)."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), function, *args)
    except BrokenProcessPool:  # the worker died (killed, out of memory): one new worker, one retry
        pass
    try:
        return await loop.run_in_executor(_executor(fresh=True), function, *args)
    except BrokenProcessPool:
        log.warning("The chart worker process can't start: rendering %s in a thread", function.__name__)
        return await asyncio.to_thread(function, *args)


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    alt: str  # the chart's numbers as text, one line each
    filename: str


def number(value: float) -> str:
    """``12,500`` / ``12.5``: short, thousands separated."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _plain(text: str) -> str:
    """Member text shown as typed: a ``$`` would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = _mpl().Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=CARD)
    _mpl().FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1, facecolor=CARD)
    axes.set_title(_plain(title), color=INK, fontsize=13, loc="left", pad=10)
    axes.tick_params(colors=INK, labelsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(INK)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    figure.subplots_adjust(left=0.11, right=0.98, top=0.88, bottom=0.15)
    return figure, axes


def _style(axes: Axes, title: str) -> None:
    axes.set_facecolor(CARD)
    axes.set_title(_plain(title), color=INK, fontsize=12, loc="left", pad=8)
    axes.tick_params(colors=INK, labelsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(INK)
    axes.set_axisbelow(True)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def _png(figure: Figure) -> bytes:
    """The figure as PNG. Margins are fixed where the figure is made: ``tight_layout`` would lay
    every text out once more (about 40 % of a chart's time). zlib's fastest level: a tenth of the
    time of the default for a slightly larger file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=CARD, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def kpi_chart(
    title: str, unit: str, labels: Sequence[str], values: Sequence[float | None], target: float | None
) -> Chart:
    """A KPI over months: a line with markers (gaps where nothing was logged), the target dashed."""
    with _lock:
        figure, axes = _figure(title)
        positions = list(range(len(labels)))
        shown = [(x, v) for x, v in zip(positions, values, strict=True) if v is not None]
        line = [float("nan") if v is None else v for v in values]
        axes.plot(positions, line, color=BLUE, linewidth=2.4, marker="o", markersize=6, label=_plain(title))
        for x, v in shown:
            axes.annotate(number(v), (x, v), textcoords="offset points", xytext=(0, 8), ha="center",
                          fontsize=8, color=INK)
        if target is not None:
            axes.axhline(target, color=VERMILLION, linestyle="--", linewidth=1.8, label=f"target {number(target)}")
        axes.set_xticks(positions, [_plain(label) for label in labels])
        axes.set_ylabel(_plain(unit), color=INK)
        axes.yaxis.set_major_formatter(_mpl().FuncFormatter(lambda v, _pos: number(v)))
        if not shown and target is None:
            axes.set_ylim(0, 1)
        axes.legend(loc="upper left", frameon=False, labelcolor=INK, fontsize=9)
        png = _png(figure)
    lines = [f"{label}: {'—' if v is None else f'{number(v)} {unit}'}" for label, v in zip(labels, values, strict=True)]
    if target is not None:
        lines.append(f"Target: {number(target)} {unit}")
    return Chart(png=png, alt="\n".join(lines), filename=FILENAME_KPI)


def completion_chart(title: str, labels: Sequence[str], rates: Sequence[float | None]) -> Chart:
    """Completion rate per cycle as bars (0–100 %), each labelled with its figure."""
    with _lock:
        figure, axes = _figure(title)
        positions = list(range(len(labels)))
        heights = [0.0 if r is None else r * 100 for r in rates]
        bars = axes.bar(positions, heights, color=BLUE, edgecolor=INK, linewidth=0.6, width=0.6)
        for bar, rate in zip(bars, rates, strict=True):
            text = "—" if rate is None else f"{rate:.0%}"
            axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), textcoords="offset points",
                          xytext=(0, 4), ha="center", fontsize=9, color=INK)
        axes.set_ylim(0, 110)
        axes.yaxis.set_major_formatter(_mpl().PercentFormatter(decimals=0))
        axes.set_xticks(positions, [_plain(label) for label in labels])
        axes.set_ylabel("completed", color=INK)
        png = _png(figure)
    lines = [f"{label}: {'—' if r is None else f'{r:.0%}'}" for label, r in zip(labels, rates, strict=True)]
    return Chart(png=png, alt="\n".join(lines), filename=FILENAME_COMPLETION)


@dataclass(frozen=True, slots=True)
class CycleBar:
    """One cycle of ``/group stats``: its completion and attendance (None: nothing to count)."""

    label: str
    completion: float | None
    completion_detail: str  # "1 done, 1 partly of 2"
    attendance: float | None
    attendance_detail: str  # "2 of 3"


def group_stats_chart(title: str, cycles: Sequence[CycleBar], goals: Sequence[tuple[str, int]]) -> Chart:
    """Completion and attendance per cycle as paired bars (blue plain, orange hatched: told apart
    without colour too), and the group's goals by status as horizontal bars."""
    with _lock:
        figure = _mpl().Figure(figsize=(WIDE_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=CARD)
        _mpl().FigureCanvasAgg(figure)
        grid = figure.add_gridspec(1, 3, left=0.06, right=0.97, top=0.9, bottom=0.1, wspace=0.45)
        left = figure.add_subplot(grid[0, :2])
        right = figure.add_subplot(grid[0, 2])
        _style(left, title)
        _style(right, "Goals by status")
        left.grid(axis="y", color=GRID, linewidth=0.8)
        positions = list(range(len(cycles)))
        width = 0.38
        for offset, values, colour, hatch, name in (
            (-width / 2, [c.completion for c in cycles], BLUE, "", "commitments completed"),
            (width / 2, [c.attendance for c in cycles], ORANGE, "//", "attendance"),
        ):
            bars = left.bar([x + offset for x in positions], [0.0 if v is None else v * 100 for v in values],
                            width=width, color=colour, hatch=hatch, edgecolor=INK, linewidth=0.6, label=name)
            for bar, value in zip(bars, values, strict=True):
                left.annotate(_percent(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              textcoords="offset points", xytext=(0, 3), ha="center", color=INK,
                              fontsize=8 if len(cycles) <= 6 else 6)
        left.set_ylim(0, 118)
        left.yaxis.set_major_formatter(_mpl().PercentFormatter(decimals=0))
        left.set_xticks(positions, [_plain(c.label) for c in cycles], fontsize=9 if len(cycles) <= 8 else 7)
        left.legend(loc="upper left", frameon=False, labelcolor=INK, fontsize=9, ncols=2)
        names = [_plain(name) for name, _count in goals]
        counts = [count for _name, count in goals]
        rows = list(range(len(goals)))
        bars = right.barh(rows, counts, color=GREEN, edgecolor=INK, linewidth=0.6)
        for bar, count in zip(bars, counts, strict=True):
            right.annotate(str(count), (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                           textcoords="offset points", xytext=(4, 0), va="center", fontsize=9, color=INK)
        right.set_yticks(rows, names)
        right.invert_yaxis()
        right.set_xlim(0, max([*counts, 1]) * 1.25)
        right.xaxis.set_major_locator(_mpl().MaxNLocator(integer=True))
        png = _png(figure)
    lines = [
        f"{c.label}: completed {_percent(c.completion)} ({c.completion_detail}) · "
        f"attendance {_percent(c.attendance)} ({c.attendance_detail})"
        for c in cycles
    ] or ["No meetings yet."]
    lines.append("Goals: " + ", ".join(f"{name} {count}" for name, count in goals))
    return Chart(png=png, alt="\n".join(lines), filename=FILENAME_GROUP)


@dataclass(frozen=True, slots=True)
class ReviewKpi:
    """A KPI on the year-in-review card: its months' values (figures) or changes (change only)."""

    name: str
    unit: str
    labels: list[str]
    values: list[float | None]  # None for a month not logged, or every month for "change only"
    changes: list[int | None]  # % on the month before
    target: float | None


def review_height(with_kpis: bool) -> int:
    return HEIGHT_PX + 350 if with_kpis else HEIGHT_PX


def review_card(
    title: str, facts: Sequence[tuple[str, str]], goals: Sequence[tuple[str, str]], kpis: Sequence[ReviewKpi],
    wins: Sequence[str],
) -> Chart:
    """A member's year on one image: the figures (commitments kept, wins…) as big numbers, goals with
    their status, up to four KPIs as small line charts (or their changes as bars), the latest wins."""
    shown = list(kpis[:4])
    with _lock:
        figure = _mpl().Figure(figsize=(WIDE_PX / DPI, review_height(bool(shown)) / DPI), dpi=DPI, facecolor=CARD)
        _mpl().FigureCanvasAgg(figure)
        height = review_height(bool(shown))

        def at(pixels_from_top: float) -> float:  # the text is placed on the figure itself: no axes to lay out
            return 1 - pixels_from_top / height

        figure.text(0.07, at(40), _plain(title), fontsize=14, color=INK)
        for index, (label, value) in enumerate(facts[:4]):
            x = 0.08 + index * 0.23
            figure.text(x, at(120), _plain(value), fontsize=22, color=BLUE, fontweight="bold")
            figure.text(x, at(150), _plain(label), fontsize=10, color=INK)
        lines = [f"{status}  ·  {_plain(text[:80])}" for text, status in goals[:5]] or ["No goals set"]
        wins_lines = [f"★ {_plain(win[:60])}" for win in wins[:3]]
        figure.text(0.08, at(210), "Goals", fontsize=11, color=INK, fontweight="bold", va="top")
        figure.text(0.08, at(240), "\n".join(lines), fontsize=9, color=INK, va="top", linespacing=1.5)
        if wins_lines:
            figure.text(0.62, at(210), "Latest wins", fontsize=11, color=INK, fontweight="bold", va="top")
            figure.text(0.62, at(240), "\n".join(wins_lines), fontsize=9, color=INK, va="top", linespacing=1.5)
        grid = figure.add_gridspec(1, max(len(shown), 1), left=0.07, right=0.98, top=at(420), bottom=0.06, wspace=0.3)
        for index, kpi in enumerate(shown):
            axes = figure.add_subplot(grid[0, index])
            _style(axes, f"{kpi.name} ({kpi.unit})" if any(v is not None for v in kpi.values) else f"{kpi.name}: % change")
            axes.grid(axis="y", color=GRID, linewidth=0.6)
            positions = list(range(len(kpi.labels)))
            if any(v is not None for v in kpi.values):
                axes.plot(positions, [float("nan") if v is None else v for v in kpi.values], color=BLUE,
                          linewidth=2, marker="o", markersize=4)
                if kpi.target is not None:
                    axes.axhline(kpi.target, color=VERMILLION, linestyle="--", linewidth=1.4)
                axes.yaxis.set_major_formatter(_mpl().FuncFormatter(lambda v, _pos: number(v)))
            else:
                heights = [0 if c is None else c for c in kpi.changes]
                axes.bar(positions, heights, color=[SKY if h >= 0 else ORANGE for h in heights], edgecolor=INK,
                         linewidth=0.5, hatch=None)
                axes.axhline(0, color=INK, linewidth=0.8)
                axes.yaxis.set_major_formatter(_mpl().FuncFormatter(lambda v, _pos: f"{v:+.0f}%"))
            step = max(1, len(kpi.labels) // 4)
            axes.set_xticks(positions[::step], [_plain(label) for label in kpi.labels[::step]], fontsize=8)
        png = _png(figure)
    alt = [f"{label}: {value}" for label, value in facts]
    alt += [f"Goal: {text} — {status}" for text, status in goals]
    for kpi in kpis:
        if any(v is not None for v in kpi.values):
            months = ", ".join(f"{m} {number(v)}" for m, v in zip(kpi.labels, kpi.values, strict=True) if v is not None)
            target = f" (target {number(kpi.target)})" if kpi.target is not None else ""
            alt.append(f"{kpi.name} ({kpi.unit}){target}: {months or 'nothing logged'}")
        else:
            changes = ", ".join(f"{m} {c:+d} %" for m, c in zip(kpi.labels, kpi.changes, strict=True) if c is not None)
            alt.append(f"{kpi.name}: {changes or 'no change to show yet'}")
    alt += [f"Win: {win}" for win in wins]
    return Chart(png=png, alt="\n".join(alt), filename=FILENAME_REVIEW)


async def render_group_stats_chart(title: str, cycles: Sequence[CycleBar], goals: Sequence[tuple[str, int]]) -> Chart:
    return await off_loop(group_stats_chart, title, list(cycles), list(goals))


async def render_review_card(
    title: str, facts: Sequence[tuple[str, str]], goals: Sequence[tuple[str, str]], kpis: Sequence[ReviewKpi],
    wins: Sequence[str],
) -> Chart:
    return await off_loop(review_card, title, list(facts), list(goals), list(kpis), list(wins))


async def render_kpi_chart(
    title: str, unit: str, labels: Sequence[str], values: Sequence[float | None], target: float | None
) -> Chart:
    return await off_loop(kpi_chart, title, unit, list(labels), list(values), target)


async def render_completion_chart(title: str, labels: Sequence[str], rates: Sequence[float | None]) -> Chart:
    return await off_loop(completion_chart, title, list(labels), list(rates))
