"""Cycle edges (issue 18): the next module's prompt right after every meeting, one post-meeting
prompt after an outage over several meetings, one reminder when two of a meeting fall due together."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.errors import NotFound
from bot.models import Group, Meeting
from bot.services import Services
from bot.services.base import Actor
from tests.unit.seeding import CHANNEL as SEED_CHANNEL
from tests.unit.seeding import GUILD as SEED_GUILD
from tests.unit.seeding import make_group as seed_group
from tests.unit.test_outbox import ALICE, BOB, CHANNEL, GUILD, add_meeting, by_key, make_group, rows


def facilitator() -> Actor:
    return Actor(guild_id=GUILD, user_id=ALICE, channel_id=CHANNEL)


async def send_due(services: Services) -> list[str]:
    """What a dispatcher would do with the due rows: run each kind's close-out, then send or expire."""
    kinds: list[str] = []
    while True:
        result = await services.outbox.claim_due()
        if not result.claimed:
            if result.expired or result.cancelled:
                continue
            return kinds
        for row in result.claimed:
            kind = services.outbox.features.kind(row.kind)
            if kind is not None and kind.before_render is not None:
                await kind.before_render(services, row)
            if row.expire_reason is not None:
                await services.outbox.mark_expired(row.id, row.expire_reason)
                continue
            await services.outbox.mark_sent(row.id, message_id=row.id, channel_id=CHANNEL)
            kinds.append(f"{row.kind} {row.occurrence}")


async def test_module_prompt_follows_an_early_end_with_no_next_meeting(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=3)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    await send_due(services)  # the first cycle's prompt
    clock.set(t + timedelta(hours=2))
    await services.groups.end_meeting(meeting_id=None, actor=facilitator(), group_id=group_id)
    found = by_key(await rows(sessions, group_id))
    after = found[("module_prompt", f"after:meeting:{meeting_id}", 0)]
    assert after.due_at == clock.now() + timedelta(minutes=1) and after.meeting_id is None  # not T + 3 h 1 min
    clock.advance(minutes=1)
    assert await send_due(services) == [f"post_meeting meeting:{meeting_id}", f"module_prompt after:meeting:{meeting_id}"]

    # The next meeting planned afterwards gets no second prompt for the same cycle.
    second = await add_meeting(sessions, group_id, t + timedelta(days=28), clock.now())
    found = by_key(await rows(sessions, group_id))
    assert ("module_prompt", f"meeting:{second}", 0) not in found
    assert found[("module_prompt", f"after:meeting:{meeting_id}", 0)].status == "sent"
    clock.advance(days=1)
    assert "module_prompt" not in " ".join(await send_due(services))


async def test_module_prompt_tied_to_the_next_meeting_follows_the_actual_end(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=3)
    first = await add_meeting(sessions, group_id, t, now)
    second = await add_meeting(sessions, group_id, t + timedelta(days=28), now)
    await send_due(services)
    clock.set(t + timedelta(hours=2))
    await services.groups.end_meeting(meeting_id=None, actor=facilitator(), group_id=group_id)
    prompt = by_key(await rows(sessions, group_id))[("module_prompt", f"meeting:{second}", 0)]
    assert prompt.due_at == t + timedelta(hours=2, minutes=1)
    clock.advance(minutes=1)
    assert await send_due(services) == [f"post_meeting meeting:{first}", f"module_prompt meeting:{second}"]


async def test_a_pending_prompt_after_a_meeting_moves_to_the_next_meeting_when_planned(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=3)
    first = await add_meeting(sessions, group_id, t, now)
    await send_due(services)
    clock.set(t + timedelta(hours=1))
    await services.groups.end_meeting(meeting_id=first, actor=facilitator())
    second = await add_meeting(sessions, group_id, t + timedelta(days=28), clock.now())
    found = by_key(await rows(sessions, group_id))
    prompt = found[("module_prompt", f"after:meeting:{first}", 0)]
    assert (prompt.status, prompt.meeting_id) == ("pending", second)
    assert ("module_prompt", f"meeting:{second}", 0) not in found
    clock.advance(minutes=1)
    sent = await send_due(services)
    assert sent.count(f"module_prompt after:meeting:{first}") == 1 and len([k for k in sent if "module_prompt" in k]) == 1


