"""Member text: ``bot.text`` (cleaning, name keys), ``bot.ui.text.inert`` (markdown shown as typed), and
the services refusing invisible or lookalike text with nothing stored — on both databases."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column, func, insert, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import Conflict, InvalidInput
from bot.models import Brainstorm, BrainstormIdea, CheckIn, Commitment, Group, Win
from bot.services import Services
from bot.services.base import Actor
from bot.text import clean, is_blank, name_key, quoted
from bot.ui.text import inert
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ADMIN, ANA, BOB = (5_000_000_000_000_000_000 + n for n in range(1, 4))
CHANNEL_2, CHANNEL_3 = CHANNEL + 1, CHANNEL + 2
NFD_CAFE = unicodedata.normalize("NFD", "Café Club")
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202e\u2066\u2069\u180e\u3164"
FAMILY = "👨\u200d👩\u200d👧"  # a ZWJ sequence
TECHNOLOGIST = "🧑🏽\u200d💻"  # skin tone + ZWJ
HEART_ON_FIRE = "❤\ufe0f\u200d🔥"  # VS16 + ZWJ
SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag of tag characters


# --- bot.text.clean -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("\u200b", ""),
        ("\u200b" * 300, ""),
        (ZERO_WIDTH, ""),
        (f" {ZERO_WIDTH} \t\n ", ""),
        ("\x00\x01\x7f", ""),
        ("\u2800\u2800", ""),  # braille blanks
        ("\u0301\u0301", ""),  # marks on nothing
        ("Al\u200bpha", "Alpha"),
        ("\ufeffSend\u2060 invoices\u00ad", "Send invoices"),
        ("Send\x00 10\x07 invoices", "Send 10 invoices"),
        ("a\tb\r\nc", "a b c"),
        ("  many    spaces  ", "many spaces"),
        ("\u202eevil\u202c", "evil"),  # bidi override
        (NFD_CAFE, "Café Club"),
        (FAMILY, FAMILY),
        (f"Ship it {TECHNOLOGIST}", f"Ship it {TECHNOLOGIST}"),
        (HEART_ON_FIRE, HEART_ON_FIRE),
        (SCOTLAND, SCOTLAND),
        ("a\u200db", "ab"),  # a ZWJ between Latin letters is noise
        ("👍\u200d", "👍"),  # … and so is one at the end
        ("x\U000e0067y", "xy"),  # stray tag characters
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian writes with the ZWNJ
        ("\u0915\u094d\u200d\u0937", "\u0915\u094d\u200d\u0937"),  # … and Devanagari with the ZWJ
        ("x" * 4000, "x" * 4000),
    ],
)
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned
    assert clean(cleaned) == cleaned  # idempotent


def test_clean_keeps_lines_when_asked() -> None:
    assert clean("  first  \r\n\r\n\r\n\r\nsecond\u200b\n\u200b", multiline=True) == "first\n\nsecond"
    assert clean("\u200b\n\u200b\n", multiline=True) == ""
    assert clean(None) == "" and clean("") == ""


@pytest.mark.parametrize(("text", "blank"), [("\u200b \u200d", True), ("\ufe0f", True), ("", True), ("·", False),
                                             (FAMILY, False), ("0", False)])
def test_is_blank(text: str, blank: bool) -> None:
    assert is_blank(text) is blank


# --- bot.text.name_key --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    ["Alpha", "alpha", "ALPHA", "Al\u200bpha", "Al\u00adpha", " Alpha ", "\u200bAlpha\u200b", "Ａｌｐｈａ", "Al\u200dpha"],
)
def test_lookalike_names_share_a_key(lookalike: str) -> None:
    assert name_key(lookalike) == "alpha"


def test_name_keys() -> None:
    assert name_key(NFD_CAFE) == name_key("Café Club") == name_key("CAFÉ  club") == "café club"
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Café") != name_key("Cafe")  # an accent is a different name, not a lookalike
    assert name_key(FAMILY) == "👨👩👧"


@pytest.mark.parametrize(("typed", "shown"), [("#12", "`#12`"), ("a`b```", "`aˋbˋˋˋ`"), ("\u200b", "nothing"),
                                             ("x" * 100, "`" + "x" * 39 + "…`"), ("a\nb", "`a b`")])
def test_quoted_echoes_stay_inside_their_code_span(typed: str, shown: str) -> None:
    assert quoted(typed) == shown


# --- bot.ui.text.inert --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("```py\nx", "\\`\\`\\`py\nx"),
        ("`code`", "\\`code\\`"),
        ("[the brief](https://evil.example/x)", "\\[the brief](https://evil.example/x)"),
        ("[a [b](https://e.example/y)](https://z.example)", "\\[a \\[b](https://e.example/y)](https://z.example)"),
        ("**bold** __u__ ~~s~~ ||spoiler|| *i*", "\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\*i\\*"),
        ("a\\b", "a\\\\b"),
        ("# Heading\n## Two\n> quote\n>>> all\n- item\n  - sub\n1. one\n-# small",
         "\\# Heading\n\\## Two\n\\> quote\n\\>>> all\n\\- item\n  \\- sub\n1\\. one\n\\-# small"),
        ("see https://example.com/a_b_c, ok", "see https://example.com/a_b_c, ok"),  # links stay whole
        ("https://example.com/```", "https://example.com/\\`\\`\\`"),  # but a fence never hides in one
        ("<@123> @everyone <#5>", "<@123> @everyone <#5>"),  # inert through allowed_mentions, not escapes
        ("2 - 1 > 0 # ok", "2 - 1 > 0 # ok"),  # only at the start of a line
        ("plain text", "plain text"),
    ],
)
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown


@pytest.mark.parametrize("raw", ["*" * 300, "ab" * 300, "`" * 4000, "x" * 4000])
def test_inert_within_a_limit_never_cuts_an_escape(raw: str) -> None:
    shown = inert(raw, 256)
    assert len(shown) <= 256 and shown.endswith("…")
    body = shown[:-1]
    assert (len(body) - len(body.rstrip("\\"))) % 2 == 0  # no backslash left to escape what follows
    assert inert("short", 256) == "short"


# --- services on both databases -----------------------------------------------------------------------


def actor(user_id: int, *, channel_id: int | None = CHANNEL, manage: bool = False) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=channel_id, can_manage_server=manage)


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    group = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await add_meeting(sessions, group, clock.now() + timedelta(days=14))
    return group


@pytest.mark.parametrize("text", ["\u200b", "\u200b" * 50, ZERO_WIDTH, " \u200b \u2060 ", "\x00", "\u3164\u3164"])
async def test_an_invisible_commitment_or_win_is_refused_and_nothing_is_stored(
    services: Services, sessions, group_id: int, text: str
) -> None:
    with pytest.raises(InvalidInput, match="can't be empty"):
        await services.commitments.add(actor(ANA), text=text)
    with pytest.raises(InvalidInput, match="can't be empty"):
        await services.commitments.win(actor(ANA), text=text)
    assert await count(sessions, Commitment) == 0
    assert await count(sessions, Win) == 0


async def test_commitment_text_is_stored_clean(services: Services, sessions, group_id: int) -> None:
    added = await services.commitments.add(actor(ANA), text=f"\u200bSend\x00 {NFD_CAFE}\u2060 the deck {FAMILY}")
    assert added.commitment.text == f"Send Café Club the deck {FAMILY}"
    async with sessions.begin() as session:
        stored = await session.get(Commitment, added.commitment.id)
        assert stored is not None and stored.text == f"Send Café Club the deck {FAMILY}"


async def test_a_long_commitment_is_refused_with_its_length(services: Services, sessions, group_id: int) -> None:
    with pytest.raises(InvalidInput, match="yours has 4000"):
        await services.commitments.add(actor(ANA), text="x" * 4000)
    # Invisible characters don't count towards the limit.
    added = await services.commitments.add(actor(ANA), text="x" * 300 + "\u200b" * 3700)
    assert added.commitment.text == "x" * 300
    assert await count(sessions, Commitment) == 1


async def test_invisible_brainstorm_issue_and_idea_are_refused(services: Services, sessions, group_id: int) -> None:
    with pytest.raises(InvalidInput, match="issue can't be empty"):
        await services.brainstorms.open(actor(ANA), issue=ZERO_WIDTH, details="real details")
    assert await count(sessions, Brainstorm) == 0
    opened = await services.brainstorms.open(actor(ANA), issue="Pricing\u200b", details="\u200b\n\u200b")
    assert opened.issue == "Pricing" and opened.details is None
    with pytest.raises(InvalidInput, match="idea can't be empty"):
        await services.brainstorms.add_idea(actor(BOB), text="\u200b\n\u2060", brainstorm_id=opened.id)
    assert await count(sessions, BrainstormIdea) == 0


async def test_an_invisible_check_in_is_refused(services: Services, sessions, group_id: int) -> None:
    with pytest.raises(InvalidInput, match="check-in is empty"):
        await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="\u200b\u200b", consumed="\x00")
    assert await count(sessions, CheckIn) == 0
    saved = await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="Goals\u200b\nneed dates")
    assert saved.entry.learning == "Goals\nneed dates"


async def test_an_invisible_meeting_location_is_no_location(services: Services, sessions, group_id: int) -> None:
    info = await services.meetings.schedule(actor(ANA, manage=True), when="2026-12-20 18:00", location="\u200b\u2060")
    assert info.location is None


# --- group names ----------------------------------------------------------------------------------------


async def create(services: Services, name: str, channel_id: int) -> str:
    info = await services.groups.create(actor(ADMIN, manage=True), name=name, channel_id=channel_id)
    return info.name


@pytest.mark.parametrize(
    ("first", "lookalike"),
    [("Alpha", "Al\u200bpha"), ("Alpha", "ALPHA\u2060"), ("Alpha", "Ａｌｐｈａ"), ("Café Club", NFD_CAFE),
     (NFD_CAFE, "Café Club"), ("Café Club", "CAFÉ\u00a0 CLUB")],
)
async def test_a_lookalike_group_name_is_refused_beside_the_first(
    services: Services, sessions, first: str, lookalike: str
) -> None:
    assert await create(services, first, CHANNEL_2) == clean(first)
    with pytest.raises(Conflict, match="already a group"):
        await create(services, lookalike, CHANNEL_3)
    assert await count(sessions, Group) == 1
    # What a member types in a group option finds the group whichever way they spell it.
    group_id = await services.groups.find_id(GUILD, first)
    assert group_id is not None and await services.groups.find_id(GUILD, lookalike) == group_id


async def test_group_names_are_stored_clean(services: Services, sessions) -> None:
    assert await create(services, f"\u200b{NFD_CAFE}\u2060", CHANNEL_2) == "Café Club"
    async with sessions.begin() as session:
        group = await session.scalar(select(Group))
        assert group is not None and (group.name, group.name_key) == ("Café Club", "café club")


@pytest.mark.parametrize(
    ("name", "match"),
    [("\u200b\u200b", "needs a name"), (ZERO_WIDTH, "needs a name"), ("x" * 81, "at most 80"),
     ("ﷺ" * 5, "at most 80"),  # short, but its key spells out to 90 characters
     ("```Alpha", "formatting characters"), ("[Alpha](https://evil.example)", "formatting characters"),
     ("**Alpha**", "formatting characters"), ("Al|pha", "formatting characters")],
)
async def test_bad_group_names_are_refused_and_nothing_is_stored(services: Services, sessions, name: str,
                                                                 match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        await create(services, name, CHANNEL_2)
    assert await count(sessions, Group) == 0


# --- migration 0007: existing groups re-keyed ---------------------------------------------------------------


async def test_migration_0007_rekeys_existing_groups(backend: str, _templates: object, tmp_path, clock) -> None:
    from bot import migrate
    from bot.db import create_engine, create_sessionmaker
    from tests.conftest import drop_database_url
    from tests.unit.test_migrations import _empty_url

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, "0006")
        sessions = create_sessionmaker(engine)
        # Keys as the old code made them (``name.casefold()``). Rows go in through the 0006 columns
        # only (the model has columns later migrations add).
        names = {1: "Alpha", 2: "Al\u200bpha", 3: NFD_CAFE, 4: "Ｂｅｔａ", 5: "Gamma"}
        old = {"timezone": "UTC", "created_by": ADMIN, "created_at": clock.now(), "max_members": 8,
               "announce_commitments": True, "meeting_reminder_hours": [168, 24], "reportback_lead_hours": 48,
               "checkin_nudge_lead_hours": 72, "current_module_number": 1}
        columns = [Group.__table__.c[name] for name in ("id", "guild_id", "channel_id", "name", "name_key", *old)]
        rows = [{"id": number, "guild_id": GUILD, "channel_id": CHANNEL + number, "name": name,
                 "name_key": name.casefold(), **old} for number, name in names.items()]
        rows.append({"id": 6, "guild_id": GUILD + 1, "channel_id": CHANNEL + 6, "name": "Al\u200bpha",
                     "name_key": "al\u200bpha", **old})
        async with sessions.begin() as session:
            await session.execute(insert(table("peer_group", *(column(c.name, c.type) for c in columns))), rows)
        await migrate.upgrade(engine)
        async with sessions.begin() as session:
            keys = {group.id: group.name_key for group in await session.scalars(select(Group))}
        assert keys == {
            1: "alpha",
            2: "al\u200bpha",  # "alpha" is taken by the older group: this one keeps its old key
            3: "café club",
            4: "beta",
            5: "gamma",
            6: "alpha",  # another server
        }
        await migrate.downgrade(engine, "0006")  # nothing to undo, and it doesn't fail
    finally:
        await engine.dispose()
        await drop_database_url(url)


# --- the renderers: member text shown as typed wherever it sits in the bot's formatting -----------------

MARKDOWN = "```x [the brief](https://evil.example/x) **b** ||s||"
ESCAPED = "\\`\\`\\`x \\[the brief](https://evil.example/x) \\*\\*b\\*\\* \\|\\|s\\|\\|"


def test_commitment_lines_boards_and_report_backs_escape_member_text() -> None:
    from bot.services.commitments import Board, CommitmentInfo, CycleRate, MemberCommitments, ReportBack
    from bot.ui.layout import layout_text
    from cogs.commitments import board_messages, commitment_line, reportback_embeds

    when = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    item = CommitmentInfo(id=1, guild_id=GUILD, group_id=1, number=1, user_id=ANA, text=MARKDOWN, due_at=when,
                          meeting_id=7, status="done", note="> quoted\n# big", reported_at=when)
    line = commitment_line(item)
    assert line.startswith(f"✅ `#1` {ESCAPED} — *") and "↳ \\> quoted\n    \\# big" in line
    board = Board(group_id=1, group_name="Makers", meeting_id=7, meeting_starts_at=when, rate=CycleRate(1, 0, 1),
                  not_reported=[], members=[MemberCommitments(user_id=ANA, commitments=[item])])
    [message] = board_messages(board)
    assert message.view is not None and ESCAPED in layout_text(message.view)  # type: ignore[arg-type]
    report = ReportBack(guild_id=GUILD, group_id=1, group_name="Makers", channel_id=CHANNEL, meeting_id=7,
                        meeting_starts_at=when, user_id=ANA, timezone="UTC", commitments=[item])
    assert ESCAPED in reportback_embeds(report)[0].description


def test_brainstorm_cards_and_results_escape_member_text() -> None:
    from bot.services.brainstorms import BrainstormInfo, IdeaInfo
    from cogs.brainstorms import idea_line, issue_embed, results_embeds

    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    idea = IdeaInfo(id=1, number=1, author_id=BOB, text=MARKDOWN, votes=2, message_id=5, commitment_id=None,
                    created_at=start)
    info = BrainstormInfo(
        id=7, number=1, guild_id=GUILD, group_id=1, group_name="Makers", group_channel_id=2, owner_id=ANA, issue=MARKDOWN,
        details="- a list?\n[link](https://evil.example)", anonymous=False, max_votes=None, status="closed",
        thread_id=9, message_id=1, created_at=start, closed_at=start, ideas=(idea,),
    )
    assert idea_line(info, idea) == f"💡 #1 {ESCAPED} — <@{BOB}>"
    card = issue_embed(info)
    assert card.title == ESCAPED and card.description == "\\- a list?\n\\[link](https://evil.example)"
    results = results_embeds(info)
    assert results[0].title.endswith(ESCAPED) and ESCAPED in results[0].description


def test_check_ins_and_meeting_locations_escape_member_text() -> None:
    from bot.places import Place, PlaceKind
    from bot.services.meetings import MeetingInfo
    from bot.services.modules import CheckInEntry
    from cogs.meetings import meeting_embed
    from cogs.modules import checkin_fields

    when = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    entry = CheckInEntry(id=1, user_id=ANA, module_number=1, module_title="Vision", consumed=MARKDOWN,
                         activities=None, learning="`" * 1000, application=None, visibility="group", updated_at=when)
    fields = checkin_fields(entry)
    assert fields[0][1] == f"<@{ANA}>" and fields[1][1] == ESCAPED
    assert len(fields[2][1]) <= 1024 and fields[2][1].endswith("…")  # escapes never push past a field's limit
    meeting = MeetingInfo(id=1, group_id=1, group_name="Makers", channel_id=2, timezone="UTC", starts_at=when,
                          location=None, status="scheduled", series_id=None,
                          place=Place(PlaceKind.IN_PERSON, "[Zoom](https://evil.example) https://zoom.us/j/1_2",
                                      "1 *High* St", "https://maps.example/?q=a_(b)"))
    [where] = [f for f in meeting_embed(meeting).fields if f.name == "Where"]
    assert where.value == ("\\[Zoom](https://evil.example) https://zoom.us/j/1_2\n1 \\*High\\* St\n"
                           "[Map](<https://maps.example/?q=a_%28b%29>)")
