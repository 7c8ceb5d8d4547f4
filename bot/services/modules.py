"""The year of monthly modules: each group's curriculum, the current module, and check-ins.

Each group gets its own copy of the default curriculum (``bot/data/curriculum.yaml``) the first
time it is needed, so importing or editing one group's year never changes another's.

A *cycle* is the time up to a meeting. A check-in belongs to the cycle that ends at the group's
next scheduled meeting (``cycle_key`` ``meeting:<id>``), or to the ``open`` cycle while no
meeting is scheduled; an ``open`` check-in joins the next meeting's cycle when the member next
saves it, and counts for that meeting's nudge and digest while it is about the current module.
The current module moves on when a meeting ends (:func:`advance_module`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import curriculum
from bot.curriculum import MAX_MODULES, ModuleSpec
from bot.errors import InvalidInput, LimitReached, NotFound
from bot.models import CheckIn, Group, GroupMember, Meeting, MeetingStatus, Module
from bot.services.base import (
    Actor,
    Service,
    ServiceContext,
    membership,
    require_active,
    require_facilitator,
    require_reader,
    resolve_group,
)
from bot.services.guilds import own_timezone
from bot.services.meetings import members_of, next_meeting_of
from bot.text import clean

CHECKIN_FIELD_MAX = 1000
CHECKIN_FIELDS = ("consumed", "activities", "learning", "application")
VISIBILITIES = ("group", "facilitator")
Visibility = Literal["group", "facilitator"]
ImportMode = Literal["replace", "append"]
OPEN_CYCLE = "open"
# A meeting that started less than this long ago and hasn't ended is under way: check-ins for the
# next module open when it ends (the current module moves on then).
MEETING_UNDER_WAY = timedelta(hours=6)


# --- plain data returned to the adapters ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupRef:
    id: int
    guild_id: int
    name: str
    channel_id: int
    timezone: str


@dataclass(frozen=True, slots=True)
class CurrentModule:
    group: GroupRef
    module: ModuleSpec
    total: int
    next_meeting_at: datetime | None
    next_meeting_id: int | None


@dataclass(frozen=True, slots=True)
class CurriculumView:
    group: GroupRef
    current_number: int
    modules: list[ModuleSpec]


@dataclass(frozen=True, slots=True)
class ImportResult:
    group: GroupRef
    mode: ImportMode
    imported: list[ModuleSpec]
    total: int
    current_number: int


@dataclass(frozen=True, slots=True)
class Export:
    group: GroupRef
    filename: str
    text: str


@dataclass(frozen=True, slots=True)
class CheckInEntry:
    """One check-in, as shown in the channel, the digest or progress."""

    id: int
    user_id: int
    module_number: int
    module_title: str
    consumed: str | None
    activities: str | None
    learning: str | None
    application: str | None
    visibility: str
    updated_at: datetime
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class CheckInForm:
    """What the check-in modal needs: the group, the module, and the member's check-in so far."""

    group: GroupRef
    module: ModuleSpec
    cycle_key: str
    next_meeting_at: datetime | None
    existing: CheckInEntry | None


@dataclass(frozen=True, slots=True)
class SavedCheckIn:
    group: GroupRef
    entry: CheckInEntry
    created: bool
    next_meeting_at: datetime | None
    # The channel message of the check-in before this save (to edit, or delete if now private).
    previous_message_id: int | None


@dataclass(frozen=True, slots=True)
class MemberProgress:
    user_id: int
    checked_in: bool
    modules_checked_in: list[int]  # module numbers over the year so far, oldest first


