"""The scheduler end to end: the real App against the Discord simulator, driven by the harness clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from discord.utils import snowflake_time
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.models import DMChannel, Group, Meeting, OutboxRow
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.seeding import insert_group, insert_meeting
from tests.sim import Channel, Guild, Member, Sim


@pytest.fixture
def extensions() -> Sequence[str]:
    return ["tests.e2e.outbox_renderers", "tests.e2e.probe_cog"]


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """The scheduler's end-to-end tests run on SQLite and on PostgreSQL."""
    return backend


async def make_group(
    app: App, guild: Guild, channel: Channel, members: Sequence[Member], starts_in: timedelta, *, name: str = "Founders"
) -> tuple[int, int]:
    now = app.clock.now()
    async with app.sessions.begin() as session:
        group = await insert_group(
            session, guild_id=guild.id, channel_id=channel.id, name=name, members=[m.user.id for m in members],
            facilitators={members[0].user.id}, timezone="Europe/London", created_at=now,
        )
        meeting = await insert_meeting(
            session, guild_id=guild.id, group_id=group.id, starts_at=now + starts_in, created_at=now
        )
        await plan_group(session, group.id, now)
        return group.id, meeting.id


async def outbox_rows(app: App, group_id: int) -> dict[tuple[str, str, int], OutboxRow]:
    async with app.sessions.begin() as session:
        found = await session.scalars(select(OutboxRow).where(OutboxRow.group_id == group_id))
        return {(r.kind, r.occurrence, r.recipient_id): r for r in found}


def contents(messages) -> list[str]:
    return [m.content for m in messages]


async def step(sim: Sim, app: App, clock: ManualClock, delta: timedelta) -> None:
    clock.advance(delta)
    await app.run_due()
    await app.run_due()  # a second run finds nothing more to send
    await sim.settle()


async def test_a_month_arrives_once_each_at_its_time(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App, clock: ManualClock
) -> None:
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    group_id, meeting_id = await make_group(app, guild, channel, [alice, bob], timedelta(days=10))
    occ = f"meeting:{meeting_id}"

    await step(sim, app, clock, timedelta(0))
    assert contents(sim.messages(channel)) == [f"module_prompt {occ}"]

    await step(sim, app, clock, timedelta(days=3) - timedelta(minutes=1))
    assert len(sim.messages(channel)) == 1  # one minute early: nothing
    await step(sim, app, clock, timedelta(minutes=1))
    assert contents(sim.messages(channel))[1:] == [f"meeting_reminder {occ}:168h"]

    await step(sim, app, clock, timedelta(days=4))  # T - 72 h: the check-in nudges by DM
    assert contents(sim.dms(alice)) == [f"checkin_nudge {occ}"]
    assert contents(sim.dms(bob)) == [f"checkin_nudge {occ}"]
    await step(sim, app, clock, timedelta(days=1))  # T - 48 h
    assert contents(sim.dms(bob)) == [f"checkin_nudge {occ}", f"reportback_dm {occ}"]

    await harness.restart()  # a restart loses nothing and repeats nothing
    app = harness.app
    assert app is not None
    await step(sim, app, clock, timedelta(days=1))  # T - 24 h
    await step(sim, app, clock, timedelta(days=1))  # T
    assert contents(sim.messages(channel)) == [
        f"module_prompt {occ}",
        f"meeting_reminder {occ}:168h",
        f"meeting_pack {occ}",  # the pack replaces the 1-day reminder
        f"attendance_prompt {occ}",
        f"reportback_board {occ}",
        f"checkin_digest {occ}",
    ]
    await step(sim, app, clock, timedelta(hours=3) - timedelta(minutes=1))
    assert len(sim.messages(channel)) == 6
    await step(sim, app, clock, timedelta(minutes=1))  # T + 3 h: the meeting ends, commitments are asked for
    assert contents(sim.messages(channel))[6:] == [f"post_meeting {occ}"]
    await step(sim, app, clock, timedelta(minutes=30))  # half an hour after the end: the DMs after the meeting
    await step(sim, app, clock, timedelta(days=30))
    # Neither answered the RSVP nor had attendance taken: each may have come, and gets the feedback question.
    # (the next cycle's module prompt, a minute after the end, now goes out too: the clock stops on the way)
    assert contents(sim.messages(channel))[6:] == [f"post_meeting {occ}", f"module_prompt after:{occ}"]
    assert len(sim.dms(alice)) == len(sim.dms(bob)) == 3
    assert contents(sim.dms(bob))[2:] == [f"feedback_dm {occ}"]
    rows = await outbox_rows(app, group_id)
    sent = {k: r for k, r in rows.items() if r.status == "sent"}
    assert len(sent) == 14 and all(r.message_id for r in sent.values())
    # One DM channel opened per member, stored: the second DM cost one request.
    dm_opens = [r for r in sim.requests if "/users/@me/channels" in str(r)]
    assert len(dm_opens) == 2


