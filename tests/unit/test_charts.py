"""Charts: real PNGs (opened, sized, not blank) whose numbers are also given as text."""

from __future__ import annotations

import io
import os
import signal
from concurrent.futures.process import BrokenProcessPool

from PIL import Image

from bot.ui import charts
from bot.ui.charts import completion_chart, kpi_chart, render_completion_chart, render_kpi_chart

MONTHS = ["Jan", "Feb", "Mar", "Apr"]


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def _colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1_000_000) or [])


def test_a_kpi_chart_is_a_png_with_its_numbers_as_text() -> None:
    chart = kpi_chart("Revenue", "£", MONTHS, [10_000, None, 12_500.5, 9_000], 12_000)
    image = _open(chart.png)
    assert image.format == "PNG" and image.size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert _colours(image) > 10  # a line, labels and a target, not a blank card
    assert chart.alt.splitlines() == [
        "Jan: 10,000 £", "Feb: —", "Mar: 12,500.5 £", "Apr: 9,000 £", "Target: 12,000 £",
    ]
    assert chart.filename == "kpi.png"


def test_a_kpi_chart_with_nothing_logged_still_renders() -> None:
    chart = kpi_chart("Hours", "h", MONTHS, [None] * 4, None)
    assert _open(chart.png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert chart.alt.splitlines() == ["Jan: —", "Feb: —", "Mar: —", "Apr: —"]


def test_a_completion_chart_is_a_png_with_its_rates_as_text() -> None:
    chart = completion_chart("Completed per cycle", ["3 Dec", "7 Jan", "4 Feb"], [0.5, None, 1.0])
    image = _open(chart.png)
    assert image.format == "PNG" and image.size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert _colours(image) > 10
    assert chart.alt.splitlines() == ["3 Dec: 50%", "7 Jan: —", "4 Feb: 100%"]
    # The bars are the palette's blue.
    rgb = image.convert("RGB")
    assert any(rgb.getpixel((x, y)) == (0, 114, 178) for x in range(0, charts.WIDTH_PX, 4) for y in range(100, 350, 4))


async def test_rendering_runs_off_the_event_loop() -> None:
    """In the chart worker process, not in the bot's (whose event loop would wait for the GIL)."""
    assert await charts.off_loop(os.getpid) != os.getpid()
    chart = await render_kpi_chart("Revenue", "£", MONTHS, [1, 2, 3, 4], None)
    assert chart.png.startswith(b"\x89PNG") and chart.alt.splitlines()[0] == "Jan: 1 £"
    rates = await render_completion_chart("Completed", ["a"], [0.25])
    assert rates.alt == "a: 25%"


async def test_a_dead_worker_is_replaced() -> None:
    first = await charts.off_loop(os.getpid)
    os.kill(first, signal.SIGKILL)
    rates = await render_completion_chart("Completed", ["a"], [0.5])
    assert rates.alt == "a: 50%" and await charts.off_loop(os.getpid) != first


async def test_without_a_worker_process_a_chart_still_renders(monkeypatch, caplog) -> None:
    class Broken:
        def submit(self, *args: object, **kwargs: object) -> object:
            raise BrokenProcessPool("can't start")

    monkeypatch.setattr(charts, "_executor", lambda fresh=False: Broken())
    rates = await render_completion_chart("Completed", ["a"], [0.75])
    assert rates.alt == "a: 75%" and "rendering completion_chart in a thread" in caplog.text


def test_member_text_is_shown_as_typed_not_as_math() -> None:
    chart = kpi_chart("Cost $ of $x^2 $$", "$", MONTHS, [1, 2, 3, 4], 2)
    assert _open(chart.png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert chart.alt.splitlines()[0] == "Jan: 1 $"
    chart = completion_chart("$ odd $", ["$a", "b$"], [0.5, 1.0])
    assert chart.alt.splitlines() == ["$a: 50%", "b$: 100%"]
