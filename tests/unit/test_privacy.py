"""Private by default, on SQLite and PostgreSQL: who sees what of a group (the matrix of read
commands × viewers in docs/PRIVACY.md), report-back notes shown on the board only when their
member chooses, and the safe defaults a new group starts with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.state import ConnectionState
from sqlalchemy import column, insert, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import TableClause

from bot.clock import ManualClock
from bot.db import Base
from bot.errors import InvalidInput, NotAllowed, UserError
from bot.models import BuddyPair, Commitment, Group, NoteSharing
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments import CommitmentRef
from bot.services.goals import Ref
from bot.services.groups import InfoScope
from bot.ui.privacy import channel_exposure, exposure_warning
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
ANA, BOB, FAC, ADMIN, OTHER = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_003,
    4_000_000_000_000_000_004,
    4_000_000_000_000_000_005,
)
DEC_3 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
# What members wrote: none of it may reach a viewer outside the group.
SECRETS = ("Raise prices by 40%", "Revenue fell to 3k", "Which buyer to sell to?", "Cash runway")


def actor(user_id: int, *, guild_id: int = GUILD, manage: bool = False, channel_id: int | None = None) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, can_manage_server=manage, channel_id=channel_id)


@dataclass(frozen=True)
class World:
    group_id: int
    other_group_id: int
    meeting_id: int
    brainstorm_id: int
    kpi_id: int


@pytest.fixture
async def world(services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> World:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[FAC, ANA, BOB],
                                facilitators=(FAC,))
    other_group_id = await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[OTHER])
    meeting_id = await add_meeting(sessions, group_id, DEC_3)
    ana = actor(ANA, channel_id=CHANNEL)
    added = await services.commitments.add(ana, text=SECRETS[0])
    await services.commitments.note_by_button(user_id=ANA, commitment_id=added.commitment.id, note=SECRETS[1])
    brainstorm = await services.brainstorms.open(ana, issue=SECRETS[2])
    await services.brainstorms.attach_thread(brainstorm_id=brainstorm.id, thread_id=777, message_id=778)
    await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning=SECRETS[3])
    kpi = await services.goals.add_kpi(ana, name="Revenue", unit="£", visibility="full")
    return World(group_id, other_group_id, meeting_id, brainstorm.id, kpi.kpi.id)


Read = Callable[[Services, Actor, World], Awaitable[object]]

# Every read of members' data, as its command calls it.
READS: dict[str, Read] = {
    "/commit list": lambda s, a, w: s.commitments.list_commitments(a, status=None, group_id=w.group_id),
    "/commit stats": lambda s, a, w: s.commitments.stats(a, member_id=ANA, group_id=w.group_id),
    "/module progress": lambda s, a, w: s.modules.progress(a, group_id=w.group_id),
    "/brainstorm list": lambda s, a, w: s.brainstorms.list_group(a, group_id=w.group_id),
    "/brainstorm show": lambda s, a, w: s.brainstorms.show(a, brainstorm_id=w.brainstorm_id),
    "/meeting agenda": lambda s, a, w: s.agenda.show(a, meeting_id=w.meeting_id),
    "/kpi list": lambda s, a, w: s.goals.scorecard(a, member_id=ANA, group_id=w.group_id),
    "/kpi history": lambda s, a, w: s.goals.history(a, kpi=Ref(id=w.kpi_id), member_id=ANA, group_id=w.group_id),
    "/goal list": lambda s, a, w: s.goals.list_goals(a, member_id=ANA, group_id=w.group_id),
}

VIEWERS: dict[str, Actor] = {
    "member": actor(BOB),
    "facilitator": actor(FAC),
    "member of another group": actor(OTHER),
    "server admin outside the group": actor(ADMIN, manage=True),
    "other server": actor(ANA, guild_id=OTHER_GUILD, manage=True),
}
SEES = {"member", "facilitator"}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("command", READS)
async def test_visibility_matrix(services: Services, world: World, command: str, viewer: str) -> None:
    read = READS[command]
    if viewer in SEES:
        assert await read(services, VIEWERS[viewer], world) is not None
        return
    with pytest.raises(UserError) as refused:
        await read(services, VIEWERS[viewer], world)
    assert not any(secret in str(refused.value) for secret in SECRETS)


@pytest.mark.parametrize("command", ["/commit list", "/commit stats", "/module progress", "/brainstorm list",
                                     "/brainstorm show", "/meeting agenda", "/kpi list", "/goal list"])
async def test_a_server_admin_outside_the_group_is_told_why(services: Services, world: World, command: str) -> None:
    with pytest.raises(NotAllowed, match="stays in the group"):
        await READS[command](services, VIEWERS["server admin outside the group"], world)


async def test_group_info_for_each_viewer(services: Services, world: World) -> None:
    full = await services.groups.info(actor(BOB), group_id=world.group_id)
    assert full.scope is InfoScope.FULL
    assert [m.user_id for m in full.members] == [FAC, ANA, BOB]
    assert {line.name: line.value for line in full.lines}.get("Open commitments") == "1"

    admin = await services.groups.info(actor(ADMIN, manage=True), group_id=world.group_id)
    # That it exists, its channel, size and facilitators: no member list, meeting, module or count.
    assert admin.scope is InfoScope.GROUP_LEVEL
    assert (admin.name, admin.channel_id, admin.member_count, admin.max_members) == ("Makers", CHANNEL, 3, 8)
    assert [m.user_id for m in admin.members] == [FAC] and admin.facilitators == [FAC]
    assert admin.lines == () and admin.next_meeting is None

    # A server admin who *is* a member reads it as a member.
    member_admin = await services.groups.info(actor(ANA, manage=True), group_id=world.group_id)
    assert member_admin.scope is InfoScope.FULL and len(member_admin.members) == 3

    for outsider in (actor(OTHER), actor(ANA, guild_id=OTHER_GUILD, manage=True)):
        with pytest.raises(UserError):
            await services.groups.info(outsider, group_id=world.group_id)


async def test_manage_server_adds_nothing_to_a_members_view(services: Services, world: World) -> None:
    """A server admin who is a member reads as a member: not what's for the facilitators only."""
    await services.modules.save_checkin(group_id=world.group_id, user_id=ANA, learning="For Fran only",
                                        visibility="facilitator")
    await services.goals.add_kpi(actor(ANA, channel_id=CHANNEL), name="Debt", unit="£")  # private
    admin_member = actor(BOB, manage=True)
    progress = await services.modules.progress(admin_member, group_id=world.group_id)
    assert all(entry.user_id != ANA for entry in progress.visible)
    facilitator = await services.modules.progress(actor(FAC), group_id=world.group_id)
    assert [entry.user_id for entry in facilitator.visible] == [ANA]
    card = await services.goals.scorecard(admin_member, member_id=ANA, group_id=world.group_id)
    assert [k.name for k in card.kpis] == ["Revenue"] and card.hidden == 1


