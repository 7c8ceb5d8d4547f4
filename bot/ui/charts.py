"""Charts as PNG images, rendered with matplotlib's Agg canvas off the event loop.

Domain-free: callers pass labels and numbers, and get back the image and its text alternative
(the same numbers as lines of text, for the embed). Colours are the Okabe–Ito palette (safe for
every common colour-vision deficiency) on an opaque light card, so a chart reads the same on
Discord's dark and light themes; the target is a dashed line as well as a colour.

``await render_kpi_chart(...)`` and ``await render_completion_chart(...)`` run in a worker thread
(``asyncio.to_thread``), one rendering at a time (matplotlib's text layout isn't thread-safe), so
the event loop only waits for the thread handoff.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display, whatever the environment says

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

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

_lock = threading.Lock()


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
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=CARD)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1, facecolor=CARD)
    axes.set_title(_plain(title), color=INK, fontsize=13, loc="left", pad=10)
    axes.tick_params(colors=INK, labelsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(INK)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", facecolor=CARD)
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
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v)))
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
        axes.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        axes.set_xticks(positions, [_plain(label) for label in labels])
        axes.set_ylabel("completed", color=INK)
        png = _png(figure)
    lines = [f"{label}: {'—' if r is None else f'{r:.0%}'}" for label, r in zip(labels, rates, strict=True)]
    return Chart(png=png, alt="\n".join(lines), filename=FILENAME_COMPLETION)


async def render_kpi_chart(
    title: str, unit: str, labels: Sequence[str], values: Sequence[float | None], target: float | None
) -> Chart:
    return await asyncio.to_thread(kpi_chart, title, unit, list(labels), list(values), target)


async def render_completion_chart(title: str, labels: Sequence[str], rates: Sequence[float | None]) -> Chart:
    return await asyncio.to_thread(completion_chart, title, list(labels), list(rates))
