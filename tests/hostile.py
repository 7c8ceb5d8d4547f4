"""Hostile and malformed values (issue 19), shared by the unit and end-to-end tests.

Each list is one *kind*; ``FOR_OPTION`` says which kinds are thrown at which kind of option (by the
option's transformer, see ``bot/ui/options.py``). Every value listed for an option must be refused
with a clear private message and change nothing — or refused by Discord itself (the option's
declared type, bounds or length), which the simulator raises as ``UsageError``.

Dates and rules are checked for their *meaning* by ``bot.dates`` / ``bot.recurrence`` (strict
parsing) and text by ``bot.text`` (invisible-only text, lookalike names): the table holds those
values too, so the end-to-end pass checks every layer, whichever refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ui.options import (
    BoundedInt,
    BrainstormTransformer,
    CommitmentTransformer,
    GroupTransformer,
    MeetingTransformer,
    NumberListTransformer,
    RefTransformer,
    RuleTransformer,
    TextTransformer,
    TimeTransformer,
    TimezoneTransformer,
    WhenTransformer,
)


@dataclass(frozen=True, slots=True)
class Hostile:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value[:24]!r}"


def _kind(kind: str, *values: str) -> list[Hostile]:
    return [Hostile(kind, value) for value in values]


HUGE_IDS = _kind(
    "huge id",
    "99999999999999999999", "9223372036854775808", str(10**30), "10**30", "1e30",
    "9223372036854775807", "2147483648",  # fit SQLite's 64 bits, overflow PostgreSQL's INTEGER
)
LARGEST_ID = _kind("largest id", "2147483647", "#2147483647")  # a valid id of no row: the service's NotFound
NEGATIVE_IDS = _kind("negative id", "-1", "0", "-9223372036854775808", "#-5")
UNICODE_DIGITS = _kind(
    "unicode digits",
    "²",  # superscript two: str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic 12: int() reads it as 12
    "۳",  # Extended Arabic-Indic 3
    "１２",  # fullwidth 12
    "#١",
)
MENTIONS = _kind("mention", "@everyone", "@here", "<@&123456789012345678>", "<@123456789012345678>")
MARKDOWN = _kind(
    "markdown", "```", "```py\nprint(1)\n```", "**bold** __under__ ~~gone~~", "[the brief](https://evil.example/x)",
    "||spoiler||", "# Heading", "> quote",
)
ZERO_WIDTH = _kind("zero-width only", "\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u200b \u200b")
BLANK = _kind("blank", " ", "   \t ")
CONTROL = _kind("control characters", "a\x00b", "\x07bell", "x\x1b[31mred", "lone \ud800 surrogate")
# Names that look like the groups "Makers" and "Café Club" (NFC) the end-to-end world has.
LOOKALIKE_NAMES = _kind("lookalike name", "Cafe\u0301 Club", "CAFÉ CLUB", "Mak\u200bers", "Makers\u200b", "makers")
LONG = _kind("4000 characters", "x" * 4000, "🙂" * 4000)
YEARS = _kind("year 1 or 9999", "0001-01-01", "9999-12-31 18:00", "1 January 9999", "31 Dec 0001")
BAD_DATES = _kind("not a date", "tomorrow 25:00", "-1", "10**30", "99999999999999999999", "2027-02-30", "²")
IMPOSSIBLE_TIMES = _kind(
    "impossible time", "25:00", "24:00", "12:60", "-1:00", "13pm", "0am", "18:00:00", "1800", "18h", "noonish",
    "١٨:٠٠", "１８:００", "²:00",
)
BAD_ZONES = _kind(
    "not a timezone", "Mars/Olympus", "../../etc/passwd", "UTC\x00", "Europe/London/Extra", "+05:00", "²", "Local",
    "localtime", "Factory",
)
BAD_HOURS = _kind("bad hours", "0", "673", "168,24,12,6,3", ",,,", "h", "168;24", "24.5")
RRULES = _kind(
    "RRULE edge case",
    "FREQ=MONTHLY;BYDAY=+99TU",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;INTERVAL=1",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
    "FREQ=WEEKLY;COUNT=0",
    "FREQ=WEEKLY;UNTIL=00010101T000000Z",
    "FREQ=MONTHLY;BYSETPOS=999;BYDAY=MO",
    "FREQ=BOGUS",
    "RRULE:RRULE:FREQ=WEEKLY",
    "DTSTART:99991231T000000Z\nFREQ=WEEKLY",
)

# Whole numbers thrown at integer options: Discord itself refuses what is outside the declared bounds.
BAD_INTEGERS: list[int] = [10**30, 2**63, -1, 0, 10**6]

# Which kinds are thrown at which option, by its transformer (a subclass inherits its base's entry).
ID_KINDS = [*HUGE_IDS, *LARGEST_ID, *NEGATIVE_IDS, *UNICODE_DIGITS, *MENTIONS, *MARKDOWN[:3], *ZERO_WIDTH, *CONTROL, *LONG]
FOR_OPTION: dict[type, list[Hostile]] = {
    CommitmentTransformer: [*ID_KINDS, *_kind("huge id", "id:99999999999999999999", "id:²", "id:-1", "id:")],
    MeetingTransformer: ID_KINDS,
    BrainstormTransformer: ID_KINDS,
    GroupTransformer: [*HUGE_IDS[:3], *UNICODE_DIGITS[:3], *MENTIONS[:1], *ZERO_WIDTH[:1], *CONTROL[:1], *LONG[:1]],
    NumberListTransformer: [*HUGE_IDS[:3], *NEGATIVE_IDS[:2], *UNICODE_DIGITS, *BAD_HOURS, *LONG[:1]],
    TimeTransformer: [*IMPOSSIBLE_TIMES, *MENTIONS[:1], *CONTROL[:1], *LONG[:1]],
    TimezoneTransformer: [*BAD_ZONES, *MENTIONS[:1], *LONG[:1]],
    WhenTransformer: [*YEARS, *BAD_DATES, *ZERO_WIDTH[:1], *BLANK[:1], *CONTROL[:1], *LONG[:1]],
    RuleTransformer: [*RRULES, *ZERO_WIDTH[:1], *BLANK[:1], *CONTROL[:1], *LONG[:1]],
    TextTransformer: [*ZERO_WIDTH, *BLANK, *CONTROL, *LONG],
    # a goal or KPI: its number or name (resolved by the service), or an autocompleted id
    RefTransformer: [
        *HUGE_IDS, *NEGATIVE_IDS, *UNICODE_DIGITS, *MENTIONS[:1], *ZERO_WIDTH[:1], *BLANK[:1], *CONTROL[:1],
        *LONG[:1], *_kind("huge id", "id:99999999999999999999", "id:2147483648", "id:²", "id:١٢", "id:-1", "id:"),
    ],
}

# Values that are hostile for one option only (a name that looks like an existing group's).
FOR_NAMED_OPTION: dict[tuple[str, str], list[Hostile]] = {("group create", "name"): LOOKALIKE_NAMES}

# Text that is *accepted*, but must stay inert wherever the bot shows it (mentions never ping,
# markdown never escapes the bot's own formatting).
INERT_TEXT = [*MENTIONS, *MARKDOWN]


def hostile_for(transformer: object) -> list[Hostile]:
    """The hostile values for an option declared with ``transformer`` (most specific class first)."""
    for cls in type(transformer).__mro__:
        if cls in FOR_OPTION:
            return FOR_OPTION[cls]
    raise KeyError(f"no hostile values for {type(transformer).__name__}: add it to tests/hostile.py FOR_OPTION")


def bound_check(transformer: BoundedInt) -> list[int]:
    """Out-of-bounds whole numbers for an integer option: the bad ones plus its edges."""
    return sorted({*BAD_INTEGERS, transformer.low - 1, transformer.high + 1} - set(range(transformer.low, transformer.high + 1)))