@dataclass(frozen=True, slots=True)
class Progress:
    group: GroupRef
    module: ModuleSpec
    next_meeting_at: datetime | None
    members: list[MemberProgress]
    # The current cycle's check-ins the viewer may read (shared ones; all of them for a facilitator).
    visible: list[CheckInEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Prompt:
    group: GroupRef
    module: ModuleSpec
    total: int
    meeting_at: datetime | None


@dataclass(frozen=True, slots=True)
class Nudge:
    group: GroupRef
    module: ModuleSpec
    meeting_at: datetime
    checked_in: bool
    own_zone: str | None = None  # the zone the member set (for the unsociable-hours note), None: none set


@dataclass(frozen=True, slots=True)
class Digest:
    group: GroupRef
    module_number: int
    module_title: str
    shared: list[CheckInEntry]
    private_count: int


# --- helpers shared with other features (take a session, never commit) ---------------------------


def _ref(group: Group) -> GroupRef:
    return GroupRef(group.id, group.guild_id, group.name, group.channel_id, group.timezone)


def _spec(row: Module) -> ModuleSpec:
    return ModuleSpec.model_validate(
        {
            "number": row.number,
            "title": row.title,
            "summary": row.summary,
            "activities": row.activities,
            "resources": row.resources,
        }
    )


def _row(group: Group, spec: ModuleSpec) -> Module:
    record = spec.as_record()
    return Module(
        guild_id=group.guild_id,
        group_id=group.id,
        number=spec.number,
        title=spec.title,
        summary=spec.summary,
        activities=record["activities"],
        resources=record["resources"],
    )


def _entry(row: CheckIn) -> CheckInEntry:
    return CheckInEntry(
        id=row.id,
        user_id=row.user_id,
        module_number=row.module_number,
        module_title=row.module_title,
        consumed=row.consumed,
        activities=row.activities,
        learning=row.learning,
        application=row.application,
        visibility=row.visibility,
        updated_at=row.updated_at,
        message_id=row.message_id,
    )


async def group_modules(session: AsyncSession, group: Group) -> list[Module]:
    """The group's modules in order; the default year is copied in the first time it's needed."""
    rows = list(await session.scalars(select(Module).where(Module.group_id == group.id).order_by(Module.number)))
    if rows:
        return rows
    rows = [_row(group, spec) for spec in curriculum.load_default().sorted()]
    session.add_all(rows)
    await session.flush()
    return rows


async def current_module_title(session: AsyncSession, group: Group) -> str | None:
    """``/group info``'s line: "3. Money and cash flow" (no copy of the default year is made for it)."""
    row = await session.scalar(
        select(Module).where(Module.group_id == group.id, Module.number == group.current_module_number)
    )
    if row is not None:
        return f"{row.number}. {row.title}"
    if await session.scalar(select(Module.id).where(Module.group_id == group.id).limit(1)) is not None:
        return None  # a curriculum without the current number: the first module is shown elsewhere
    spec = next((m for m in curriculum.load_default().modules if m.number == group.current_module_number), None)
    return f"{spec.number}. {spec.title}" if spec is not None else None


def _current(group: Group, rows: Sequence[Module]) -> Module:
    """The group's current module (the first one if its number is no longer in the curriculum)."""
    return next((row for row in rows if row.number == group.current_module_number), rows[0])


async def advance_module(session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
    """At a meeting's end: the current module moves to the next one (after the last, back to the first).

    Called once per meeting by ``GroupService.end_meeting`` in its transaction.
    """
    rows = await group_modules(session, group)
    current = _current(group, rows)
    later = [row.number for row in rows if row.number > current.number]
    group.current_module_number = later[0] if later else rows[0].number


def cycle_key(meeting: Meeting | None) -> str:
    return f"meeting:{meeting.id}" if meeting is not None else OPEN_CYCLE


async def _cycle_checkins(session: AsyncSession, group: Group, meeting_id: int) -> list[CheckIn]:
    """The check-ins of meeting ``meeting_id``'s cycle, with ``open`` ones about the current module."""
    return list(
        await session.scalars(
            select(CheckIn)
            .where(
                CheckIn.group_id == group.id,
                or_(
                    CheckIn.cycle_key == f"meeting:{meeting_id}",
                    (CheckIn.cycle_key == OPEN_CYCLE) & (CheckIn.module_number == group.current_module_number),
                ),
            )
            .order_by(CheckIn.created_at, CheckIn.id)
        )
    )


def _clean_checkin(values: dict[str, str | None]) -> dict[str, str | None]:
    cleaned: dict[str, str | None] = {}
    labels = {
        "consumed": "What you read, watched or listened to",
        "activities": "What you did of the activities",
        "learning": "Your key learning",
        "application": "How you'll apply it",
    }
    for name in CHECKIN_FIELDS:
        text = clean(values.get(name), multiline=True)
        if len(text) > CHECKIN_FIELD_MAX:
            raise InvalidInput(f"{labels[name]} is {len(text)} characters; the most is {CHECKIN_FIELD_MAX}.")
        cleaned[name] = text or None
    if not any(cleaned.values()):
        raise InvalidInput("Your check-in is empty: fill in at least one of the fields.")
    return cleaned


# --- the service -----------------------------------------------------------------------------------


class ModuleService(Service):
    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        curriculum.load_default()  # the shipped year is validated at start: a broken file fails loudly

    # --- the curriculum --------------------------------------------------------------------------

    async def current(self, actor: Actor, *, group_id: int | None = None) -> CurrentModule:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            rows = await group_modules(session, group)
            meeting = await next_meeting_of(session, group.id, self.now())
            return CurrentModule(
                group=_ref(group),
                module=_spec(_current(group, rows)),
                total=len(rows),
                next_meeting_at=meeting.starts_at if meeting else None,
                next_meeting_id=meeting.id if meeting else None,
            )

    async def list_modules(self, actor: Actor, *, group_id: int | None = None) -> CurriculumView:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            rows = await group_modules(session, group)
            return CurriculumView(_ref(group), _current(group, rows).number, [_spec(row) for row in rows])

    async def set_current(self, actor: Actor, *, number: int, group_id: int | None = None) -> CurrentModule:
        """A facilitator chooses the group's current module."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            rows = await group_modules(session, group)
            row = next((row for row in rows if row.number == number), None)
            if row is None:
                numbers = ", ".join(str(row.number) for row in rows)
                raise NotFound(f"**{group.name}**'s curriculum has no module {number}. Its modules are {numbers}.")
            group.current_module_number = number
            meeting = await next_meeting_of(session, group.id, self.now())
            return CurrentModule(
                _ref(group), _spec(row), len(rows), meeting.starts_at if meeting else None, meeting.id if meeting else None
            )

    async def import_curriculum(
        self,
        actor: Actor,
        *,
        data: bytes,
        filename: str,
        mode: ImportMode = "replace",
        group_id: int | None = None,
    ) -> ImportResult:
        """Replace the group's curriculum with a file's, or append the file's modules after it.

        The file is validated completely before anything is stored. Appended modules are numbered
        after the group's last module, in the file's order.
        """
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            parsed = (await asyncio.to_thread(curriculum.parse, data, filename)).sorted()
            rows = await group_modules(session, group)
            if mode == "append":
                if len(rows) + len(parsed) > MAX_MODULES:
                    raise LimitReached(
                        f"**{group.name}** has {len(rows)} modules; adding {len(parsed)} would make more than "
                        f"{MAX_MODULES}. Import with mode `replace`, or import fewer modules."
                    )
                start = rows[-1].number
                imported = [
                    spec.model_copy(update={"number": start + position})
                    for position, spec in enumerate(parsed, start=1)
                ]
                if imported[-1].number > MAX_MODULES:
                    raise LimitReached(
                        f"Module numbers go up to {MAX_MODULES}; **{group.name}**'s last module is {start}. "
                        "Import with mode `replace` to renumber the year."
                    )
            else:
                imported = parsed
                await session.execute(delete(Module).where(Module.group_id == group.id))
                await session.flush()
            session.add_all(_row(group, spec) for spec in imported)
            await session.flush()
            rows = await group_modules(session, group)
            if all(row.number != group.current_module_number for row in rows):
                group.current_module_number = rows[0].number
            return ImportResult(_ref(group), mode, imported, len(rows), group.current_module_number)

    async def export(self, actor: Actor, *, group_id: int | None = None) -> Export:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            rows = await group_modules(session, group)
            text = curriculum.to_yaml(_spec(row) for row in rows)
            slug = "".join(ch if ch.isalnum() else "-" for ch in group.name.lower()).strip("-") or "group"
            return Export(_ref(group), f"{slug[:60]}-curriculum.yaml", text)

    # --- check-ins ---------------------------------------------------------------------------------

    async def checkin_form(self, actor: Actor, *, group_id: int | None = None) -> CheckInForm:
        """``/checkin``: the module and the member's check-in so far, for the modal."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            return await self._form(session, group, actor.user_id)

    async def checkin_form_for(self, *, group_id: int, user_id: int) -> CheckInForm:
        """The "Check in" button (in the channel or a DM): the group is in the button."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or await membership(session, group.id, user_id) is None:
                raise NotFound("You're not a member of that group.")
            return await self._form(session, group, user_id)

    async def _form(self, session: AsyncSession, group: Group, user_id: int) -> CheckInForm:
        require_active(group)
        if await membership(session, group.id, user_id) is None:
            raise NotFound(f"You're not a member of **{group.name}**.")
        await self._refuse_during_meeting(session, group)
        rows = await group_modules(session, group)
        meeting = await next_meeting_of(session, group.id, self.now())
        existing = await self._own_checkin(session, group, meeting, user_id)
        return CheckInForm(
            group=_ref(group),
            module=_spec(_current(group, rows)),
            cycle_key=cycle_key(meeting),
            next_meeting_at=meeting.starts_at if meeting else None,
            existing=_entry(existing) if existing else None,
        )

    async def save_checkin(
        self,
        *,
        group_id: int,
        user_id: int,
        consumed: str | None = None,
        activities: str | None = None,
        learning: str | None = None,
        application: str | None = None,
        visibility: str = "group",
    ) -> SavedCheckIn:
        """Create or update the member's check-in for the current cycle (editable until the meeting)."""
        if visibility not in VISIBILITIES:
            raise InvalidInput("Share your check-in with the group, or with the facilitators only.")
        values = _clean_checkin(
            {"consumed": consumed, "activities": activities, "learning": learning, "application": application}
        )
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or await membership(session, group.id, user_id) is None:
                raise NotFound("You're not a member of that group.")
            require_active(group)
            await self._refuse_during_meeting(session, group)
            now = self.now()
            module = _current(group, await group_modules(session, group))
            meeting = await next_meeting_of(session, group.id, now)
            row = await self._own_checkin(session, group, meeting, user_id)
            if row is None:
                await self._retire_stale_open(session, group, user_id)
            created = row is None
            previous_message_id = row.message_id if row is not None else None
            if row is None:
                row = CheckIn(guild_id=group.guild_id, group_id=group.id, user_id=user_id, created_at=now)
                session.add(row)
            row.cycle_key = cycle_key(meeting)
            row.meeting_id = meeting.id if meeting else None
            row.module_number, row.module_title = module.number, module.title
            row.consumed, row.activities = values["consumed"], values["activities"]
            row.learning, row.application = values["learning"], values["application"]
            row.visibility = visibility
            row.updated_at = now
            if visibility != "group":
                row.message_id = None
            await session.flush()
            return SavedCheckIn(
                group=_ref(group),
                entry=_entry(row),
                created=created,
                next_meeting_at=meeting.starts_at if meeting else None,
                previous_message_id=previous_message_id,
            )

    async def record_checkin_message(self, *, checkin_id: int, message_id: int | None) -> None:
        """The adapter posted (or removed) the shared check-in in the group channel."""
        async with self.begin() as session:
            row = await session.get(CheckIn, checkin_id)
            if row is not None:
                row.message_id = message_id

    async def _own_checkin(
        self, session: AsyncSession, group: Group, meeting: Meeting | None, user_id: int
    ) -> CheckIn | None:
        """The member's check-in for the cycle ending at ``meeting`` (or an ``open`` one to carry over)."""
        keys = [cycle_key(meeting)]
        if meeting is not None:
            keys.append(OPEN_CYCLE)
        rows = list(
            await session.scalars(
                select(CheckIn).where(
                    CheckIn.group_id == group.id, CheckIn.user_id == user_id, CheckIn.cycle_key.in_(keys)
                )
            )
        )
        # An open check-in about the current module is the member's (and joins the meeting's
        # cycle when saved); one about an earlier module stays as it was.
        return next((row for row in rows if row.cycle_key == keys[0] and meeting is not None), None) or next(
            (row for row in rows if row.module_number == group.current_module_number), None
        )

    @staticmethod
    async def _retire_stale_open(session: AsyncSession, group: Group, user_id: int) -> None:
        """An open check-in about an earlier module keeps its place in the history under its own key."""
        stale = await session.scalar(
            select(CheckIn).where(
                CheckIn.group_id == group.id, CheckIn.user_id == user_id, CheckIn.cycle_key == OPEN_CYCLE
            )
        )
        if stale is not None:
            stale.cycle_key = f"open:{stale.id}"
            await session.flush()

    async def _refuse_during_meeting(self, session: AsyncSession, group: Group) -> None:
        now = self.now()
        under_way = await session.scalar(
            select(Meeting.id).where(
                Meeting.group_id == group.id,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at <= now,
                Meeting.starts_at > now - MEETING_UNDER_WAY,
            )
        )
        if under_way is not None:
            raise InvalidInput(
                f"**{group.name}**'s meeting is under way: check-ins for the next module open when it ends."
            )

    async def progress(self, actor: Actor, *, group_id: int | None = None) -> Progress:
        """Who has checked in for the current module, and each member's check-ins this year."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            member = await require_reader(session, group, actor)
            # Check-ins shared with the facilitators only are for the facilitators: Manage Server isn't one.
            facilitator = member.is_facilitator
            rows = await group_modules(session, group)
            module = _current(group, rows)
            now = self.now()
            meeting = await next_meeting_of(session, group.id, now)
            if meeting is not None:
                current = await _cycle_checkins(session, group, meeting.id)
            else:
                current = list(
                    await session.scalars(
                        select(CheckIn)
                        .where(CheckIn.group_id == group.id, CheckIn.cycle_key == OPEN_CYCLE,
                               CheckIn.module_number == module.number)
                        .order_by(CheckIn.created_at, CheckIn.id)
                    )
                )
            checked_in = {row.user_id for row in current}
            history: dict[int, list[int]] = {}
            for user_id, number in await session.execute(
                select(CheckIn.user_id, CheckIn.module_number)
                .where(CheckIn.group_id == group.id, CheckIn.created_at > now - timedelta(days=366))
                .order_by(CheckIn.created_at, CheckIn.id)
            ):
                history.setdefault(user_id, []).append(number)
            members = [
                MemberProgress(m.user_id, m.user_id in checked_in, history.get(m.user_id, []))
                for m in await members_of(session, group.id)
            ]
            visible = [
                _entry(row)
                for row in current
                if row.visibility == "group" or facilitator or row.user_id == actor.user_id
            ]
            return Progress(
                _ref(group), _spec(module), meeting.starts_at if meeting else None, members, visible
            )

    # --- what the scheduled notifications show (called by the renderers) ------------------------

    async def prompt(self, *, group_id: int, meeting_id: int | None) -> Prompt | None:
        """The module of the cycle ending at ``meeting_id``, for the channel; None if there's none."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or group.archived_at is not None:
                return None
            rows = await group_modules(session, group)
            meeting = await session.get(Meeting, meeting_id) if meeting_id is not None else None
            if meeting is None or meeting.group_id != group.id or meeting.status != MeetingStatus.SCHEDULED:
                meeting = await next_meeting_of(session, group.id, self.now())
            return Prompt(
                _ref(group), _spec(_current(group, rows)), len(rows), meeting.starts_at if meeting else None
            )

    async def nudge(self, *, group_id: int, meeting_id: int, user_id: int) -> Nudge | None:
        """A member's check-in nudge before ``meeting_id``; ``checked_in`` says there's nothing to nudge."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            meeting = await session.get(Meeting, meeting_id)
            if group is None or meeting is None or meeting.group_id != group.id or meeting.status != MeetingStatus.SCHEDULED:
                return None
            if await membership(session, group.id, user_id) is None:
                return None
            rows = await group_modules(session, group)
            done = any(row.user_id == user_id for row in await _cycle_checkins(session, group, meeting.id))
            return Nudge(_ref(group), _spec(_current(group, rows)), meeting.starts_at, done,
                         await own_timezone(session, group.guild_id, user_id))

    async def digest_for(self, *, group_id: int, meeting_id: int, user_id: int) -> Digest:
        """The digest again, for a member of the group paging through it."""
        async with self.begin() as session:
            if await membership(session, group_id, user_id) is None:
                raise NotFound("Only the group's members can read its check-ins.")
            digest = await self._digest(session, group_id, meeting_id)
            if digest is None:
                raise NotFound("That meeting's check-ins are gone.")
            return digest

    async def digest(self, *, group_id: int, meeting_id: int) -> Digest | None:
        """The shared check-ins of the cycle ending at ``meeting_id`` ("what we learned")."""
        async with self.begin() as session:
            return await self._digest(session, group_id, meeting_id)

    async def _digest(self, session: AsyncSession, group_id: int, meeting_id: int) -> Digest | None:
        group = await session.get(Group, group_id)
        meeting = await session.get(Meeting, meeting_id)
        if group is None or meeting is None or meeting.group_id != group.id:
            return None
        rows = await group_modules(session, group)
        module = _current(group, rows)
        checkins = await _cycle_checkins(session, group, meeting.id)
        members = {
            user_id
            for user_id in await session.scalars(
                select(GroupMember.user_id).where(GroupMember.group_id == group.id)
            )
        }
        checkins = [row for row in checkins if row.user_id in members]
        shared = [_entry(row) for row in checkins if row.visibility == "group"]
        title = checkins[0].module_title if checkins else module.title
        number = checkins[0].module_number if checkins else module.number
        return Digest(_ref(group), number, title, shared, len(checkins) - len(shared))
