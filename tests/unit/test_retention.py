"""Retention of servers that removed the bot, and deleting a whole group (issue 16), on SQLite and
PostgreSQL: the purge runs only once the injected clock passes DATA_RETENTION_DAYS, a re-add
cancels it (even one that lands between the listing and the purge), and afterwards no table holds a
row of the server — or of the deleted group — while other servers and groups keep all of theirs."""

from __future__ import annotations

import json
import os
import stat
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db import create_engine
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import (
    Base,
    Brainstorm,
    BrainstormVote,
    CheckIn,
    CommandSyncState,
    Commitment,
    Group,
    GroupMember,
    GuildRemoval,
    GuildSettings,
    Kpi,
    KpiEntry,
    KpiVisibility,
    Module,
    OutboxRow,
    OutboxStatus,
    Rsvp,
)
from bot.models.attendance import Attendance, AttendanceStatus, MeetingFeedback
from bot.models.discord_events import DiscordEvent, DiscordEventGuild, DiscordEventInterest, DiscordEventSync
from bot.services import Services
from bot.services import outbox as outbox_service
from bot.services.base import Actor
from bot.services.purge import GLOBAL_TABLES
from bot.settings import ConfigError, Settings, load_settings
from tests.unit.seeding import GUILD, add_meeting, make_group
from tests.unit.test_mydata import ANA, ANA_IDEA, ANA_TEXTS, BOB, BOB_TEXTS, FAC, OTHER_GUILD, seed

RETENTION = timedelta(days=30)
NEAR_CHANNEL = 2_000_000_000_000_000_009


async def seed_all(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> dict[str, int]:
    """test_mydata's rows (every feature's table, in GUILD and OTHER_GUILD) plus a second group in
    GUILD, a module, the server's settings and its command sync state."""
    ids = await seed(sessions, clock)
    near = await make_group(sessions, clock, name="Near", channel_id=NEAR_CHANNEL, members=[BOB, FAC],
                            facilitators=(FAC,))
    near_meeting = await add_meeting(sessions, near, clock.now() + timedelta(days=9))
    now = clock.now()
    async with sessions.begin() as s:
        s.add_all([
            Module(guild_id=GUILD, group_id=ids["group"], number=1, title="Focus", summary="s"),
            GuildSettings(guild_id=GUILD, timezone="UTC", created_at=now, updated_at=now),
            GuildSettings(guild_id=OTHER_GUILD, timezone="UTC", created_at=now, updated_at=now),
            CommandSyncState(scope=str(GUILD), payload_hash="h", synced_at=now),
            Commitment(guild_id=GUILD, group_id=near, number=1, user_id=BOB, text="near-commitment-yak",
                       due_at=now, created_at=now, updated_at=now),
            Attendance(meeting_id=near_meeting, user_id=BOB, guild_id=GUILD, group_id=near,
                       status=AttendanceStatus.PRESENT, recorded_by=FAC, updated_at=now),
            MeetingFeedback(meeting_id=near_meeting, user_id=BOB, guild_id=GUILD, group_id=near, score=4,
                            line="near-feedback-yak", updated_at=now),
            DiscordEvent(meeting_id=near_meeting, guild_id=GUILD, group_id=near, event_id=777, synced="x",
                         updated_at=now),
            DiscordEventSync(group_id=near, guild_id=GUILD, generation=1, fingerprint="x"),
            DiscordEventGuild(guild_id=GUILD, can_manage=True, updated_at=now),
            DiscordEventInterest(meeting_id=near_meeting, user_id=BOB, guild_id=GUILD, group_id=near, created_at=now),
        ])
        await outbox_service.plan_group(s, near, now)
        await outbox_service.plan_group(s, ids["group"], now)  # Manage Events is on now: its events sync
    return {**ids, "near": near}


async def rows_by_table(sessions: async_sessionmaker[AsyncSession], column: str, value: int) -> dict[str, int]:
    """Every table with ``column``: how many of its rows have ``value`` there (tables with none left out)."""
    found = {}
    async with sessions.begin() as s:
        for table in Base.metadata.sorted_tables:
            if column in table.c:
                count = await s.scalar(select(func.count()).select_from(table).where(table.c[column] == value))
                if count:
                    found[table.name] = count
    return found


async def pending(sessions: async_sessionmaker[AsyncSession], guild_id: int) -> int:
    async with sessions.begin() as s:
        return await s.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.guild_id == guild_id, OutboxRow.status == OutboxStatus.PENDING)) or 0


