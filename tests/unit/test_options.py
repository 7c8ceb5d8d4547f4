"""The option transformers of ``bot.ui.options`` on their own (issue 19): the hostile table of
``tests/hostile.py`` is refused with a clear message; what a member plausibly types is accepted.

The end-to-end pass (``tests/e2e/test_hostile.py``) checks the same through Discord; this covers
what Discord would not even let through (4,000 characters, numbers out of bounds, Unicode digits in
an integer), for a client that sends it anyway.
"""

from __future__ import annotations

from typing import Any

import pytest
from discord import app_commands

from bot.errors import UserError
from bot.services.commitments import CommitmentRef
from bot.ui.errors import unwrap, user_message
from bot.ui.options import (
    ROW_ID_MAX,
    BoundedInt,
    BrainstormTransformer,
    CommitmentTransformer,
    EdgeTransformer,
    MeetingTransformer,
    NumberListTransformer,
    RefTransformer,
    RuleTransformer,
    TextTransformer,
    TimeTransformer,
    TimezoneTransformer,
    WhenTransformer,
    parse_id,
    quoted,
)
from tests.hostile import BAD_INTEGERS, UNICODE_DIGITS, Hostile, hostile_for

# No interaction is needed by these transformers (the group's needs the database: e2e covers it).
NO_INTERACTION: Any = None

TRANSFORMERS: list[EdgeTransformer] = [
    CommitmentTransformer(), MeetingTransformer(), BrainstormTransformer(), NumberListTransformer(1, 672, most=4),
    TimeTransformer(), TimezoneTransformer(), WhenTransformer(), RuleTransformer(), TextTransformer(300),
]


def _cases() -> list[Any]:
    cases = []
    for transformer in TRANSFORMERS:
        for hostile in hostile_for(transformer):
            if isinstance(transformer, WhenTransformer | RuleTransformer) and hostile.kind not in (
                "blank", "control characters", "4000 characters"
            ):
                continue  # what a date or rule means is bot.dates' / bot.recurrence's job (e2e covers it)
            if hostile.kind == "largest id":
                continue  # a valid id: refused by the service, as no row has it (e2e covers it)
            cases.append(pytest.param(transformer, hostile, id=f"{type(transformer).__name__}-{hostile}"))
    return cases


async def refusal(transformer: EdgeTransformer, value: Any) -> str:
    """Run the transformer as discord.py does; return the message the member would be shown."""
    try:
        await transformer.transform(NO_INTERACTION, value)
    except Exception as exc:
        error = app_commands.TransformerError(value, transformer.type, transformer)
        error.__cause__ = exc  # what discord.py's CommandParameter.transform does
        message = user_message(unwrap(error))
        assert message is not None, f"{value!r}: {exc!r} would be an unexpected error"
        return message
    raise AssertionError(f"{type(transformer).__name__} accepted {value!r}")


@pytest.mark.parametrize(("transformer", "hostile"), _cases())
async def test_hostile_values_are_refused_with_a_clear_message(transformer: EdgeTransformer, hostile: Hostile) -> None:
    message = await refusal(transformer, hostile.value)
    assert isinstance(message, str) and 10 < len(message) < 400
    assert "Something went wrong" not in message
    assert message.count("`") % 2 == 0, message  # an echoed value can't break out of its code span
    assert not any(ch in message for ch in "\x00\x07\x1b\n"), message  # echoed on one inert line


@pytest.mark.parametrize("value", [*BAD_INTEGERS, True, "²", "١٢", "12.0", 1.5, None, "-1"])
async def test_bounded_int_refuses_what_discord_would_not_send(value: Any) -> None:
    message = await refusal(BoundedInt(1, 24, what="module number"), value)
    assert "from 1 to 24" in message


async def test_bounded_int_accepts_its_range() -> None:
    transformer = BoundedInt(2, 12)
    assert [await transformer.transform(NO_INTERACTION, n) for n in (2, 7, 12)] == [2, 7, 12]
    assert (transformer.min_value, transformer.max_value, transformer.type.name) == (2, 12, "integer")


@pytest.mark.parametrize("value", ["x" * 301, "🙂" * 4000, "   ", "a\x00b", "\x1b[31m"])
async def test_text_beyond_its_length_blank_or_with_control_characters_is_refused(value: str) -> None:
    message = await refusal(TextTransformer(300, what="commitment"), value)
    assert message.startswith("The commitment ")