async def test_outage_over_two_meetings_sends_only_the_latest_post_meeting_prompt(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t1 = now + timedelta(days=3)
    m1 = await add_meeting(sessions, group_id, t1, now)
    m2 = await add_meeting(sessions, group_id, t1 + timedelta(days=7), now)
    m3 = await add_meeting(sessions, group_id, t1 + timedelta(days=35), now)
    await send_due(services)
    clock.set(t1 + timedelta(days=7, hours=4))  # down from before the first until after the second
    sent = await send_due(services)
    assert [k for k in sent if k.startswith("post_meeting")] == [f"post_meeting meeting:{m2}"]
    assert f"module_prompt meeting:{m3}" in sent
    found = by_key(await rows(sessions, group_id))
    older = found[("post_meeting", f"meeting:{m1}", 0)]
    assert older.status == "expired" and older.reason.startswith("superseded")
    async with sessions.begin() as session:
        assert (await session.get(Meeting, m1)).status == "ended"  # its close-out still ran
        assert (await session.get(Meeting, m2)).status == "ended"
    assert found[("module_prompt", f"meeting:{m2}", 0)].status == "expired"


async def test_an_overdue_reminder_beside_a_later_one_of_the_meeting_is_expired(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    async with sessions.begin() as session:  # the 1-day reminder, not the meeting pack that replaces it
        (await session.get(Group, group_id)).pack_lead_hours = 0
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    await send_due(services)
    clock.set(t - timedelta(hours=12))  # down for a week: the 7-day and the 1-day reminders are both due
    sent = await send_due(services)
    assert [k for k in sent if k.startswith("meeting_reminder")] == [f"meeting_reminder meeting:{meeting_id}:24h"]
    week = by_key(await rows(sessions, group_id))[("meeting_reminder", f"meeting:{meeting_id}:168h", 0)]
    assert week.status == "expired" and "superseded" in week.reason


async def test_an_overdue_reminder_beside_the_due_meeting_pack_is_expired(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)  # the pack replaces the 1-day reminder
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    await send_due(services)
    clock.set(t - timedelta(hours=12))  # down for a week: the 7-day reminder and the pack are both due
    sent = await send_due(services)
    assert [k for k in sent if k.startswith("meeting_")] == [f"meeting_pack meeting:{meeting_id}"]
    found = by_key(await rows(sessions, group_id))
    week = found[("meeting_reminder", f"meeting:{meeting_id}:168h", 0)]
    assert (week.status, week.reason) == ("expired", "superseded: a later meeting pack of the same meeting was due too")
    assert found[("meeting_pack", f"meeting:{meeting_id}", 0)].status == "sent"


async def test_only_the_latest_reminder_goes_after_an_outage_the_pack_too_gives_way(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    async with sessions.begin() as session:  # a 2-hour reminder besides the week's and the pack
        (await session.get(Group, group_id)).meeting_reminder_hours = [168, 24, 2]
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    await send_due(services)
    clock.set(t - timedelta(hours=1))  # down for nine days: all three are due
    sent = await send_due(services)
    assert [k for k in sent if k.startswith("meeting_")] == [f"meeting_reminder meeting:{meeting_id}:2h"]
    found = by_key(await rows(sessions, group_id))
    pack = found[("meeting_pack", f"meeting:{meeting_id}", 0)]
    assert (pack.status, pack.reason) == ("expired", "superseded: a later meeting reminder of the same meeting was due too")
    week = found[("meeting_reminder", f"meeting:{meeting_id}:168h", 0)]
    assert week.status == "expired" and week.reason.startswith("superseded: a later meeting ")


async def test_a_due_reminder_is_sent_when_the_pack_is_not_due_yet(
    services: Services, sessions, clock: ManualClock
) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    await send_due(services)
    clock.set(t - timedelta(days=6))  # down for a few days: only the 7-day reminder is due
    assert [k for k in await send_due(services) if k.startswith("meeting_")] == [
        f"meeting_reminder meeting:{meeting_id}:168h"
    ]
    clock.set(t - timedelta(hours=23))
    assert [k for k in await send_due(services) if k.startswith("meeting_")] == [f"meeting_pack meeting:{meeting_id}"]


# --- brainstorms by their number in the group ---------------------------------------------------------

GROUP_B_CHANNEL = SEED_CHANNEL + 1


async def test_brainstorms_are_numbered_per_group_and_found_by_number(
    services: Services, sessions, clock: ManualClock
) -> None:
    a = await seed_group(sessions, clock, name="Makers", channel_id=SEED_CHANNEL, members=[ALICE, BOB])
    b = await seed_group(sessions, clock, name="Founders", channel_id=GROUP_B_CHANNEL, members=[ALICE])
    in_a = Actor(guild_id=SEED_GUILD, user_id=ALICE, channel_id=SEED_CHANNEL)
    in_b = Actor(guild_id=SEED_GUILD, user_id=ALICE, channel_id=GROUP_B_CHANNEL)
    first_a = await services.brainstorms.open(in_a, issue="Cash flow")
    first_b = await services.brainstorms.open(in_b, issue="Hiring")
    second_a = await services.brainstorms.open(in_a, issue="Pricing")
    assert (first_a.group_id, first_a.number) == (a, 1)
    assert (first_b.group_id, first_b.number) == (b, 1)
    assert second_a.number == 2

    assert await services.brainstorms.id_of_number(in_a, 1) == first_a.id
    assert await services.brainstorms.id_of_number(in_b, 1) == first_b.id
    assert await services.brainstorms.id_of_number(Actor(guild_id=SEED_GUILD, user_id=BOB, channel_id=None), 2) == second_a.id
    try:
        await services.brainstorms.id_of_number(in_b, 2)
    except NotFound as refused:
        assert "**Founders** has no brainstorm #2" in str(refused)
    else:
        raise AssertionError("brainstorm #2 of Founders should not exist")
    choices = await services.brainstorms.choices(in_a, "")
    assert sorted(c.name for c in choices) == []  # no thread yet: not listed


async def test_migration_numbers_existing_brainstorms_per_group(backend: str, _templates: object, tmp_path) -> None:
    from sqlalchemy import text

    from bot import migrate
    from bot.db import create_engine
    from tests.unit.test_migrations import _empty_url

    engine = create_engine(await _empty_url(backend, _templates, tmp_path))
    try:
        assert await migrate.upgrade(engine, "0020") is True
        async with engine.begin() as connection:
            for group_id, name in ((1, "Makers"), (2, "Founders")):
                await connection.execute(
                    text(
                        "INSERT INTO peer_group (id, guild_id, channel_id, name, name_key, timezone, max_members,"
                        " announce_commitments, meeting_reminder_hours, reportback_lead_hours,"
                        " checkin_nudge_lead_hours, current_module_number, created_by, created_at)"
                        " VALUES (:id, 1, :channel, :name, :key, 'UTC', 12, false, '[24]', 48, 72, 1, 1,"
                        " '2026-01-01 00:00:00')"
                    ),
                    {"id": group_id, "channel": 100 + group_id, "name": name, "key": name.lower()},
                )
            for brainstorm_id, group_id, day in ((10, 1, 3), (11, 2, 1), (12, 1, 2)):
                await connection.execute(
                    text(
                        "INSERT INTO brainstorm (id, guild_id, group_id, owner_id, issue, anonymous, status, created_at)"
                        f" VALUES (:id, 1, :group, 1, 'x', false, 'open', '2026-01-0{day} 00:00:00')"
                    ),
                    {"id": brainstorm_id, "group": group_id},
                )
        assert await migrate.upgrade(engine) is True
        async with engine.begin() as connection:
            numbers = dict((await connection.execute(text("SELECT id, number FROM brainstorm"))).all())
        assert numbers == {12: 1, 10: 2, 11: 1}  # per group, by when tabled
    finally:
        await engine.dispose()
