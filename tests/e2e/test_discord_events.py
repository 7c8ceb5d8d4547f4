"""Discord's own Events end to end: where Roundtable has Manage Events, a group's next meetings are in
the server's Events list (moved and removed with the meeting); Interested counts as Going for a member
who hasn't answered; without the permission nothing is created and /group settings says how. A group
with an event channel has its online meetings' (and placeless meetings') events in that voice or
stage channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Meeting, OutboxRow
from bot.services.discord_events import EventsService
from bot.services.events_feature import DISCORD_EVENTS
from bot.services.outbox import plan_group
from cogs.events import EventsCog
from tests.e2e.conftest import Harness
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim, UsageError
from tests.sim.state import Member, Message


@pytest.fixture
def e2e_backend(backend: str) -> str:
    return backend  # SQLite, and PostgreSQL when TEST_DATABASE_URL is set


def _fields(message: Message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


def _start(event_time: str) -> datetime:
    return datetime.fromisoformat(event_time).astimezone(UTC)


async def _group(sim: Sim, guild: Guild, channel: Channel) -> tuple[Member, Member, Member]:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await create(sim, admin, channel, "Makers")
    for member in (ana, bob):  # three in all: a pair would need no facilitator
        await run(sim, member, channel, "group join", group="Makers")
    return admin, ana, bob


async def _move(sim: Sim, admin: Member, channel: Channel, when: str) -> None:
    [choice] = await sim.autocomplete(admin, channel, "meeting move", option="meeting", value="")
    await run(sim, admin, channel, "meeting move", meeting=choice["value"], when=when)


async def test_a_meeting_is_listed_moved_and_removed_in_the_servers_events(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)

    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub", address="1 High St")
    [event] = sim.scheduled_events(guild)
    assert event.name == "Makers: group meeting"
    assert event.location == "The Hub, 1 High St"
    assert event.entity_type == 3 and event.privacy_level == 2
    assert _start(event.scheduled_start_time) == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert _start(event.scheduled_end_time or "") == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)

    await _move(sim, admin, channel, "2026-12-02 19:00")
    [moved] = sim.scheduled_events(guild)
    assert moved.id == event.id  # the same event, moved
    assert _start(moved.scheduled_start_time) == datetime(2026, 12, 2, 19, 0, tzinfo=UTC)

    await run(sim, admin, channel, "meeting place", link="https://meet.example/makers")
    [online] = sim.scheduled_events(guild)
    assert online.id == event.id and online.location == "Online: the link is in the group's channel"

    await harness.restart()  # nothing is created twice after a restart
    await run(sim, admin, channel, "meeting schedule", when="2026-12-09 18:00")
    await harness.restart()
    assert len(sim.scheduled_events(guild)) == 2
    creates = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/scheduled-events")]
    assert len(creates) == 2

    await run(sim, admin, channel, "meeting cancel")  # the next one: 2 December
    [left] = sim.scheduled_events(guild)
    assert _start(left.scheduled_start_time) == datetime(2026, 12, 9, 18, 0, tzinfo=UTC)

    off = await run(sim, admin, channel, "group settings", discord_events=False)
    assert "Discord Events: off" in off.content
    assert sim.scheduled_events(guild) == []


async def test_interested_counts_as_going_for_a_member_who_has_not_answered(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, ana, bob = await _group(sim, guild, channel)
    outsider = sim.member(guild, "Outsider")
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub")
    [event] = sim.scheduled_events(guild)

    nxt = await run(sim, bob, channel, "meeting next")
    await sim.click(bob, nxt, label="Can't make it")
    for member in (ana, bob, outsider):
        await sim.mark_interested(member, event)
    fields = _fields((await run(sim, ana, channel, "meeting next")).message)  # type: ignore[arg-type]
    assert fields["Going (1)"] == f"<@{ana.id}>"  # Ana, who hadn't answered; not the outsider
    assert fields["Can't make it (1)"] == f"<@{bob.id}>"  # Bob's own answer stands

    await sim.mark_interested(ana, event, interested=False)  # taking it back undoes only that
    await sim.mark_interested(bob, event, interested=False)
    fields = _fields((await run(sim, ana, channel, "meeting next")).message)  # type: ignore[arg-type]
    assert fields["Going (0)"] == "—" and fields["Can't make it (1)"] == f"<@{bob.id}>"


async def test_without_manage_events_nothing_is_created_and_settings_say_how(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin, ana, _bob = await _group(sim, guild, channel)
    scheduled = await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub")
    assert not scheduled.content.startswith("Something went wrong")
    assert sim.scheduled_events(guild) == []
    assert not [r for r in sim.requests if "/scheduled-events" in r.path]

    settings = await run(sim, admin, channel, "group settings")
    assert ("Discord Events: off — give Roundtable the Manage Events permission to list meetings in the "
            "server's Events") in settings.content
    nxt = await run(sim, ana, channel, "meeting next")  # the meeting itself is fine
    assert "Going" in str(nxt.message.components if nxt.message else "")

    await sim.allow_events(guild)  # given later: the meeting is listed then
    [event] = sim.scheduled_events(guild)
    assert event.location == "The Hub"
    settings = await run(sim, admin, channel, "group settings")
    assert "Discord Events: on" in settings.content


async def test_a_permission_taken_away_fails_nothing_else(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub")
    assert len(sim.scheduled_events(guild)) == 1
    # Taken away without the bot seeing a role change (a channel-level quirk, a missed event): the
    # next sync is refused with 403 and the feature goes quiet; the meeting's reminders still go.
    role = next(r for r in guild.roles.values() if r.managed)
    role.permissions &= ~(1 << 33)
    await _move(sim, admin, channel, "2026-12-02 18:00")
    assert "moved to" in sim.last_message(channel).content
    outbox = await run(sim, admin, channel, "admin outbox", show="problems")
    assert "Discord Events sync" not in outbox.text  # the refused sync isn't listed as a problem
    [stale] = sim.scheduled_events(guild)
    assert _start(stale.scheduled_start_time) == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    settings = await run(sim, admin, channel, "group settings")
    assert "give Roundtable the Manage Events permission" in settings.content

    await sim.allow_events(guild)  # given back: the event catches up
    [fixed] = sim.scheduled_events(guild)
    assert fixed.id == stale.id and _start(fixed.scheduled_start_time) == datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


async def test_a_sync_refused_with_403_turns_the_feature_off_and_fails_nothing(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub")
    role = next(r for r in guild.roles.values() if r.managed)
    role.permissions &= ~(1 << 33)  # taken away without a role update reaching the bot
    async with app.sessions.begin() as session:  # a change that comes from no interaction (seeded)
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        meeting.location = "The Annexe"
        await plan_group(session, meeting.group_id, app.clock.now())
    await app.run_due()
    assert [r.status for r in sim.requests if r.method == "PATCH" and "/scheduled-events/" in r.path] == [403]
    async with app.sessions.begin() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == DISCORD_EVENTS).order_by(OutboxRow.id.desc()))
        assert row is not None and row.status == "sent" and "Manage Events missing" in (row.reason or "")
    assert not await app.services.get(EventsService).can_manage(guild.id)
    sim.forget_problems()  # the 403 was the point


async def test_a_meeting_far_ahead_is_listed_once_within_30_days_and_an_archived_groups_go(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    await run(sim, admin, channel, "meeting schedule", when="2027-01-05 18:00", venue="The Hub")  # 43 days out
    assert sim.scheduled_events(guild) == []
    housekeeping = cast(EventsCog, app.bot.get_cog("EventsCog"))  # its half-hourly loop, run now
    assert housekeeping is not None

    await sim.advance(days=14)  # 29 days out: the next half-hourly housekeeping lists it
    await housekeeping.housekeeping()
    await app.run_due()
    [event] = sim.scheduled_events(guild)
    assert _start(event.scheduled_start_time) == datetime(2027, 1, 5, 18, 0, tzinfo=UTC)

    await run(sim, admin, channel, "group archive")
    await housekeeping.housekeeping()
    assert sim.scheduled_events(guild) == []


async def test_an_ended_meeting_leaves_the_events_and_the_third_comes_in(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    for when in ("2026-11-24 18:00", "2026-11-26 18:00", "2026-11-28 18:00"):
        await run(sim, admin, channel, "meeting schedule", when=when)
    starts = [_start(e.scheduled_start_time).day for e in sim.scheduled_events(guild)]
    assert starts == [24, 26]  # the next two only

    await sim.advance(app.clock.now().replace(day=24, hour=18, minute=5) - app.clock.now())
    assert [_start(e.scheduled_start_time).day for e in sim.scheduled_events(guild)] == [24, 26]  # under way: kept
    await run(sim, admin, channel, "meeting end")
    await sim.advance(minutes=1)
    assert [_start(e.scheduled_start_time).day for e in sim.scheduled_events(guild)] == [26, 28]


async def test_a_deleted_groups_events_are_removed_by_the_housekeeping(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The Hub")
    assert len(sim.scheduled_events(guild)) == 1
    asked = await run(sim, admin, channel, "group delete")
    await sim.click(admin, asked, label="Delete the group")
    await cast(EventsCog, app.bot.get_cog("EventsCog")).housekeeping()
    assert sim.scheduled_events(guild) == []


async def test_a_groups_voice_or_stage_channel_holds_the_events_of_meetings_without_a_place(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, ana, _bob = await _group(sim, guild, channel)
    voice, stage = sim.voice_channel(guild, "Makers voice"), sim.voice_channel(guild, "Makers stage", stage=True)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00")  # no place
    await run(sim, admin, channel, "meeting schedule", when="2026-12-08 18:00", venue="The Hub")
    placeless, hub = sim.scheduled_events(guild)
    assert placeless.entity_type == 3 and placeless.location == "See the group's channel"

    with pytest.raises(UsageError):  # a text channel isn't offered
        await run(sim, admin, channel, "group settings", event_channel=channel)
    refused = await run(sim, ana, channel, "group settings", event_channel=voice)
    assert refused.ephemeral and "Only a facilitator of **Makers**" in refused.content
    assert [e.entity_type for e in sim.scheduled_events(guild)] == [3, 3]  # nothing changed
    settings = await run(sim, admin, channel, "group settings")
    assert "Event channel: none" in settings.content
    closed = sim.voice_channel(guild, "Closed voice", bot_may=False)  # no Connect for Roundtable there
    refused = await run(sim, admin, channel, "group settings", event_channel=closed)
    assert refused.ephemeral and f"Roundtable can't list events in <#{closed.id}>: it needs Connect" in refused.content
    assert "Event channel: none" in (await run(sim, admin, channel, "group settings")).content

    chosen = await run(sim, admin, channel, "group settings", event_channel=voice)
    assert f"Event channel: <#{voice.id}> (voice)" in chosen.content
    in_voice, still_hub = sim.scheduled_events(guild)
    assert in_voice.id == placeless.id  # the same event, now in the voice channel
    assert in_voice.entity_type == 2 and in_voice.channel_id == voice.id and in_voice.location is None
    assert still_hub.id == hub.id and still_hub.entity_type == 3 and still_hub.location == "The Hub"

    await run(sim, admin, channel, "group settings", event_channel=stage)
    [on_stage] = [e for e in sim.scheduled_events(guild) if e.id == placeless.id]
    assert on_stage.entity_type == 1 and on_stage.channel_id == stage.id

    cleared = await run(sim, admin, channel, "group settings", event_channel_clear=True)
    assert "Event channel: none" in cleared.content
    back, _ = sim.scheduled_events(guild)
    assert back.id == placeless.id and back.entity_type == 3 and back.channel_id is None
    assert back.location == "See the group's channel"

    await run(sim, admin, channel, "group settings", event_channel=voice)
    await run(sim, admin, channel, "meeting place", link="https://meet.example/makers")  # online: in the channel
    online, _ = sim.scheduled_events(guild)
    assert online.id == placeless.id and online.entity_type == 2 and online.channel_id == voice.id
    await run(sim, admin, channel, "meeting place", venue="The Annexe")  # in person again: external there
    annexe, _ = sim.scheduled_events(guild)
    assert annexe.id == placeless.id and annexe.entity_type == 3 and annexe.location == "The Annexe"
    assert annexe.channel_id is None


async def test_a_deleted_event_channel_returns_the_events_to_the_meetings_place(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    voice = sim.voice_channel(guild, "Makers voice")
    await run(sim, admin, channel, "group settings", event_channel=voice)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", link="https://meet.example/makers")
    [event] = sim.scheduled_events(guild)
    assert event.entity_type == 2 and event.channel_id == voice.id

    sim.delete_channel(voice)  # Discord deletes its events with it
    await sim.settle()
    [external] = sim.scheduled_events(guild)
    assert external.entity_type == 3 and external.location == "Online: the link is in the group's channel"
    settings = await run(sim, admin, channel, "group settings")
    assert "Event channel: none" in settings.content


async def test_an_event_channel_the_bot_may_no_longer_use_is_cleared_and_the_servers_events_stay_on(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    from tests.sim.state import Perm

    await sim.allow_events(guild)
    admin, _ana, _bob = await _group(sim, guild, channel)
    voice = sim.voice_channel(guild, "Makers voice")
    await run(sim, admin, channel, "group settings", event_channel=voice)
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00")  # no place: in the voice channel
    [event] = sim.scheduled_events(guild)
    assert event.entity_type == 2 and event.channel_id == voice.id

    sim.revoke_permissions(voice, Perm.CONNECT)  # an admin takes Connect away there, later
    await _move(sim, admin, channel, "2026-12-01 19:00")
    await app.run_due()  # refused (403) for the channel: the group's event channel is cleared, then re-synced
    await app.run_due()
    [moved] = sim.scheduled_events(guild)
    assert moved.entity_type == 3 and moved.location == "See the group's channel"
    assert _start(moved.scheduled_start_time) == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert await app.services.get(EventsService).can_manage(guild.id)  # the server's events stay on
    assert "Event channel: none" in (await run(sim, admin, channel, "group settings")).content
    sim.forget_problems()  # the 403 was the point
