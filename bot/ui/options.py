"""Option types shared by every cog: every value a member types is checked here, once, at the edge.

Each slash-command option that takes an id, a number, a time, a timezone, a date, a rule or free
text is declared with one of these transformers, so a cog never hands an unchecked value to a
service (``tests/unit/test_structure.py`` walks the command tree to enforce it). A value that
doesn't fit raises :class:`~bot.errors.InvalidInput` (or ``NotFound``); discord.py wraps it in a
``TransformerError`` and the one error renderer shows its message privately.

What is checked here is the *shape* of a value: ids are ASCII digits within the database's range,
numbers are within their option's bounds, times are real clock times, zones are IANA names, text
fits its length and holds no control characters. What a date or a recurrence rule *means* is for
``bot.dates`` / ``bot.recurrence``, which the services call with the string as typed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import InvalidInput, NotFound
from bot.services.commitments import CommitmentRef
from bot.text import is_blank
from bot.text import quoted as quoted_text
from bot.timezones import search_timezones, validate_timezone
from bot.ui.actor import actor_from

if TYPE_CHECKING:
    from bot.client import RoundtableBot

# Row ids (and per-group numbers like a commitment's "#12") are INTEGER columns: 32-bit on
# PostgreSQL, where a larger parameter fails the whole statement. Snowflakes (BigInteger) never come
# from a typed option: Discord resolves members, channels and roles itself.
ID_MIN, ROW_ID_MAX = 1, 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
# A group name, a meeting's or brainstorm's autocomplete value: never longer than this.
GROUP_VALUE_MAX = 100
ID_VALUE_MAX = 40
DATE_MAX = 100
RULE_MAX = 200
TIME_MAX = 10
TIMEZONE_MAX = 64
_TIME = re.compile(r"(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?\s*(?P<ampm>am|pm)?")
_ALLOWED_CONTROLS = {"\n", "\t"}


def quoted(value: object, limit: int = 40) -> str:
    """What was typed, echoed as one inline code span that can't break out (``bot.text.quoted``)."""
    return quoted_text(str(value), limit)


def parse_id(text: str) -> int | None:
    """An id typed as ASCII digits within the row range, else None (``²``, ``٣``, ``10**30`` are not ids)."""
    if _ASCII_DIGITS.fullmatch(text) is None:
        return None
    number = int(text)
    return number if ID_MIN <= number <= ROW_ID_MAX else None


