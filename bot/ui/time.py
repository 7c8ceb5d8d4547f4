"""The one Discord timestamp helper: ``ts(when, Style.FULL)``.

A Discord timestamp renders in each reader's own timezone and language. Every use names its style
(no default), so the same kind of moment reads the same everywhere: a meeting is ``FULL``
(with ``RELATIVE`` beside it), a commitment's due time ``DATE_TIME``, a day ``LONG_DATE``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Style(StrEnum):
    """Discord's timestamp styles, by what the reader sees (English locale)."""

    SHORT_TIME = "t"  # 18:00
    LONG_TIME = "T"  # 18:00:00
    SHORT_DATE = "d"  # 03/12/2026
    LONG_DATE = "D"  # 3 December 2026
    DATE_TIME = "f"  # 3 December 2026 18:00
    FULL = "F"  # Thursday, 3 December 2026 18:00
    RELATIVE = "R"  # in 2 days


def ts(when: datetime, style: Style) -> str:
    """``<t:unix:style>`` for an aware datetime (naive ones are read as local time by Python: don't)."""
    return f"<t:{int(when.timestamp())}:{Style(style).value}>"


def ts_with_relative(when: datetime) -> str:
    """``Thursday, 3 December 2026 18:00 (in 2 days)``: how a meeting's time is shown."""
    return f"{ts(when, Style.FULL)} ({ts(when, Style.RELATIVE)})"
