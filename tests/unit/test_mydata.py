"""MyDataService on SQLite and PostgreSQL: a member's export (their rows only, every table) and
forget (no text of theirs and not their id left in any table; the group's rows kept anonymised),
and its refusals (another member's click, after 10 minutes, the only facilitator)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.__main__ import run_forget_user
from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed
from bot.models import (
    AgendaItem,
    Base,
    Brainstorm,
    BrainstormIdea,
    BrainstormVote,
    BuddyPair,
    CheckIn,
    Commitment,
    Goal,
    GroupMember,
    Kpi,
    KpiEntry,
    Meeting,
    MeetingSeries,
    MemberProfile,
    OutboxRow,
    Rsvp,
    Win,
)
from bot.services import Services
from bot.services import outbox as outbox_service
from bot.services.mydata import FORMER_MEMBER_ID, REMOVED_TEXT
from bot.settings import DatabaseSettings
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
FAR_CHANNEL = 2_000_000_000_000_000_003
ANA, BOB, FAC = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002, 4_000_000_000_000_000_004
# Ana's texts: none may be left anywhere after she is forgotten.
ANA_TEXTS = ("ana-commitment-zebra", "ana-note-walrus", "ana-win-otter", "ana-checkin-lynx", "ana-goal-heron",
             "ana-kpi-ibis", "ana-agenda-newt", "ana-brainstorm-kiwi", "ana-details-moth")
BOB_TEXTS = ("bob-commitment-crane", "bob-idea-finch")
ANA_IDEA = "ana-idea-gecko"  # an idea in Bob's brainstorm: kept for the group, by "a former member"
EVERY_TABLE = {"commitment", "win", "checkin", "rsvp", "agenda_item", "brainstorm", "brainstorm_idea",
               "brainstorm_vote", "goal", "kpi", "kpi_entry", "member_profile", "buddy_pair", "meeting_series",
               "meeting"}


async def seed(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> dict[str, int]:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, FAC],
                                facilitators=(FAC,))
    far_id = await make_group(sessions, clock, name="Far", channel_id=FAR_CHANNEL, members=[ANA, BOB],
                              facilitators=(BOB,), guild_id=OTHER_GUILD)
    meeting_id = await add_meeting(sessions, group_id, clock.now() + timedelta(days=5))
    now = clock.now()
    async with sessions.begin() as s:
        (await s.get(Meeting, meeting_id)).substitute_id = ANA  # she facilitates that one (/meeting substitute)
        s.add_all([
            Commitment(guild_id=GUILD, group_id=group_id, number=1, user_id=ANA, text=ANA_TEXTS[0],
                       note=ANA_TEXTS[1], due_at=now, meeting_id=meeting_id, created_at=now, updated_at=now),
            Commitment(guild_id=GUILD, group_id=group_id, number=2, user_id=BOB, text=BOB_TEXTS[0], due_at=now,
                       meeting_id=meeting_id, created_at=now, updated_at=now),
            Commitment(guild_id=OTHER_GUILD, group_id=far_id, number=1, user_id=ANA, text="ana-far-commitment-emu",
                       due_at=now, created_at=now, updated_at=now),
            Win(guild_id=GUILD, group_id=group_id, user_id=ANA, text=ANA_TEXTS[2], created_at=now),
            CheckIn(guild_id=GUILD, group_id=group_id, cycle_key="c1", module_number=1, module_title="Focus",
                    user_id=ANA, learning=ANA_TEXTS[3], created_at=now, updated_at=now),
            Rsvp(meeting_id=meeting_id, user_id=ANA, guild_id=GUILD, answer="yes", updated_at=now),
            Rsvp(meeting_id=meeting_id, user_id=BOB, guild_id=GUILD, answer="no", updated_at=now),
            AgendaItem(guild_id=GUILD, group_id=group_id, meeting_id=meeting_id, user_id=ANA, issue=ANA_TEXTS[6],
                       position=1, created_at=now),
            Goal(guild_id=GUILD, group_id=group_id, number=1, user_id=ANA, text=ANA_TEXTS[4], created_at=now,
                 updated_at=now),
            MemberProfile(guild_id=GUILD, user_id=ANA, timezone="Europe/Paris", updated_at=now),
            BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ANA, partner_id=BOB, status="active",
                      created_at=now),
            MeetingSeries(guild_id=GUILD, group_id=group_id, rule_text="monthly", rrule="FREQ=MONTHLY",
                          local_time="18:00", created_by=ANA, created_at=now),
        ])
        kpi = Kpi(guild_id=GUILD, group_id=group_id, user_id=ANA, name=ANA_TEXTS[5], name_key=ANA_TEXTS[5],
                  unit="km", first_month=date(2026, 11, 1), created_at=now, updated_at=now)
        mine = Brainstorm(guild_id=GUILD, group_id=group_id, number=1, owner_id=ANA, issue=ANA_TEXTS[7], details=ANA_TEXTS[8],
                          created_at=now)
        bobs = Brainstorm(guild_id=GUILD, group_id=group_id, number=2, owner_id=BOB, issue="bob-brainstorm-carp", created_at=now)
        s.add_all([kpi, mine, bobs])
        await s.flush()
        s.add(KpiEntry(guild_id=GUILD, kpi_id=kpi.id, month=date(2026, 11, 1), value=Decimal("4.5"), logged_at=now,
                       updated_at=now))
        bob_idea = BrainstormIdea(guild_id=GUILD, brainstorm_id=bobs.id, number=1, author_id=BOB, text=BOB_TEXTS[1],
                                  votes=2, created_at=now)
        ana_idea = BrainstormIdea(guild_id=GUILD, brainstorm_id=bobs.id, number=2, author_id=ANA, text=ANA_IDEA,
                                  votes=0, created_at=now)
        s.add_all([bob_idea, ana_idea])
        await s.flush()
        s.add_all([
            BrainstormVote(idea_id=bob_idea.id, user_id=ANA, brainstorm_id=bobs.id, guild_id=GUILD, created_at=now),
            BrainstormVote(idea_id=bob_idea.id, user_id=FAC, brainstorm_id=bobs.id, guild_id=GUILD, created_at=now),
        ])
        await outbox_service.plan_group(s, group_id, now)
        return {"group": group_id, "far": far_id, "bob_idea": bob_idea.id, "ana_idea": ana_idea.id}


async def every_value(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, Any]]:
    found = []
    async with sessions.begin() as s:
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).mappings():
                found.extend((table.name, column, value) for column, value in row.items())
    return found


async def test_export_has_every_table_and_nothing_of_other_members(services: Services, sessions: Any,
                                                                   clock: ManualClock) -> None:
    await seed(sessions, clock)
    export = await services.mydata.export(user_id=ANA, guild_id=GUILD)
    batches = export.files()
    assert all(len(batch) <= 10 for batch in batches)  # 15 files: two messages
    files = {name: data for batch in batches for name, data in batch}
    document = json.loads(files["mydata.json"])
    tables = {table for features in document["servers"][str(GUILD)].values() for table in features}
    assert tables == EVERY_TABLE
    text = json.dumps(document)
    for word in ANA_TEXTS:
        assert word in text
    assert ANA_IDEA in text
    for word in (*BOB_TEXTS, "bob-brainstorm-carp", "ana-far-commitment-emu"):
        assert word not in text
    assert str(BOB) not in text and str(FAC) not in text  # not even as a buddy or a voter
    assert {f"{table}.csv" for table in EVERY_TABLE} <= set(files)
    assert ANA_TEXTS[0] in files["commitment.csv"].decode()


async def test_export_in_a_dm_covers_every_server(services: Services, sessions: Any, clock: ManualClock) -> None:
    await seed(sessions, clock)
    export = await services.mydata.export(user_id=ANA, guild_id=None)
    assert set(export.servers) == {GUILD, OTHER_GUILD}
    assert "ana-far-commitment-emu" in json.dumps(export.document())


async def test_a_large_export_is_split_within_discords_limits(services: Services, sessions: Any,
                                                              clock: ManualClock) -> None:
    await seed(sessions, clock)
    export = await services.mydata.export(user_id=ANA, guild_id=None)
    batches = export.files(limit=600)
    assert len(batches) > 1
    for batch in batches:
        assert (len(batch) <= 10 and sum(len(data) for _, data in batch) <= 600) or len(batch) == 1
    names = [name for batch in batches for name, _ in batch]
    assert len(names) == len(set(names))
    parts = [json.loads(data) for batch in batches for name, data in batch if name.endswith(".json")]
    assert ANA_TEXTS[0] in json.dumps(parts)


async def test_forget_leaves_no_text_or_id_of_the_member(services: Services, sessions: Any,
                                                         clock: ManualClock) -> None:
    ids = await seed(sessions, clock)
    summary = await services.mydata.forget(user_id=ANA, guild_id=None, confirmed_by=ANA, requested_at=clock.now())
    assert summary.servers == 2 and summary.groups_left == 2 and summary.rows > 0
    for table, column, value in await every_value(sessions):
        assert value != ANA, (table, column)
        if isinstance(value, str | dict | list):
            flat = json.dumps(value) if not isinstance(value, str) else value
            assert str(ANA) not in flat, (table, column)
            for word in (*ANA_TEXTS, "ana-far-commitment-emu"):
                assert word not in flat, (table, column)
    async with sessions.begin() as s:
        # The group's rows stay whole: commitment numbers, Bob's data, the ideas' ranking recounted.
        numbers = {c.number: c for c in await s.scalars(select(Commitment).where(Commitment.group_id == ids["group"]))}
        assert numbers[1].user_id == FORMER_MEMBER_ID and numbers[1].text == REMOVED_TEXT
        assert numbers[2].text == BOB_TEXTS[0]
        assert (await s.get(BrainstormIdea, ids["bob_idea"])).votes == 1  # type: ignore[union-attr]
        idea = await s.get(BrainstormIdea, ids["ana_idea"])
        assert idea is not None and idea.author_id == FORMER_MEMBER_ID
        assert await s.scalar(select(Rsvp.user_id)) == BOB
        assert not list(await s.scalars(select(GroupMember).where(GroupMember.user_id == ANA)))
        assert not list(await s.scalars(select(OutboxRow).where(OutboxRow.recipient_id == ANA)))
        assert await s.scalar(select(Win.id)) is None and await s.scalar(select(CheckIn.id)) is None


async def test_forget_in_one_server_keeps_the_others(services: Services, sessions: Any, clock: ManualClock) -> None:
    await seed(sessions, clock)
    await services.mydata.forget(user_id=ANA, guild_id=GUILD, confirmed_by=ANA, requested_at=clock.now())
    async with sessions.begin() as s:
        left = list(await s.scalars(select(Commitment.text).where(Commitment.user_id == ANA)))
        assert left == ["ana-far-commitment-emu"]
        assert await s.scalar(select(GroupMember.guild_id).where(GroupMember.user_id == ANA)) == OTHER_GUILD


async def test_forget_refusals_change_nothing(services: Services, sessions: Any, clock: ManualClock) -> None:
    await seed(sessions, clock)
    before = await every_value(sessions)
    asked = clock.now()
    with pytest.raises(NotAllowed):
        await services.mydata.forget(user_id=ANA, guild_id=GUILD, confirmed_by=BOB, requested_at=asked)
    clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(InvalidInput, match="expired"):
        await services.mydata.forget(user_id=ANA, guild_id=GUILD, confirmed_by=ANA, requested_at=asked)
    # Bob is the only facilitator of "Far" (active): refused everywhere until another is named.
    with pytest.raises(InvalidInput, match="only facilitator of \\*\\*Far\\*\\*"):
        await services.mydata.forget(user_id=BOB, guild_id=None, confirmed_by=BOB, requested_at=clock.now())
    assert await every_value(sessions) == before
    async with sessions.begin() as s:
        far = await s.scalar(select(GroupMember).where(GroupMember.user_id == ANA,
                                                          GroupMember.guild_id == OTHER_GUILD))
        assert far is not None
        far.is_facilitator = True
    await services.mydata.forget(user_id=BOB, guild_id=None, confirmed_by=BOB, requested_at=clock.now())
    async with sessions.begin() as s:
        assert await s.scalar(select(GroupMember).where(GroupMember.user_id == BOB)) is None


async def test_forget_user_command_forgets_everywhere_and_prints_no_content(
    services: Services, sessions: Any, clock: ManualClock, database_url: str
) -> None:
    await seed(sessions, clock)
    out = io.StringIO()
    assert await run_forget_user(DatabaseSettings(database_url=database_url), ANA, out) == 0
    printed = out.getvalue()
    assert "2 servers" in printed and "2 groups" in printed
    assert not any(word in printed for word in ANA_TEXTS)
    async with sessions.begin() as s:
        assert await s.scalar(select(GroupMember).where(GroupMember.user_id == ANA)) is None
    out = io.StringIO()
    assert await run_forget_user(DatabaseSettings(database_url=database_url), BOB, out) != 0
    assert "only facilitator" in out.getvalue()
