"""The scheduler end to end: the real App against the Discord simulator, driven by the harness clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.models import DMChannel, Group, GroupMember, Meeting, OutboxRow
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.sim import Channel, Guild, Member, Sim


@pytest.fixture
def extensions() -> Sequence[str]:
    return ["tests.e2e.outbox_renderers", "tests.e2e.probe_cog"]


async def make_group(app: App, guild: Guild, channel: Channel, members: Sequence[Member], starts_in: timedelta) -> tuple[int, int]:
    now = app.clock.now()
    async with app.sessions.begin() as session:
        group = Group(
            guild_id=guild.id, channel_id=channel.id, name="Founders", name_key="founders",
            timezone="Europe/London", created_by=members[0].user.id, created_at=now,
        )
        session.add(group)
        await session.flush()
        for index, member in enumerate(members):
            session.add(
                GroupMember(group_id=group.id, user_id=member.user.id, guild_id=guild.id,
                            is_facilitator=index == 0, joined_at=now + timedelta(seconds=index))
            )
        meeting = Meeting(guild_id=guild.id, group_id=group.id, starts_at=now + starts_in, created_at=now)
        session.add(meeting)
        await session.flush()
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
        f"meeting_reminder {occ}:24h",
        f"reportback_board {occ}",
        f"checkin_digest {occ}",
    ]
    rows = await outbox_rows(app, group_id)
    sent = {k: r for k, r in rows.items() if r.status == "sent"}
    assert len(sent) == 9 and all(r.message_id for r in sent.values())
    # One DM channel opened per member, stored: the second DM cost one request.
    dm_opens = [r for r in sim.requests if "/users/@me/channels" in str(r)]
    assert len(dm_opens) == 2


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
    assert contents(sim.messages(channel)) == [f"module_prompt {occ}", f"reportback_board {occ}", f"checkin_digest {occ}"]
    assert sim.dms(alice) == []
    rows = await outbox_rows(app, group_id)
    stale = [r for r in rows.values() if r.status == "expired"]
    assert {r.kind for r in stale} == {"meeting_reminder", "checkin_nudge", "reportback_dm"}
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
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    group_id, _ = await make_group(app, guild, channel, [alice, bob], timedelta(days=10))
    sim.delete_channel(channel)
    await sim.settle()
    await step(sim, app, clock, timedelta(0))
    async with app.sessions.begin() as session:
        group = await session.get(Group, group_id)
        assert group.channel_broken_at is not None and "deleted" in group.channel_broken_reason
    rows = await outbox_rows(app, group_id)
    assert {r.status for r in rows.values()} == {"cancelled"}
    assert len(sim.dms(alice)) == 1 and "no longer post" in sim.dms(alice)[0].content
    assert sim.dms(bob) == []


async def test_crash_between_send_and_mark_does_not_post_twice(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = sim.member(guild, "Alice")
    group_id, meeting_id = await make_group(app, guild, channel, [alice], timedelta(days=30))

    async def crash(*_args, **_kwargs) -> None:
        raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(app.services.outbox, "mark_sent", crash)
        await step(sim, app, clock, timedelta(0))
    assert len(sim.messages(channel)) == 1
    row = (await outbox_rows(app, group_id))[("module_prompt", f"meeting:{meeting_id}", 0)]
    assert row.status == "pending"  # not marked: it will be tried again
    await step(sim, app, clock, timedelta(seconds=90))
    assert len(sim.messages(channel)) == 1  # the nonce returned the first message
    row = (await outbox_rows(app, group_id))[("module_prompt", f"meeting:{meeting_id}", 0)]
    assert row.status == "sent" and row.message_id == sim.messages(channel)[0].id


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
    assert embed["footer"]["text"].startswith("Page 1/1")

    problems = await sim.command(alice, channel, "admin outbox", show="problems")
    assert "no renderer" in problems.embeds[0]["description"]

    refused = await sim.command(bob, channel, "admin outbox")
    assert "Only a facilitator" in refused.content