def test_every_table_is_found_by_its_server() -> None:
    """A new feature's table is purged with its server only if it has a guild_id (or is global)."""
    for table in Base.metadata.sorted_tables:
        assert "guild_id" in table.c or table.name in GLOBAL_TABLES, table.name


# --- retention ------------------------------------------------------------------------------------------


async def test_nothing_is_purged_before_the_retention_has_passed(services: Services, sessions: Any,
                                                                 clock: ManualClock) -> None:
    await seed_all(sessions, clock)
    before = await rows_by_table(sessions, "guild_id", GUILD)
    assert await pending(sessions, GUILD) > 0
    assert await services.retention.server_removed(GUILD)
    assert not await services.retention.server_removed(GUILD)  # a second GUILD_DELETE keeps the first time
    assert await pending(sessions, GUILD) == 0  # nothing is sent for a server the bot left
    clock.advance(RETENTION - timedelta(minutes=1))
    assert await services.retention.purge_due(RETENTION) == []
    after = await rows_by_table(sessions, "guild_id", GUILD)
    assert after == {**before, "guild_removal": 1}


async def test_the_purge_after_the_retention_leaves_no_row_of_the_server(services: Services, sessions: Any,
                                                                         clock: ManualClock) -> None:
    await seed_all(sessions, clock)
    before = await rows_by_table(sessions, "guild_id", GUILD)
    # Every table with a guild_id has a row of the server, so the scan below proves something.
    assert set(before) | {"guild_removal"} == {t.name for t in Base.metadata.sorted_tables if "guild_id" in t.c}
    other = await rows_by_table(sessions, "guild_id", OTHER_GUILD)
    await services.retention.server_removed(GUILD)
    clock.advance(RETENTION)
    purged = await services.retention.purge_due(RETENTION)
    assert [p.guild_id for p in purged] == [GUILD] and purged[0].total > 0
    assert await rows_by_table(sessions, "guild_id", GUILD) == {}
    async with sessions.begin() as s:
        assert await s.get(CommandSyncState, str(GUILD)) is None
    assert await rows_by_table(sessions, "guild_id", OTHER_GUILD) == other
    assert await services.retention.purge_due(RETENTION) == []  # done once


async def test_a_re_add_cancels_the_purge_and_plans_the_notifications_again(services: Services, sessions: Any,
                                                                           clock: ManualClock) -> None:
    await seed_all(sessions, clock)
    planned = await pending(sessions, GUILD)
    before = await rows_by_table(sessions, "guild_id", GUILD)
    await services.retention.server_removed(GUILD)
    clock.advance(hours=1)  # before any of them fell due
    assert await services.retention.server_added(GUILD)
    assert not await services.retention.server_added(GUILD)  # an ordinary GUILD_CREATE: nothing to do
    assert await pending(sessions, GUILD) == planned
    clock.advance(RETENTION)
    assert await services.retention.purge_due(RETENTION) == []
    assert await rows_by_table(sessions, "guild_id", GUILD) == before


async def test_a_purge_racing_a_re_add_rechecks_the_mark_in_its_transaction(services: Services, sessions: Any,
                                                                            clock: ManualClock) -> None:
    await seed_all(sessions, clock)
    before = await rows_by_table(sessions, "guild_id", GUILD)
    await services.retention.server_removed(GUILD)
    clock.advance(RETENTION + timedelta(days=1))
    due = await services.retention.due(RETENTION)
    assert due == [GUILD]
    await services.retention.server_added(GUILD)  # lands between the listing and the purge
    assert await services.retention.purge(GUILD, RETENTION) is None
    after = await rows_by_table(sessions, "guild_id", GUILD)
    assert after.pop("outbox") >= before.pop("outbox")  # re-planned a month on: rows for what is due now
    assert after == before
    # Removed again later: the new removal's own window counts, not the first one's.
    await services.retention.server_removed(GUILD)
    clock.advance(days=1)
    assert await services.retention.purge(GUILD, RETENTION) is None
    assert (await rows_by_table(sessions, "guild_id", GUILD)).get("peer_group") == 2


async def test_reconcile_at_connect_marks_servers_gone_offline_and_unmarks_re_added_ones(
    services: Services, sessions: Any, clock: ManualClock
) -> None:
    await seed_all(sessions, clock)
    assert await services.retention.reconcile({GUILD, OTHER_GUILD}) == ([], [])
    assert await services.retention.reconcile({OTHER_GUILD}) == ([GUILD], [])  # removed while offline
    assert await services.retention.removed_at(GUILD) == clock.now()
    assert await pending(sessions, GUILD) == 0
    clock.advance(days=1)
    assert await services.retention.reconcile({OTHER_GUILD}) == ([], [])  # still gone: the first time stands
    assert await services.retention.removed_at(GUILD) == clock.now() - timedelta(days=1)
    assert await services.retention.reconcile({GUILD, OTHER_GUILD}) == ([], [GUILD])  # re-added meanwhile
    assert await services.retention.removed_at(GUILD) is None and await pending(sessions, GUILD) > 0


