"""GroupService: creating groups, membership, facilitators, settings, archiving — on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.errors import Conflict, InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models import Group, GroupMember, Meeting
from bot.services import Services
from bot.services.base import Actor

GUILD, OTHER_GUILD = 1000, 2000
CHANNEL, CHANNEL_2 = 5001, 5002
ADMIN, ALICE, BOB, CAROL, DAVE = 11, 21, 22, 23, 24
ROLE = 777


def actor(user_id: int, *, guild: int = GUILD, channel: int | None = None, manager: bool = False,
          roles: frozenset[int] = frozenset()) -> Actor:
    return Actor(guild_id=guild, user_id=user_id, can_manage_server=manager, role_ids=roles, channel_id=channel)


async def make_group(services: Services, name: str = "Tuesday Founders", channel: int = CHANNEL, **kw) -> int:
    info = await services.groups.create(actor(ADMIN, manager=True, channel=channel), name=name, channel_id=channel, **kw)
    return info.id


async def test_manager_creates_a_group_and_becomes_its_facilitator(services: Services) -> None:
    await services.guilds.setup(actor(ADMIN, manager=True), timezone="Europe/London", facilitator_role_id=None)
    info = await services.groups.create(actor(ADMIN, manager=True), name="  Tuesday   Founders ", channel_id=CHANNEL)
    assert info.name == "Tuesday Founders"
    assert info.timezone == "Europe/London"  # the server's default
    assert info.max_members == 8
    assert info.facilitators == [ADMIN]
    assert info.channel_id == CHANNEL


async def test_the_facilitator_role_may_create_groups_and_others_may_not(services: Services) -> None:
    await services.guilds.setup(actor(ADMIN, manager=True), timezone=None, facilitator_role_id=ROLE)
    with pytest.raises(NotAllowed):
        await services.groups.create(actor(ALICE), name="Mine", channel_id=CHANNEL)
    info = await services.groups.create(actor(ALICE, roles=frozenset({ROLE})), name="Mine", channel_id=CHANNEL,
                                        timezone="america/new_york", max_members=4)
    assert info.timezone == "America/New_York" and info.max_members == 4 and info.facilitators == [ALICE]


@pytest.mark.parametrize(
    ("name", "error"),
    [("", InvalidInput), ("   ", InvalidInput), ("x" * 81, InvalidInput), ("hi @everyone", InvalidInput),
     ("@here we go", InvalidInput), ("team <@123>", InvalidInput), ("team <@&456>", InvalidInput)],
)
async def test_bad_names_are_refused_and_nothing_is_stored(services: Services, sessions, name: str, error) -> None:
    with pytest.raises(error):
        await services.groups.create(actor(ADMIN, manager=True), name=name, channel_id=CHANNEL)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Group)) == 0


async def test_duplicate_names_ignoring_case_and_one_group_per_channel(services: Services) -> None:
    await make_group(services, "Tuesday Founders")
    with pytest.raises(Conflict, match="already a group"):
        await services.groups.create(actor(ADMIN, manager=True), name="TUESDAY founders", channel_id=CHANNEL_2)
    with pytest.raises(Conflict, match="one group per channel"):
        await services.groups.create(actor(ADMIN, manager=True), name="Other", channel_id=CHANNEL)
    # The same name is fine in another server.
    other = await services.groups.create(actor(ADMIN, guild=OTHER_GUILD, manager=True), name="Tuesday Founders",
                                         channel_id=9999)
    assert other.name == "Tuesday Founders"


@pytest.mark.parametrize(("kw", "match"), [({"timezone": "Mars/Olympus"}, "timezone"), ({"max_members": 1}, "between"),
                                           ({"max_members": 13}, "between")])
async def test_bad_timezone_and_sizes_are_refused(services: Services, kw, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        await services.groups.create(actor(ADMIN, manager=True), name="G", channel_id=CHANNEL, **kw)


async def test_join_leave_and_a_full_group(services: Services) -> None:
    gid = await make_group(services, max_members=3)
    change = await services.groups.join(actor(ALICE), group_id=gid)
    assert change.member_count == 2
    await services.groups.join(actor(BOB), group_id=gid)
    with pytest.raises(LimitReached, match="full"):
        await services.groups.join(actor(CAROL), group_id=gid)
    with pytest.raises(Conflict):
        await services.groups.join(actor(BOB), group_id=gid)
    await services.groups.leave(actor(BOB))  # his only group: implied
    await services.groups.join(actor(CAROL), group_id=gid)
    members = [m.user_id for m in await services.groups.group_members(gid)]
    assert members == [ADMIN, ALICE, CAROL]


async def test_a_group_of_another_server_cannot_be_joined(services: Services) -> None:
    gid = await make_group(services)
    with pytest.raises(NotFound):
        await services.groups.join(actor(ALICE, guild=OTHER_GUILD), group_id=gid)


async def test_facilitator_commands_are_checked_in_the_service(services: Services) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.groups.join(actor(BOB), group_id=gid)
    for call in (
        services.groups.add_member(actor(ALICE), member_id=CAROL),
        services.groups.remove_member(actor(ALICE), member_id=BOB),
        services.groups.make_facilitator(actor(ALICE), member_id=BOB),
        services.groups.update_settings(actor(ALICE), timezone="Europe/Paris"),
        services.groups.archive(actor(ALICE)),
    ):
        with pytest.raises(NotAllowed):
            await call
    # Someone outside the group can't even see it.
    with pytest.raises(NotFound):
        await services.groups.info(actor(DAVE), group_id=gid)


async def test_facilitator_adds_removes_and_promotes(services: Services) -> None:
    gid = await make_group(services)
    fac = actor(ADMIN, channel=CHANNEL)
    await services.groups.add_member(fac, member_id=ALICE)
    await services.groups.add_member(fac, member_id=BOB)
    with pytest.raises(InvalidInput):
        await services.groups.add_member(fac, member_id=999, member_is_bot=True)
    await services.groups.make_facilitator(fac, member_id=ALICE)
    await services.groups.remove_member(actor(ALICE, channel=CHANNEL), member_id=BOB)
    with pytest.raises(NotFound):
        await services.groups.remove_member(fac, member_id=BOB)
    info = await services.groups.info(actor(ALICE), group_id=gid)
    assert sorted(info.facilitators) == [ADMIN, ALICE]
    assert [m.user_id for m in info.members] == [ADMIN, ALICE]


async def _facilitators(sessions, gid: int) -> list[int]:
    async with sessions() as session:
        return sorted(await session.scalars(select(GroupMember.user_id).where(
            GroupMember.group_id == gid, GroupMember.is_facilitator.is_(True))))


async def test_a_co_facilitator_is_removed_and_the_last_one_of_three_stays(services: Services, sessions) -> None:
    gid = await make_group(services)
    fac = actor(ADMIN, channel=CHANNEL)
    for user_id in (ALICE, BOB):
        await services.groups.join(actor(user_id), group_id=gid)
    await services.groups.make_facilitator(fac, member_id=ALICE)
    with pytest.raises(NotAllowed, match="Only a facilitator"):  # a member can't demote anyone
        await services.groups.remove_facilitator(actor(BOB, channel=CHANNEL), member_id=ALICE)
    with pytest.raises(InvalidInput, match="isn't a facilitator"):
        await services.groups.remove_facilitator(fac, member_id=BOB)
    with pytest.raises(NotFound, match="isn't in"):
        await services.groups.remove_facilitator(fac, member_id=DAVE)
    assert await _facilitators(sessions, gid) == [ADMIN, ALICE]
    change = await services.groups.remove_facilitator(actor(ALICE, channel=CHANNEL), member_id=ADMIN)
    assert change.user_id == ADMIN
    assert await _facilitators(sessions, gid) == [ALICE]
    # Alice is the last facilitator of three: refused, whoever asks, nothing changed.
    with pytest.raises(InvalidInput, match=r"You're the only facilitator .* a group of 3 needs one"):
        await services.groups.remove_facilitator(actor(ALICE, channel=CHANNEL), member_id=ALICE)
    with pytest.raises(InvalidInput, match="is the only facilitator"):
        await services.groups.remove_facilitator(actor(DAVE, manager=True, channel=CHANNEL), member_id=ALICE)
    assert await _facilitators(sessions, gid) == [ALICE]
    # A pair runs itself: its last facilitator may step back.
    await services.groups.leave(actor(BOB), group_id=gid)
    await services.groups.remove_facilitator(actor(ALICE, channel=CHANNEL), member_id=ALICE)
    assert await _facilitators(sessions, gid) == []


async def test_the_only_facilitator_cannot_leave_members_behind(services: Services) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    with pytest.raises(InvalidInput, match="only facilitator"):
        await services.groups.leave(actor(ADMIN), group_id=gid)


async def test_which_group_channel_then_only_group_then_ask(services: Services) -> None:
    g1 = await make_group(services, "One", CHANNEL)
    g2 = await make_group(services, "Two", CHANNEL_2)
    await services.groups.join(actor(ALICE), group_id=g1)
    assert (await services.groups.info(actor(ALICE))).id == g1
    await services.groups.join(actor(ALICE), group_id=g2)
    with pytest.raises(InvalidInput, match="several groups"):
        await services.groups.info(actor(ALICE))
    assert (await services.groups.info(actor(ALICE, channel=CHANNEL_2))).id == g2


async def test_settings_change_what_the_group_is_sent(services: Services) -> None:
    await make_group(services)
    info = await services.groups.update_settings(
        actor(ADMIN, channel=CHANNEL), timezone="Australia/Sydney", meeting_reminder_hours=[24, 2],
        reportback_lead_hours=36, announce_commitments=False,
    )
    assert info.timezone == "Australia/Sydney"
    assert info.meeting_reminder_hours == [24, 2]
    assert info.reportback_lead_hours == 36 and not info.announce_commitments
    with pytest.raises(InvalidInput):
        await services.groups.update_settings(actor(ADMIN, channel=CHANNEL), reportback_lead_hours=0)
    with pytest.raises(InvalidInput):
        await services.groups.update_settings(actor(ADMIN, channel=CHANNEL), timezone="Nowhere/Town")


async def test_archive_hides_the_group_but_keeps_its_data(services: Services) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.groups.archive(actor(ADMIN, channel=CHANNEL))
    assert [g.name for g in await services.groups.list_groups(actor(ALICE))] == []
    archived = await services.groups.list_groups(actor(ALICE), archived=True)
    assert [(g.name, g.member_count, g.archived) for g in archived] == [("Tuesday Founders", 2, True)]
    with pytest.raises(InvalidInput, match="archived"):
        await services.groups.join(actor(BOB), group_id=gid)
    assert await services.groups.choices(actor(BOB), "", every_group=True) == []


async def test_list_groups_is_per_server(services: Services) -> None:
    await make_group(services, "Alpha", CHANNEL)
    await services.groups.create(actor(ADMIN, guild=OTHER_GUILD, manager=True), name="Beta", channel_id=9999)
    assert [g.name for g in await services.groups.list_groups(actor(ALICE))] == ["Alpha"]


async def test_end_meeting_is_idempotent_and_checks_the_facilitator(services: Services, clock, sessions) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.groups.join(actor(BOB), group_id=gid)  # three: not a pair, where either may end it
    meeting = await services.meetings.schedule(actor(ADMIN, channel=CHANNEL), when="2026-12-03 18:00")
    with pytest.raises(InvalidInput, match="hasn't started"):
        await services.groups.end_meeting(meeting_id=meeting.id, actor=actor(ADMIN))
    clock.set(meeting.starts_at + timedelta(minutes=50))
    with pytest.raises(NotAllowed):
        await services.groups.end_meeting(meeting_id=meeting.id, actor=actor(ALICE))
    with pytest.raises(NotFound):
        await services.groups.end_meeting(meeting_id=meeting.id, actor=actor(ADMIN, guild=OTHER_GUILD))
    ended = await services.groups.end_meeting(meeting_id=meeting.id, actor=actor(ADMIN))
    assert ended.status == "ended"
    clock.advance(hours=3)
    again = await services.groups.end_meeting(meeting_id=meeting.id, actor=None)  # the scheduler at T+3h
    assert again.status == "ended"
    async with sessions() as session:
        row = await session.get(Meeting, meeting.id)
        assert row.ended_at == meeting.starts_at + timedelta(minutes=50)


async def test_next_meeting_read_for_other_features(services: Services, clock) -> None:
    gid = await make_group(services)
    assert await services.groups.next_meeting(gid) is None
    later = await services.meetings.schedule(actor(ADMIN, channel=CHANNEL), when="2026-12-10 18:00")
    sooner = await services.meetings.schedule(actor(ADMIN, channel=CHANNEL), when="2026-12-03 18:00")
    assert (await services.groups.next_meeting(gid)).id == sooner.id
    clock.set(sooner.starts_at + timedelta(minutes=1))
    assert (await services.groups.next_meeting(gid)).id == later.id


async def test_members_rows_carry_the_server(services: Services, sessions) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    async with sessions() as session:
        guilds = set(await session.scalars(select(GroupMember.guild_id)))
    assert guilds == {GUILD}


async def test_in_a_pair_either_member_does_what_a_facilitator_does(services: Services, clock) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    # Two members: Alice, not a facilitator, may change settings and run the meeting.
    await services.groups.update_settings(actor(ALICE), group_id=gid, timezone="Europe/Paris")
    meeting = await services.meetings.schedule(actor(ALICE, channel=CHANNEL), when="2026-12-03 18:00")
    clock.set(meeting.starts_at + timedelta(minutes=50))
    ended = await services.groups.end_meeting(meeting_id=meeting.id, actor=actor(ALICE))
    assert ended.status == "ended"
    info = await services.groups.info(actor(ALICE), group_id=gid)
    assert info.facilitators == [ADMIN]  # she isn't made one: the pair's rule is the size
    # A third member ends it: Alice is an ordinary member again.
    await services.groups.join(actor(BOB), group_id=gid)
    with pytest.raises(NotAllowed, match="Only a facilitator"):
        await services.groups.update_settings(actor(ALICE), group_id=gid, timezone="Europe/London")
    with pytest.raises(NotAllowed):
        await services.groups.update_settings(actor(BOB), group_id=gid, timezone="Europe/London")
    # Back to two: the pair runs itself again.
    await services.groups.leave(actor(BOB), group_id=gid)
    await services.groups.update_settings(actor(ALICE), group_id=gid, timezone="Europe/London")


async def test_a_pair_without_a_facilitator_gets_one_when_a_third_joins(services: Services, sessions) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.groups.join(actor(BOB), group_id=gid)
    await services.groups.make_facilitator(actor(ADMIN), group_id=gid, member_id=ALICE)
    await services.groups.leave(actor(ADMIN), group_id=gid)
    async with sessions() as session, session.begin():
        row = await session.get(GroupMember, (gid, ALICE))
        row.is_facilitator = False  # a pair with no facilitator (e.g. the facilitator used /mydata forget)
    await services.groups.update_settings(actor(BOB), group_id=gid, timezone="Europe/Paris")  # allowed: a pair
    await services.groups.join(actor(CAROL), group_id=gid)
    info = await services.groups.info(actor(ALICE), group_id=gid)
    assert info.facilitators == [ALICE]  # the longest-standing member of the pair
    await services.groups.update_settings(actor(ALICE), group_id=gid, timezone="Europe/London")
    with pytest.raises(NotAllowed):
        await services.groups.update_settings(actor(BOB), group_id=gid, timezone="Europe/London")