async def test_a_server_admin_outside_the_group_still_runs_it(services: Services, world: World) -> None:
    admin = actor(ADMIN, manage=True)
    settings = await services.groups.update_settings(admin, group_id=world.group_id, board_notes=NoteSharing.PRIVATE)
    assert settings.board_notes == NoteSharing.PRIVATE
    added = await services.groups.add_member(admin, member_id=OTHER, group_id=world.group_id)
    assert added.member_count == 4


# --- notes on the board ----------------------------------------------------------------------------


async def _note(services: Services, world: World) -> int:
    listing = await services.commitments.list_commitments(actor(ANA), group_id=world.group_id)
    return listing.members[0].commitments[0].id


async def test_a_note_is_private_until_its_member_shows_it(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock, world: World
) -> None:
    commitment_id = await _note(services, world)
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and board.members[0].commitments[0].note is None
    others = await services.commitments.list_commitments(actor(BOB), group_id=world.group_id)
    assert others.members[0].commitments[0].note is None
    own = await services.commitments.list_commitments(actor(ANA), group_id=world.group_id)
    assert own.members[0].commitments[0].note == SECRETS[1]  # the member always reads her own

    shared, report = await services.commitments.share_note(user_id=ANA, commitment_id=commitment_id, shared=True)
    assert shared.changed and report.commitments[0].note_shared
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and board.members[0].commitments[0].note == SECRETS[1]
    others = await services.commitments.list_commitments(actor(BOB), group_id=world.group_id)
    assert others.members[0].commitments[0].note == SECRETS[1]

    # A new note is private again: the member agreed to show the old one, not this.
    await services.commitments.note_by_button(user_id=ANA, commitment_id=commitment_id, note="Revenue is 2k now")
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and board.members[0].commitments[0].note is None
    async with sessions.begin() as session:
        row = await session.get(Commitment, commitment_id)
        assert row is not None and row.note == "Revenue is 2k now" and not row.note_shared

    # The buddy's summary is read by someone else too: the private note stays out of it.
    async with sessions.begin() as session:
        session.add(BuddyPair(guild_id=GUILD, group_id=world.group_id, requester_id=ANA, partner_id=BOB,
                              status="active", created_at=clock.now()))
    summary = await services.commitments.buddy_summary(group_id=world.group_id, meeting_id=world.meeting_id,
                                                       user_id=BOB)
    assert summary is not None and summary.report.commitments[0].note is None