async def test_a_shards_process_reconciles_only_the_servers_of_its_shards(
    services: Services, sessions: Any, clock: ManualClock
) -> None:
    await seed_all(sessions, clock)
    # This process sees only OTHER_GUILD's shard: GUILD is on another process's, not "gone".
    assert await services.retention.reconcile({OTHER_GUILD}, owned=lambda guild_id: guild_id == OTHER_GUILD) == ([], [])
    assert await services.retention.removed_at(GUILD) is None
    assert await services.retention.reconcile(set(), owned=lambda guild_id: guild_id == OTHER_GUILD) == ([OTHER_GUILD], [])


async def test_planning_a_removed_servers_group_sends_nothing(services: Services, sessions: Any,
                                                              clock: ManualClock) -> None:
    ids = await seed_all(sessions, clock)
    await services.retention.server_removed(GUILD)
    async with sessions.begin() as s:  # e.g. a member forgetting their data from a DM re-plans every group
        await outbox_service.plan_group(s, ids["group"], clock.now())
    assert await pending(sessions, GUILD) == 0


def test_retention_days_setting_is_validated() -> None:
    assert Settings(discord_token="x", _env_file=None).data_retention_days == 30  # type: ignore[call-arg]
    assert Settings(discord_token="x", data_retention_days="7", _env_file=None).data_retention_days == 7  # type: ignore[call-arg]
    for bad in ("0", "-1", "3651", "a month"):
        with pytest.raises(ConfigError, match="DATA_RETENTION_DAYS is malformed"):
            load_settings(Settings, discord_token="x", data_retention_days=bad, _env_file=None)
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert "DATA_RETENTION_DAYS=30" in example


# --- the SQLite file ------------------------------------------------------------------------------------


async def test_the_sqlite_file_and_its_new_directory_are_owner_only(tmp_path: Path) -> None:
    host = tmp_path / "host"  # made by the host, group-readable: left as it is
    host.mkdir()
    host.chmod(0o755)
    path = host / "fresh" / "data" / "roundtable.db"
    umask = os.umask(0o022)  # a usual umask would leave new files 0644 and directories 0755
    try:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
                await connection.execute(text("INSERT INTO t VALUES (1)"))
            for made in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                assert stat.S_IMODE(os.stat(made).st_mode) == 0o600, made
            for directory in (path.parent, path.parent.parent):
                assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory
            assert stat.S_IMODE(os.stat(host).st_mode) == 0o755
        finally:
            await engine.dispose()
    finally:
        os.umask(umask)


def test_a_backup_of_the_sqlite_file_is_owner_only_too(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from bot.__main__ import backup_sqlite

    source = tmp_path / "live.db"
    with closing(sqlite3.connect(source)) as live:
        live.execute("CREATE TABLE t (x INTEGER)")
        live.commit()
    umask = os.umask(0o022)
    try:
        written = backup_sqlite(source, tmp_path / "copy.db")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600


# --- /group delete ---------------------------------------------------------------------------------------


def fac(guild_id: int = GUILD, user_id: int = FAC, **kw: Any) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, **kw)


async def test_delete_a_group_leaves_no_row_of_it_and_keeps_the_others(services: Services, sessions: Any,
                                                                       clock: ManualClock) -> None:
    ids = await seed_all(sessions, clock)
    assert await rows_by_table(sessions, "group_id", ids["group"])
    near = await rows_by_table(sessions, "group_id", ids["near"])
    far = await rows_by_table(sessions, "guild_id", OTHER_GUILD)
    settings = await rows_by_table(sessions, "guild_id", GUILD)
    ref = await services.groupdata.ask_delete(fac(), group_id=ids["group"])
    assert ref.name == "Makers"
    done = await services.groupdata.delete(fac(), group_id=ref.id, asked_by=FAC, asked_at=clock.now())
    assert done.name == "Makers" and done.rows > 0 and done.notifications_cancelled > 0
    assert await rows_by_table(sessions, "group_id", ids["group"]) == {}
    async with sessions.begin() as s:
        assert await s.get(Group, ids["group"]) is None
        # Rows hanging from the group without a group_id (RSVPs, KPI values, ideas, votes) went too.
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).mappings():
                flat = " ".join(str(v) for v in row.values())
                for word in (*ANA_TEXTS, *BOB_TEXTS, ANA_IDEA, "bob-brainstorm-carp"):
                    assert word not in flat, (table.name, word)
        assert await s.scalar(select(func.count()).select_from(Rsvp)) == 0
        assert await s.scalar(select(func.count()).select_from(KpiEntry)) == 0
        assert await s.scalar(select(func.count()).select_from(BrainstormVote)) == 0
    assert await rows_by_table(sessions, "group_id", ids["near"]) == near
    assert await rows_by_table(sessions, "guild_id", OTHER_GUILD) == far
    left = await rows_by_table(sessions, "guild_id", GUILD)
    assert left["guild_settings"] == settings["guild_settings"]
    assert left["member_profile"] == settings["member_profile"]  # a member's own settings aren't the group's