def has_control_characters(text: str) -> bool:
    """NUL, escape and the like (tab and newline aside), or a lone surrogate no database can store."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in _ALLOWED_CONTROLS for ch in text)


class EdgeTransformer(app_commands.Transformer):
    """The base of every option check here (the structural test looks for it)."""

    what = "value"

    def refuse(self, value: object, why: str) -> InvalidInput:
        return InvalidInput(f"{quoted(value)} isn't a valid {self.what}: {why}")


# --- ids -----------------------------------------------------------------------------------------


class IdTransformer(EdgeTransformer):
    """A row id, picked from autocomplete (the value is the id) or typed by hand (``12`` or ``#12``)."""

    what = "item"
    hint = "pick one from the list."

    @property
    def max_value(self) -> int:  # max_length of the string option
        return ID_VALUE_MAX

    def parse(self, value: Any) -> int:
        text = value.strip().removeprefix("#").strip() if isinstance(value, str) else ""
        found = parse_id(text)
        if found is None:
            raise NotFound(f"There's no {self.what} {quoted(value)}: {self.hint}")
        return found

    async def transform(self, interaction: discord.Interaction, value: Any) -> int:
        return self.parse(value)


class MeetingTransformer(IdTransformer):
    """A meeting option: autocompletes over upcoming meetings of the member's groups; yields its id."""

    what = "meeting"

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[RoundtableBot], value: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        choices = await interaction.client.services.meetings.choices(actor_from(interaction), value)
        return [app_commands.Choice(name=c.label, value=str(c.id)) for c in choices]


class BrainstormTransformer(IdTransformer):
    """A brainstorm of the member's groups: autocompletes over them (values ``id:<id>``); a typed
    ``#3`` / ``3`` is the group's brainstorm number 3 (the channel's group, or the member's only
    group). Yields the brainstorm id."""

    what = "brainstorm"
    hint = "pick one from the list, or type its number like `#3`."

    async def transform(self, interaction: discord.Interaction[RoundtableBot], value: Any) -> int:  # type: ignore[override]
        text = value.strip() if isinstance(value, str) else ""
        if text.startswith("id:"):
            found = parse_id(text[3:])
            if found is None:
                raise NotFound(f"There's no {self.what} {quoted(value)}: {self.hint}")
            return found
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        return await interaction.client.services.brainstorms.id_of_number(actor_from(interaction), self.parse(value))

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[RoundtableBot], value: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        choices = await interaction.client.services.brainstorms.choices(actor_from(interaction), value)
        return [app_commands.Choice(name=c.name, value=f"id:{c.id}") for c in choices]


class CommitmentTransformer(IdTransformer):
    """A commitment: ``id:42`` (an autocomplete value) or its number in the group, ``#12`` / ``12``.

    Yields a :class:`~bot.services.commitments.CommitmentRef`; the cog supplies the autocomplete.
    """

    what = "commitment"
    hint = "pick one from the list, or type its number like `#12`."

    async def transform(self, interaction: discord.Interaction, value: Any) -> CommitmentRef:  # type: ignore[override]
        text = value.strip() if isinstance(value, str) else ""
        if text.startswith("id:"):
            found = parse_id(text[3:])
            if found is None:
                raise NotFound(f"There's no {self.what} {quoted(value)}: {self.hint}")
            return CommitmentRef(id=found)
        return CommitmentRef(number=self.parse(value))


class GroupTransformer(EdgeTransformer):
    """A group option: autocompletes over the member's groups in this server; yields the group id.

    Typing a name by hand works too. An unknown group is a clear private error.
    """

    what = "group"

    def __init__(self, *, every_group: bool = False) -> None:
        self.every_group = every_group

    @property
    def max_value(self) -> int:
        return GROUP_VALUE_MAX

    async def transform(self, interaction: discord.Interaction[RoundtableBot], value: str) -> int:  # type: ignore[override]
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        text = value.strip() if isinstance(value, str) else ""
        # Digits are looked up as an id first: only ids the database can hold get that far
        # (``²``, Arabic-Indic digits and ``99999999999999999999`` are no group's id or name).
        if (
            not text
            or len(value) > GROUP_VALUE_MAX
            or has_control_characters(value)
            or (text.isdigit() and parse_id(text) is None)
        ):
            raise NotFound(f"There's no group called {quoted(value, 80)} in this server.")
        group_id = await interaction.client.services.groups.find_id(interaction.guild_id, text)
        if group_id is None:
            raise NotFound(f"There's no group called {quoted(value, 80)} in this server.")
        return group_id

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[RoundtableBot], value: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        choices = await interaction.client.services.groups.choices(
            actor_from(interaction), value, every_group=self.every_group
        )
        return [app_commands.Choice(name=choice.name, value=str(choice.id)) for choice in choices]


# --- numbers -------------------------------------------------------------------------------------


class BoundedInt(EdgeTransformer):
    """A whole number within ``low``…``high`` (declared to Discord, and checked again here)."""

    def __init__(self, low: int, high: int, *, what: str = "number") -> None:
        self.low, self.high, self.what = low, high, what

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    @property
    def min_value(self) -> int:
        return self.low

    @property
    def max_value(self) -> int:
        return self.high

    async def transform(self, interaction: discord.Interaction, value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
            value = int(value.strip())  # Discord sends a number; accept its ASCII spelling too
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise self.refuse(value, f"use a whole number from {self.low} to {self.high}.")
        return value


class NumberListTransformer(EdgeTransformer):
    """Comma-separated whole numbers, each within ``low``…``high`` (``168,24``; a trailing ``h`` is allowed)."""

    def __init__(self, low: int, high: int, *, most: int, max_length: int = 40, what: str = "list of hours") -> None:
        self.low, self.high, self.most, self.max_length, self.what = low, high, most, max_length, what

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return self.max_length

    async def transform(self, interaction: discord.Interaction, value: Any) -> list[int]:
        why = f"give up to {self.most} whole numbers from {self.low} to {self.high}, comma-separated, like `168,24`."
        if not isinstance(value, str) or len(value) > self.max_length:
            raise self.refuse(value, why)
        parts = [part.strip().removesuffix("h").strip() for part in value.split(",") if part.strip()]
        numbers = [int(part) if re.fullmatch(r"[0-9]{1,6}", part) else None for part in parts]
        if not numbers or len(numbers) > self.most or any(n is None or not self.low <= n <= self.high for n in numbers):
            raise self.refuse(value, why)
        return [n for n in numbers if n is not None]


# --- times and zones -----------------------------------------------------------------------------


def parse_clock_time(text: str) -> tuple[int, int] | None:
    """``18:00``, ``6pm``, ``6:30 pm``, ``18`` as (hour, minute) of a real clock, ASCII digits only."""
    match = _TIME.fullmatch(text.strip().lower())
    if match is None:
        return None
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


class TimeTransformer(EdgeTransformer):
    """A wall-clock time of day; yields it as ``HH:MM`` (what ``bot.recurrence.parse_time`` reads)."""

    what = "time"

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return TIME_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> str:
        parsed = parse_clock_time(value) if isinstance(value, str) and len(value) <= TIME_MAX else None
        if parsed is None:
            raise self.refuse(value, "use a time of day like `18:00` (24-hour) or `6pm`.")
        return f"{parsed[0]:02d}:{parsed[1]:02d}"


class TimezoneTransformer(EdgeTransformer):
    """An IANA timezone name known to zoneinfo (autocompleted); yields its canonical spelling."""

    what = "timezone"

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return TIMEZONE_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> str:
        if not isinstance(value, str) or len(value) > TIMEZONE_MAX or has_control_characters(value):
            raise self.refuse(value, "use an IANA name like `Europe/London` — start typing and pick one from the list.")
        return validate_timezone(value)

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in search_timezones(value[:TIMEZONE_MAX], limit=25)]


# --- text ----------------------------------------------------------------------------------------


class TextTransformer(EdgeTransformer):
    """Free text of at most ``max_length`` characters (declared to Discord, and checked again here),
    not blank (nothing visible: ``bot.text.is_blank``), with no control characters. Yields the text
    as typed: services clean it (``bot.text.clean``)."""

    what = "text"

    def __init__(self, max_length: int, *, what: str | None = None, empty: str | None = None) -> None:
        self.max_length = max_length
        if what is not None:
            self.what = what
        self.empty = empty  # the refusal of blank text, if not "The … can't be empty."

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return self.max_length

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or is_blank(value):
            raise InvalidInput(self.empty or f"The {self.what} can't be empty.")
        if len(value) > self.max_length:
            raise InvalidInput(f"The {self.what} is too long: at most {self.max_length:,} characters, not {len(value):,}.")
        if has_control_characters(value):
            raise InvalidInput(f"The {self.what} contains control characters: type it as plain text.")
        return value

    async def transform(self, interaction: discord.Interaction, value: Any) -> str:
        return self.check(value)


class RefTransformer(TextTransformer):
    """A goal or KPI as a member names it: ``id:42`` (an autocomplete value) or what they typed (its
    number or name), which the service resolves. An ``id:`` must be a valid id (``id:²`` is not)."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> str:
        typed = self.check(value).strip()
        if typed.startswith("id:") and parse_id(typed[3:]) is None:
            raise NotFound(f"There's no {self.what} {quoted(value)}: pick one from the list.")
        return typed


class WhenTransformer(TextTransformer):
    """A date (and time) as typed; ``bot.dates`` reads it in the member's or group's timezone."""

    what = "date"

    def __init__(self, max_length: int = DATE_MAX) -> None:
        super().__init__(max_length)


class RuleTransformer(TextTransformer):
    """A recurrence rule as typed; ``bot.recurrence`` reads it."""

    what = "rule"

    def __init__(self, max_length: int = RULE_MAX) -> None:
        super().__init__(max_length)


# Use as: group: GroupOption = None   (the member's group, resolved by the service when omitted)
GroupOption = app_commands.Transform[int | None, GroupTransformer]
AnyGroupOption = app_commands.Transform[int, GroupTransformer(every_group=True)]
MeetingOption = app_commands.Transform[int, MeetingTransformer]
BrainstormOption = app_commands.Transform[int | None, BrainstormTransformer]
RequiredBrainstormOption = app_commands.Transform[int, BrainstormTransformer]
CommitmentOption = app_commands.Transform[CommitmentRef, CommitmentTransformer]
TimeOption = app_commands.Transform[str, TimeTransformer]
TimezoneOption = app_commands.Transform[str, TimezoneTransformer]
WhenOption = app_commands.Transform[str, WhenTransformer]
RuleOption = app_commands.Transform[str, RuleTransformer]