async def test_a_group_that_keeps_notes_private_never_shows_them(services: Services, world: World) -> None:
    commitment_id = await _note(services, world)
    await services.commitments.share_note(user_id=ANA, commitment_id=commitment_id, shared=True)
    await services.groups.update_settings(actor(FAC), group_id=world.group_id, board_notes=NoteSharing.PRIVATE)
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and board.members[0].commitments[0].note is None
    report = await services.commitments.reportback(group_id=world.group_id, meeting_id=world.meeting_id, user_id=ANA)
    assert report is not None and not report.notes_shareable
    with pytest.raises(InvalidInput, match="keeps notes private"):
        await services.commitments.share_note(user_id=ANA, commitment_id=commitment_id, shared=True)


async def test_only_the_member_shares_her_note(services: Services, world: World) -> None:
    commitment_id = await _note(services, world)
    with pytest.raises(UserError):
        await services.commitments.share_note(user_id=BOB, commitment_id=commitment_id, shared=True)
    bare = await services.commitments.add(actor(BOB, channel_id=CHANNEL), text="No note")
    with pytest.raises(InvalidInput, match="no note"):
        await services.commitments.share_note(user_id=BOB, commitment_id=bare.commitment.id, shared=True)
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and all(c.note is None for m in board.members for c in m.commitments)


async def test_a_note_given_with_commit_report_is_private(services: Services, world: World) -> None:
    commitment_id = await _note(services, world)
    await services.commitments.share_note(user_id=ANA, commitment_id=commitment_id, shared=True)
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=commitment_id), status="done",
                                      note="Different words")
    board = await services.commitments.board(group_id=world.group_id, meeting_id=world.meeting_id)
    assert board is not None and board.members[0].commitments[0].note is None


# --- safe defaults ---------------------------------------------------------------------------------


async def test_a_new_group_starts_private(services: Services, sessions: async_sessionmaker[AsyncSession]) -> None:
    creator = actor(ADMIN, manage=True)
    info = await services.groups.create(creator, name="Quiet", channel_id=CHANNEL)
    assert not info.announce_commitments and info.board_notes == NoteSharing.MEMBER_CHOOSES
    loud = await services.groups.create(creator, name="Loud", channel_id=OTHER_CHANNEL, announce_commitments=True,
                                        board_notes=NoteSharing.PRIVATE)
    assert loud.announce_commitments and loud.board_notes == NoteSharing.PRIVATE
    with pytest.raises(InvalidInput, match="member chooses"):
        await services.groups.create(creator, name="Odd", channel_id=9, board_notes="public")  # type: ignore[arg-type]
    async with sessions.begin() as session:
        names = set(await session.scalars(select(Group.name)))
    assert names == {"Quiet", "Loud"}  # nothing stored for the refused one


async def test_changing_other_settings_keeps_announcements(services: Services, world: World) -> None:
    # Groups made before this change announce (their stored value); a settings change leaves it.
    info = await services.groups.update_settings(actor(FAC), group_id=world.group_id, reportback_lead_hours=24)
    assert info.announce_commitments


# --- is the group's channel readable beyond the group? (built from real discord.py objects) ---------

VIEW = discord.Permissions(view_channel=True).value
EVERYONE_BASE = discord.Permissions(view_channel=True, send_messages=True).value
SERVER, CHANNEL_ID, STAFF, ADMINS, BOTS = 10, 30, 20, 21, 22


def _role(role_id: int, name: str, permissions: int = 0, *, managed: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(role_id), "name": name, "permissions": str(permissions), "position": 1,
                            "color": 0, "hoist": False, "managed": managed, "mentionable": False}
    if managed:
        data["tags"] = {"bot_id": "99"}
    return data


def _member(user_id: int, roles: list[int]) -> dict[str, Any]:
    return {"user": {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "avatar": None},
            "roles": [str(r) for r in roles], "joined_at": "2026-11-01T00:00:00+00:00", "deaf": False, "mute": False,
            "flags": 0}


def _overwrite(target: int, *, allow: int = 0, deny: int = 0, member: bool = False) -> dict[str, Any]:
    return {"id": str(target), "type": 1 if member else 0, "allow": str(allow), "deny": str(deny)}


def channel(overwrites: list[dict[str, Any]], *, everyone: int = EVERYONE_BASE) -> discord.TextChannel:
    """A text channel in a guild built by discord.py from a GUILD_CREATE-shaped payload."""
    state = ConnectionState(dispatch=lambda *args: None, handlers={}, hooks={}, http=None,  # type: ignore[arg-type]
                            intents=discord.Intents.all())
    data: Any = {
        "id": str(SERVER), "name": "Server", "owner_id": "1", "member_count": 3,
        "roles": [_role(SERVER, "@everyone", everyone), _role(STAFF, "Staff"),
                  _role(ADMINS, "Admins", discord.Permissions(administrator=True).value),
                  _role(BOTS, "Bots", VIEW, managed=True)],
        "members": [_member(ANA, [STAFF]), _member(BOB, [STAFF]), _member(OTHER, [STAFF, ADMINS, BOTS])],
        "channels": [{"id": str(CHANNEL_ID), "type": 0, "name": "makers", "position": 0,
                      "permission_overwrites": overwrites}],
    }
    guild = discord.Guild(data=data, state=state)
    found = guild.get_channel(CHANNEL_ID)
    assert isinstance(found, discord.TextChannel)
    return found