async def test_at_a_real_round_trip_rows_go_out_together_once_each_and_a_channel_in_order(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    """Discord answers in 300 ms: the dispatcher does not wait for one answer before the next
    request (several in flight), yet every member gets each DM once and the group channel's posts
    arrive in their order, one at a time."""
    members = [sim.member(guild, f"Member {n}") for n in range(6)]
    _group_id, meeting_id = await make_group(app, guild, channel, members, timedelta(days=10))
    occ = f"meeting:{meeting_id}"
    await step(sim, app, clock, timedelta(0))
    sim.set_latency(0.300)
    await step(sim, app, clock, timedelta(days=7))  # T - 72 h: six check-in nudges at once
    for _ in range(3):  # T - 48 h: the report-back DMs; T: the pack, the prompt, the board and the digest
        await step(sim, app, clock, timedelta(days=1))
    assert sim.server.most_in_flight > 1
    for member in members:
        assert contents(sim.dms(member)) == [f"checkin_nudge {occ}", f"reportback_dm {occ}"]
    assert contents(sim.messages(channel)) == [
        f"module_prompt {occ}",
        f"meeting_reminder {occ}:168h",
        f"meeting_pack {occ}",
        f"attendance_prompt {occ}",
        f"reportback_board {occ}",
        f"checkin_digest {occ}",
    ]
    posts = [r for r in sim.requests if r.method == "POST" and r.path == f"/channels/{channel.id}/messages"]
    assert len(posts) == 6  # each once: no resend


async def test_outage_across_a_meeting_expires_the_stale_and_sends_the_useful(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App, clock: ManualClock
) -> None:
    alice = sim.member(guild, "Alice")
    group_id, meeting_id = await make_group(app, guild, channel, [alice], timedelta(days=10))
    await step(sim, app, clock, timedelta(0))
    await harness.stop()
    clock.advance(days=10, hours=1)  # down from T-10d to T+1h
    app = await harness.start()
    await step(sim, app, clock, timedelta(0))
    occ = f"meeting:{meeting_id}"
    assert contents(sim.messages(channel)) == [f"module_prompt {occ}", f"attendance_prompt {occ}",
                                               f"reportback_board {occ}", f"checkin_digest {occ}"]
    assert sim.dms(alice) == []
    rows = await outbox_rows(app, group_id)
    stale = [r for r in rows.values() if r.status == "expired"]
    assert {r.kind for r in stale} == {"meeting_reminder", "meeting_pack", "checkin_nudge", "reportback_dm",
                                       "reportback_nudge"}
    assert all("already started" in r.reason for r in stale)


async def test_closed_dms_fall_back_to_the_channel_until_the_member_is_back(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    sim.close_dms(bob)
    group_id, meeting_id = await make_group(app, guild, channel, [alice, bob], timedelta(hours=60))
    await step(sim, app, clock, timedelta(0))  # T - 60 h: nudges due now
    occ = f"meeting:{meeting_id}"
    assert contents(sim.dms(alice)) == [f"checkin_nudge {occ}"]
    assert f"<@{bob.user.id}> (DMs closed) checkin_nudge {occ}" in contents(sim.messages(channel))
    rows = await outbox_rows(app, group_id)
    assert rows[("checkin_nudge", occ, bob.user.id)].status == "sent"
    async with app.sessions.begin() as session:
        assert (await session.get(DMChannel, bob.user.id)).dms_closed_at is not None

    # Known closed: the report-back DM goes straight to the channel, no DM attempt.
    await step(sim, app, clock, timedelta(hours=12))
    assert f"<@{bob.user.id}> (DMs closed) reportback_dm {occ}" in contents(sim.messages(channel))

    sim.open_dms(bob)
    await sim.command(bob, channel, "probe echo", text="back")
    async with app.sessions.begin() as session:
        assert (await session.get(DMChannel, bob.user.id)).dms_closed_at is None


async def test_deleted_channel_stops_the_group_and_tells_facilitators(
    sim: Sim, guild: Guild, app: App, clock: ManualClock
) -> None:
    channel = sim.channel(guild, "founders")
    alice, bob, cara = sim.member(guild, "Alice"), sim.member(guild, "Bob"), sim.member(guild, "Cara")
    group_id, _ = await make_group(app, guild, channel, [alice, bob, cara], timedelta(days=10))
    sim.delete_channel(channel)
    await sim.settle()
    await step(sim, app, clock, timedelta(0))
    async with app.sessions.begin() as session:
        group = await session.get(Group, group_id)
        assert group.channel_broken_at is not None and "deleted" in group.channel_broken_reason
    rows = await outbox_rows(app, group_id)
    assert {r.status for r in rows.values()} == {"cancelled"}
    assert len(sim.dms(alice)) == 1 and "no longer post" in sim.dms(alice)[0].content
    assert sim.dms(bob) == [] and sim.dms(cara) == []  # members who aren't facilitators aren't told


async def test_a_pairs_deleted_channel_is_told_to_both_members(
    sim: Sim, guild: Guild, app: App, clock: ManualClock
) -> None:
    channel = sim.channel(guild, "buddies")
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    await make_group(app, guild, channel, [alice, bob], timedelta(days=10))  # Alice facilitates; a pair runs itself
    sim.delete_channel(channel)
    await sim.settle()
    await step(sim, app, clock, timedelta(0))
    for member in (alice, bob):
        assert len(sim.dms(member)) == 1 and "no longer post" in sim.dms(member)[0].content


async def test_crash_between_send_and_mark_does_not_post_twice(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = sim.member(guild, "Alice")
    group_id, meeting_id = await make_group(app, guild, channel, [alice], timedelta(days=30))

    async def crash(*_args, **_kwargs) -> None:
        raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(app.services.outbox, "mark_sent_many", crash)
        await step(sim, app, clock, timedelta(0))
    assert len(sim.messages(channel)) == 1
    row = (await outbox_rows(app, group_id))[("module_prompt", f"meeting:{meeting_id}", 0)]
    assert row.status == "pending"  # not marked: it will be tried again
    app = await harness.restart()  # the process is gone; a new one finds the row once its lease ends
    await step(sim, app, clock, timedelta(seconds=90))
    assert len(sim.messages(channel)) == 1  # the nonce returned the first message
    row = (await outbox_rows(app, group_id))[("module_prompt", f"meeting:{meeting_id}", 0)]
    assert row.status == "sent" and row.message_id == sim.messages(channel)[0].id


async def test_a_moved_meeting_re_times_its_rows_and_an_archived_group_cancels_them(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    group_id, meeting_id = await make_group(app, guild, channel, [alice, bob], timedelta(days=10))  # Thu 3 Dec 10:00
    day_before = ("meeting_pack", f"meeting:{meeting_id}", 0)
    await step(sim, app, clock, timedelta(0))

    [choice] = await sim.autocomplete(alice, channel, "meeting move", option="meeting", value="")
    await sim.command(alice, channel, "meeting move", meeting=choice["value"], when="2026-12-10 10:00")
    assert (await outbox_rows(app, group_id))[day_before].due_at == datetime(2026, 12, 9, 10, tzinfo=UTC)
    await step(sim, app, clock, datetime(2026, 12, 2, 10, 1, tzinfo=UTC) - clock.now())  # the old day before
    assert f"meeting_pack meeting:{meeting_id}" not in contents(sim.messages(channel))

    archived = await sim.command(alice, channel, "group archive")
    assert "archived" in archived.content
    rows = await outbox_rows(app, group_id)
    assert rows[day_before].status == "cancelled" and "archived" in rows[day_before].reason
    assert not [row for row in rows.values() if row.status == "pending"]
    seen = len(sim.messages(channel))
    await step(sim, app, clock, timedelta(days=10))
    assert len(sim.messages(channel)) == seen and sim.dms(bob) == []


async def test_a_kind_without_renderer_fails_visibly(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    alice = sim.member(guild, "Alice")
    group_id, _ = await make_group(app, guild, channel, [alice], timedelta(days=30))
    app.bot.notifications.unregister("module_prompt")
    await step(sim, app, clock, timedelta(0))
    row = next(r for r in (await outbox_rows(app, group_id)).values() if r.kind == "module_prompt")
    assert (row.status, row.reason) == ("failed", "no renderer")
    assert sim.messages(channel) == []


async def test_admin_outbox_lists_upcoming_and_problems_for_facilitators(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    await make_group(app, guild, channel, [alice, bob], timedelta(days=10))
    app.bot.notifications.unregister("module_prompt")
    await step(sim, app, clock, timedelta(0))

    reply = await sim.command(alice, channel, "admin outbox")
    assert reply.ephemeral
    embed = reply.embeds[0]
    assert "Upcoming" in embed["title"] and "Meeting reminder" in embed["description"]
    assert embed["footer"]["text"].startswith("Page 1/2")  # 12 rows, 10 a page

    problems = await sim.command(alice, channel, "admin outbox", show="problems")
    assert "no renderer" in problems.embeds[0]["description"]

    await sim.command(sim.member(guild, "Cy"), channel, "group join", group="Founders")  # three: not a pair
    refused = await sim.command(bob, channel, "admin outbox")
    assert "Only a facilitator" in refused.content


async def test_two_processes_on_one_database_send_each_row_once(
    sim: Sim, guild: Guild, harness: Harness, app: App, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two App instances (two engines, Discord clients and schedulers) on one database and one Discord."""
    monkeypatch.setattr("bot.dispatch.CLAIM_BATCH", 4)  # small claims, so the processes take turns
    other = await harness.start_another()
    sent_by: dict[str, int] = {"first": 0, "second": 0}

    def counting(name: str, mark_sent: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def mark(marks: Sequence[Any]) -> None:  # the dispatcher marks sent rows in batches
            await mark_sent(marks)
            sent_by[name] += len(marks)

        return mark

    monkeypatch.setattr(app.services.outbox, "mark_sent_many", counting("first", app.services.outbox.mark_sent_many))
    monkeypatch.setattr(other.services.outbox, "mark_sent_many",
                        counting("second", other.services.outbox.mark_sent_many))

    channels, members, group_ids = [], [], []
    for n in range(3):
        group_channel = sim.channel(guild, f"group-{n}")
        group_members = [sim.member(guild, f"Member {n}.{i}") for i in range(4)]
        group_id, _ = await make_group(app, guild, group_channel, group_members, timedelta(days=10), name=f"Group {n}")
        channels.append(group_channel)
        members += group_members
        group_ids.append(group_id)
    await asyncio.gather(app.run_due(), other.run_due())  # each group's module prompt
    clock.advance(days=10, minutes=-1)  # every reminder, nudge and report-back DM is due, none stale
    await asyncio.gather(app.run_due(), other.run_due(), app.run_due(), other.run_due())
    await sim.settle()

    rows = [row for group_id in group_ids for row in (await outbox_rows(app, group_id)).values()]
    sent = [row for row in rows if row.status == "sent"]
    # per group: prompt, the meeting pack (the 7-day reminder due beside it is expired, superseded),
    # a check-in nudge, a report-back DM and a meeting-day nudge each
    assert len(sent) == 3 * (1 + 1 + 4 + 4 + 4)
    assert "meeting_pack" in {row.kind for row in sent}
    assert [row.status for row in rows if row.kind == "meeting_reminder"] == ["expired"] * 3
    assert not [row for row in rows if row.status == "pending" and row.due_at <= clock.now()]
    delivered = [m for c in channels for m in sim.messages(c)] + [m for member in members for m in sim.dms(member)]
    assert sorted(m.id for m in delivered) == sorted(row.message_id for row in sent)  # each row once, nothing else
    assert sent_by["first"] > 0 and sent_by["second"] > 0
    assert sent_by["first"] + sent_by["second"] == len(sent)


THIRD_THURSDAYS = [(2026, 12, 17), (2027, 1, 21), (2027, 2, 18), (2027, 3, 18), (2027, 4, 15)]


@pytest.mark.parametrize(
    ("zone", "utc_hours"),
    [
        # 18:00 in London is 18:00 UTC until 28 Mar 2027 (GMT → BST), then 17:00 …
        pytest.param("Europe/London", [18, 18, 18, 18, 17], id="north"),
        # … and 18:00 in Sydney is 07:00 UTC until 4 Apr 2027 (AEDT → AEST), then 08:00.
        pytest.param("Australia/Sydney", [7, 7, 7, 7, 8], id="south"),
    ],
)
async def test_a_series_keeps_its_local_time_across_daylight_saving(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock, zone: str, utc_hours: list[int]
) -> None:
    """Five monthly meetings, each ended by the scheduler (which tops the series up), each reminded
    at 18:00 local the day before, on both sides of the change."""
    admin = sim.member(guild, "Admin", manage_guild=True)
    await sim.command(admin, channel, "group create", name="Makers", timezone=zone)
    series = await sim.command(admin, channel, "meeting recurring", rule="third thursday", time="18:00")
    assert "third Thursday of each month at 18:00" in series.content

    for (year, month, day), hour in zip(THIRD_THURSDAYS, utc_hours, strict=True):
        starts_at = datetime(year, month, day, hour, tzinfo=UTC)
        async with app.sessions.begin() as session:
            meeting = await session.scalar(select(Meeting).where(Meeting.starts_at == starts_at))
        assert meeting is not None, f"no meeting at {starts_at} (18:00 in {zone})"
        reminder = f"meeting_pack meeting:{meeting.id}"
        day_before = starts_at - timedelta(days=1)
        await sim.advance(day_before - timedelta(minutes=1) - clock.now())
        assert reminder not in contents(sim.messages(channel))
        await sim.advance(minutes=1)
        [sent] = [m for m in sim.messages(channel) if m.content == reminder]
        assert snowflake_time(sent.id) == day_before  # on the simulator's clock
        await sim.advance(starts_at + timedelta(hours=3, minutes=1) - clock.now())  # the scheduler ends it
        async with app.sessions.begin() as session:
            assert (await session.get(Meeting, meeting.id)).status == "ended"