@pytest.mark.parametrize("who", ["member", "admin", "stranger"])
async def test_only_a_facilitator_of_the_group_may_ask_to_delete_it(services: Services, sessions: Any,
                                                                    clock: ManualClock, who: str) -> None:
    ids = await seed_all(sessions, clock)
    before = await rows_by_table(sessions, "guild_id", GUILD)
    actor = {"member": fac(user_id=ANA), "admin": fac(user_id=9_999, can_manage_server=True),
             "stranger": fac(user_id=9_999)}[who]
    with pytest.raises((NotAllowed, NotFound)):
        await services.groupdata.ask_delete(actor, group_id=ids["group"])
    with pytest.raises((NotAllowed, NotFound)):
        await services.groupdata.delete(actor, group_id=ids["group"], asked_by=actor.user_id, asked_at=clock.now())
    with pytest.raises((NotAllowed, NotFound)):
        await services.groupdata.export(actor, group_id=ids["group"])
    assert await rows_by_table(sessions, "guild_id", GUILD) == before


async def test_delete_refused_for_someone_else_pressing_or_after_ten_minutes(services: Services, sessions: Any,
                                                                             clock: ManualClock) -> None:
    ids = await seed_all(sessions, clock)
    async with sessions.begin() as s:  # Bob is a facilitator too: still not the one who asked
        member = await s.get(GroupMember, (ids["group"], BOB))
        assert member is not None
        member.is_facilitator = True
    before = await rows_by_table(sessions, "guild_id", GUILD)
    asked = clock.now()
    with pytest.raises(NotAllowed, match="who asked"):
        await services.groupdata.delete(fac(user_id=BOB), group_id=ids["group"], asked_by=FAC, asked_at=asked)
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(InvalidInput, match="expired"):
        await services.groupdata.delete(fac(), group_id=ids["group"], asked_by=FAC, asked_at=asked)
    assert await rows_by_table(sessions, "guild_id", GUILD) == before
    clock.set(asked + timedelta(minutes=10))  # exactly 10 minutes: still in time
    await services.groupdata.delete(fac(), group_id=ids["group"], asked_by=FAC, asked_at=asked)
    assert await rows_by_table(sessions, "group_id", ids["group"]) == {}


async def test_the_guild_removal_row_is_kept_by_the_engine_types(sessions: Any, clock: ManualClock) -> None:
    async with sessions.begin() as s:
        s.add(GuildRemoval(guild_id=GUILD, removed_at=clock.now()))
    async with sessions.begin() as s:
        row = await s.get(GuildRemoval, GUILD)
        assert row is not None and row.removed_at == clock.now()


# --- /group export ---------------------------------------------------------------------------------------


async def seed_shares(sessions: async_sessionmaker[AsyncSession], clock: ManualClock, ids: dict[str, int]) -> None:
    """On top of seed_all: what the group may and may not see of Bob's and Ana's data in Makers."""
    now = clock.now()
    async with sessions.begin() as s:
        shared = Commitment(guild_id=GUILD, group_id=ids["group"], number=3, user_id=BOB, text="bob-shares-note",
                            note="bob-note-shown-puffin", note_shared=True, status="done", due_at=now,
                            created_at=now, updated_at=now)
        change = Kpi(guild_id=GUILD, group_id=ids["group"], user_id=BOB, name="bob-kpi-change", name_key="bob-kpi-change",
                     unit="EUR", visibility=KpiVisibility.CHANGE, first_month=date(2026, 10, 1), created_at=now,
                     updated_at=now)
        full = Kpi(guild_id=GUILD, group_id=ids["group"], user_id=FAC, name="fac-kpi-full", name_key="fac-kpi-full",
                   unit="km", visibility=KpiVisibility.FULL, first_month=date(2026, 10, 1), created_at=now,
                   updated_at=now)
        secret = Brainstorm(guild_id=GUILD, group_id=ids["group"], number=3, owner_id=BOB, issue="anon-issue-mole",
                            anonymous=True, created_at=now)
        s.add_all([shared, change, full, secret,
                   CheckIn(guild_id=GUILD, group_id=ids["group"], cycle_key="c1", module_number=1, module_title="Focus",
                           user_id=BOB, learning="bob-facilitator-only-vole", visibility="facilitator",
                           created_at=now, updated_at=now)])
        await s.flush()
        s.add_all([
            KpiEntry(guild_id=GUILD, kpi_id=change.id, month=date(2026, 10, 1), value=Decimal("1000"), logged_at=now,
                     updated_at=now),
            KpiEntry(guild_id=GUILD, kpi_id=change.id, month=date(2026, 11, 1), value=Decimal("1250"), logged_at=now,
                     updated_at=now),
            KpiEntry(guild_id=GUILD, kpi_id=full.id, month=date(2026, 11, 1), value=Decimal("42"), logged_at=now,
                     updated_at=now),
        ])