PRIVATE = [_overwrite(SERVER, deny=VIEW), _overwrite(ANA, allow=VIEW, member=True), _overwrite(BOB, allow=VIEW, member=True)]


def test_a_channel_everyone_can_read_is_exposed() -> None:
    exposure = channel_exposure(channel([]), {ANA, BOB})
    assert exposure.exposed and exposure.everyone
    text = exposure_warning(exposure, group_name="Makers", channel_id=CHANNEL_ID)
    assert "@everyone" in text and "View Channel" in text and "Permissions" in text


def test_a_channel_only_its_members_can_read_is_not() -> None:
    assert not channel_exposure(channel(PRIVATE), {ANA, BOB}).exposed
    # A server whose @everyone can't view channels at all, and no overwrites: private too.
    assert not channel_exposure(channel([], everyone=0), {ANA, BOB}).exposed


def test_a_role_reaching_beyond_the_group_is_exposed() -> None:
    staff_can_view = [_overwrite(SERVER, deny=VIEW), _overwrite(STAFF, allow=VIEW)]
    exposure = channel_exposure(channel(staff_can_view), {ANA, BOB})  # OTHER has Staff and isn't in the group
    assert exposure.exposed and not exposure.everyone and exposure.role_ids == (STAFF,)
    assert f"<@&{STAFF}>" in exposure_warning(exposure, group_name="Makers", channel_id=CHANNEL_ID)
    # A role only the group's members have is the group's own way in.
    assert not channel_exposure(channel(staff_can_view), {ANA, BOB, OTHER}).exposed


def test_administrators_and_bot_roles_and_base_permissions_under_a_deny_do_not_count() -> None:
    # Admins read every channel whatever it says; the bots' integration role is a bot; a role's own
    # View Channel is overridden by the channel's @everyone deny.
    assert not channel_exposure(channel([*PRIVATE, _overwrite(BOTS, allow=VIEW), _overwrite(ADMINS, allow=VIEW)]), {ANA, BOB}).exposed
    everyone_denied = channel([_overwrite(SERVER, deny=VIEW)])
    assert not channel_exposure(everyone_denied, {ANA, BOB}).exposed


# --- the migration: groups made before keep their announcements; older notes become private ------


async def test_migration_0070_keeps_announcements_and_makes_old_notes_private(
    backend: str, _templates: object, tmp_path: Path, clock: ManualClock
) -> None:
    from bot import migrate
    from bot.db import create_engine, create_sessionmaker
    from tests.conftest import drop_database_url
    from tests.unit.test_migrations import _empty_url

    def old_table(model: type[Base], new: set[str]) -> TableClause:
        """The model's table as 0020 had it (without the columns 0070 adds)."""
        return table(model.__tablename__, *(column(c.name, c.type) for c in model.__table__.c if c.name not in new))

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, "0020")
        sessions = create_sessionmaker(engine)
        now = clock.now()
        group = {"guild_id": GUILD, "name": "Old", "name_key": "old", "timezone": "UTC", "max_members": 8,
                 "meeting_reminder_hours": [168, 24], "reportback_lead_hours": 48, "checkin_nudge_lead_hours": 72,
                 "current_module_number": 1, "created_by": ANA, "created_at": now}
        async with sessions.begin() as session:
            await session.execute(insert(old_table(Group, {"board_notes"})), [
                {"id": 1, "channel_id": CHANNEL, "announce_commitments": True, **group},
                {"id": 2, "channel_id": OTHER_CHANNEL, "announce_commitments": False, **group,
                 "name": "Older", "name_key": "older"},
            ])
            await session.execute(insert(old_table(Commitment, {"note_shared"})), [{
                "id": 1, "guild_id": GUILD, "group_id": 1, "number": 1, "user_id": ANA, "text": "Call the bank",
                "due_at": DEC_3, "status": "done", "note": "Revenue fell to 3k", "created_at": now, "updated_at": now,
            }])
        await migrate.upgrade(engine)
        async with sessions.begin() as session:
            groups = {g.id: (g.announce_commitments, g.board_notes) for g in await session.scalars(select(Group))}
            note = await session.get(Commitment, 1)
        assert groups == {1: (True, NoteSharing.MEMBER_CHOOSES), 2: (False, NoteSharing.MEMBER_CHOOSES)}
        assert note is not None and note.note == "Revenue fell to 3k" and note.note_shared is False
        await migrate.downgrade(engine, "0020")
    finally:
        await engine.dispose()
        await drop_database_url(url)
