"""The /group stats chart and the year-in-review card: real PNGs (opened, sized, not blank, the
palette's colours) whose numbers are all in the text alternative."""

from __future__ import annotations

import io

from PIL import Image

from bot.ui import charts
from bot.ui.charts import CycleBar, ReviewKpi, group_stats_chart, review_card

BLUE, ORANGE, GREEN = (0, 114, 178), (230, 159, 0), (0, 158, 115)
GOALS = [("on track", 2), ("at risk", 1), ("behind", 0), ("done", 3), ("dropped", 0)]


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def _has(image: Image.Image, colour: tuple[int, int, int]) -> bool:
    width, height = image.size
    return any(image.getpixel((x, y)) == colour for x in range(0, width, 3) for y in range(0, height, 3))


def test_the_group_stats_chart_has_its_figures_as_text() -> None:
    cycles = [
        CycleBar("3 Dec 2026", 0.75, "1 done, 1 partly of 2", 2 / 3, "2 of 3"),
        CycleBar("7 Jan 2027", None, "0 of 0", None, "0 of 0"),
        CycleBar("4 Feb", 1.0, "4 of 4", 1.0, "3 of 3"),
    ]
    chart = group_stats_chart("Makers: per meeting cycle", cycles, GOALS)
    image = _open(chart.png)
    assert image.size == (charts.WIDE_PX, charts.HEIGHT_PX) and len(chart.png) > 10_000
    assert _has(image, BLUE) and _has(image, ORANGE) and _has(image, GREEN)  # completion, attendance, goals
    assert chart.alt.splitlines() == [
        "3 Dec 2026: completed 75% (1 done, 1 partly of 2) · attendance 67% (2 of 3)",
        "7 Jan 2027: completed — (0 of 0) · attendance — (0 of 0)",
        "4 Feb: completed 100% (4 of 4) · attendance 100% (3 of 3)",
        "Goals: on track 2, at risk 1, behind 0, done 3, dropped 0",
    ]
    assert chart.filename == "group-stats.png"


def test_a_group_without_meetings_still_gets_a_chart() -> None:
    chart = group_stats_chart("Makers", [], [("on track", 0)])
    assert _open(chart.png).size == (charts.WIDE_PX, charts.HEIGHT_PX)
    assert chart.alt.splitlines() == ["No meetings yet.", "Goals: on track 0"]


def test_the_year_in_review_card_has_its_figures_as_text() -> None:
    kpis = [
        ReviewKpi("Revenue", "£", ["Nov 2026", "Dec 2026"], [1000.0, 1500.5], [None, 50], 2000.0),
        ReviewKpi("Clients", "n", ["Nov 2026", "Dec 2026"], [None, None], [None, 20], None),
    ]
    chart = review_card(
        "Ana's year in Makers", [("commitments kept", "9 of 12"), ("wins", "4")],
        [("Ten new clients $$", "on track"), ("Launch", "done")], kpis, ["First big client"],
    )
    image = _open(chart.png)
    assert image.size == (charts.WIDE_PX, charts.review_height(True)) and _has(image, BLUE)
    assert chart.alt.splitlines() == [
        "commitments kept: 9 of 12", "wins: 4", "Goal: Ten new clients $$ — on track", "Goal: Launch — done",
        "Revenue (£) (target 2,000): Nov 2026 1,000, Dec 2026 1,500.5", "Clients: Dec 2026 +20 %",
        "Win: First big client",
    ]
    bare = review_card("Bob's year", [("wins", "0")], [], [], [])
    assert _open(bare.png).size == (charts.WIDE_PX, charts.review_height(False))
    assert bare.alt.splitlines() == ["wins: 0"]