async def test_group_export_holds_what_the_group_sees_and_nothing_more(services: Services, sessions: Any,
                                                                       clock: ManualClock) -> None:
    ids = await seed_all(sessions, clock)
    await seed_shares(sessions, clock, ids)
    async with sessions.begin() as s:
        group = await s.get(Group, ids["group"])
        assert group is not None
        group.timezone = "Asia/Tokyo"  # UTC+9, no daylight saving
    export = await services.groupdata.export(fac(), group_id=ids["group"])
    names = {ANA: "Ana", BOB: "Bob", FAC: "Fac"}
    files = {name: data for batch in export.files(names, limit=10 * 1024 * 1024) for name, data in batch}
    assert set(files) == {"group-export.md", "group-export.json"}
    document = json.loads(files["group-export.json"])
    markdown = files["group-export.md"].decode()
    for text_ in (markdown, json.dumps(document)):
        assert ANA_TEXTS[0] in text_ and "bob-shares-note" in text_ and "bob-note-shown-puffin" in text_
        assert ANA_TEXTS[1] not in text_  # a note its member didn't show on the board
        assert ANA_TEXTS[5] not in text_  # a private KPI
        assert "bob-facilitator-only-vole" not in text_  # a check-in for the facilitator only
        assert ANA_TEXTS[3] in text_  # a check-in shared with the group
        assert "near-commitment-yak" not in text_ and "ana-far-commitment-emu" not in text_  # other groups
    kpis = {k["name"]: k for k in document["kpis"]}
    assert set(kpis) == {"bob-kpi-change", "fac-kpi-full"}
    assert [p["value"] for p in kpis["bob-kpi-change"]["points"]] == [None, None]  # change only: no figures
    assert kpis["bob-kpi-change"]["points"][1]["change_pct"] == 25
    assert kpis["fac-kpi-full"]["points"][0]["value"] == "42"
    storms = {b["issue"]: b for b in document["brainstorms"]}
    assert storms["anon-issue-mole"]["owner_id"] is None
    assert {m["user_id"] for m in document["members"]} == {ANA, BOB, FAC}
    assert "#1 Ana: " + ANA_TEXTS[0] in markdown and "Fac (facilitator)" in markdown
    assert "anonymous: anon-issue-mole" in markdown
    # The Markdown reads in the group's zone; the JSON keeps UTC.
    (meeting,) = document["meetings"]
    local = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=9)
    assert f"- {local:%Y-%m-%d %H:%M}: scheduled" in markdown and "(times in Asia/Tokyo)" in markdown


async def test_a_large_group_export_is_split_within_the_limit(services: Services, sessions: Any,
                                                             clock: ManualClock) -> None:
    ids = await seed_all(sessions, clock)
    await seed_shares(sessions, clock, ids)
    export = await services.groupdata.export(fac(), group_id=ids["group"])
    batches = export.files({}, limit=700)
    assert len(batches) > 1
    names = [name for batch in batches for name, _ in batch]
    assert len(names) == len(set(names)) and any(n.startswith("group-export-") and n.endswith(".md") for n in names)
    for batch in batches:
        assert len(batch) <= 10 and (sum(len(data) for _, data in batch) <= 700 or len(batch) == 1)
    parts = [json.loads(data) for batch in batches for name, data in batch if name.endswith(".json")]
    assert ANA_TEXTS[0] in json.dumps(parts)
    markdown = b"".join(data for batch in batches for name, data in batch if name.endswith(".md")).decode()
    assert ANA_TEXTS[0] in markdown and "a former member" in markdown  # no names given: nobody is named