async def test_text_is_passed_on_as_typed() -> None:
    transformer = TextTransformer(300)
    for value in ("Send 10 invoices", "x" * 300, "line one\nline two", "@everyone [a](https://x.example) ```"):
        assert await transformer.transform(NO_INTERACTION, value) == value
    assert (transformer.min_value, transformer.max_value) == (1, 300)


async def test_ids_are_ascii_digits_within_the_databases_integer_range() -> None:
    assert parse_id(str(ROW_ID_MAX)) == ROW_ID_MAX
    assert parse_id(str(ROW_ID_MAX + 1)) is None
    assert parse_id("1") == 1
    assert parse_id("2147483648") is None  # would overflow PostgreSQL's INTEGER
    for hostile in UNICODE_DIGITS:
        assert parse_id(hostile.value) is None, hostile
    meeting = MeetingTransformer()
    assert await meeting.transform(NO_INTERACTION, " 42 ") == 42
    assert await BrainstormTransformer().transform(NO_INTERACTION, "id:7") == 7  # "#7": the group's number (e2e)


async def test_a_commitment_is_its_autocomplete_id_or_its_number() -> None:
    transformer = CommitmentTransformer()
    assert await transformer.transform(NO_INTERACTION, "id:42") == CommitmentRef(id=42)
    assert await transformer.transform(NO_INTERACTION, f"id:{ROW_ID_MAX}") == CommitmentRef(id=ROW_ID_MAX)
    assert await transformer.transform(NO_INTERACTION, "#12") == CommitmentRef(number=12)
    assert await transformer.transform(NO_INTERACTION, " 3 ") == CommitmentRef(number=3)
    message = await refusal(transformer, "id:99999999999999999999")
    assert "There's no commitment `id:99999999999999999999`" in message


@pytest.mark.parametrize(
    ("typed", "clock"),
    [("18:00", "18:00"), ("6pm", "18:00"), ("6:30 pm", "18:30"), ("12am", "00:00"), ("12pm", "12:00"),
     ("0:00", "00:00"), ("23:59", "23:59"), ("7", "07:00"), (" 09:05 ", "09:05")],
)
async def test_real_clock_times_are_accepted_as_hh_mm(typed: str, clock: str) -> None:
    assert await TimeTransformer().transform(NO_INTERACTION, typed) == clock


async def test_timezones_are_canonical_iana_names() -> None:
    transformer = TimezoneTransformer()
    assert await transformer.transform(NO_INTERACTION, "europe/london") == "Europe/London"
    assert await transformer.transform(NO_INTERACTION, "America/New York") == "America/New_York"
    choices = await transformer.autocomplete(NO_INTERACTION, "lond")
    assert "Europe/London" in [choice.value for choice in choices]


async def test_hours_are_comma_separated_whole_numbers_within_bounds() -> None:
    transformer = NumberListTransformer(1, 672, most=4)
    assert await transformer.transform(NO_INTERACTION, "168, 24h") == [168, 24]
    assert await transformer.transform(NO_INTERACTION, "672,1") == [672, 1]
    message = await refusal(transformer, "²")
    assert "up to 4 whole numbers from 1 to 672" in message


def test_echoed_values_are_one_inert_line() -> None:
    assert quoted("a`b\nc\x00d").count("`") == 2 and "\n" not in quoted("a\nb")
    assert quoted("x" * 100) == "`" + "x" * 39 + "…`"
    assert quoted(10**30).startswith("`1000")


async def test_a_refusal_from_a_transformer_is_the_members_message_not_an_internal_error() -> None:
    """The renderer unwraps discord.py's TransformerError to the UserError behind it."""
    try:
        await MeetingTransformer().transform(NO_INTERACTION, "9223372036854775808")
    except UserError as exc:
        cause = exc
    error = app_commands.TransformerError("9223372036854775808", MeetingTransformer().type, MeetingTransformer())
    error.__cause__ = cause
    assert user_message(unwrap(error)) == cause.message == (
        "There's no meeting `9223372036854775808`: pick one from the list."
    )


async def test_a_goal_or_kpi_is_what_was_typed_or_a_valid_autocompleted_id() -> None:
    transformer = RefTransformer(100, what="goal")
    assert await transformer.transform(NO_INTERACTION, " #2 ") == "#2"
    assert await transformer.transform(NO_INTERACTION, "id:42") == "id:42"
    assert await transformer.transform(NO_INTERACTION, "Revenue") == "Revenue"
    for value in ("id:²", "id:١٢", "id:99999999999999999999", "id:", "id:0"):
        assert (await refusal(transformer, value)).startswith("There's no goal `id:"), value
