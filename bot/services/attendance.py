"""Attendance at a meeting, the minutes for those who missed it, and one-question feedback.

Attendance is taken by a facilitator from the meeting's start until a day after it ended
(:data:`ATTENDANCE_WINDOW`), on a sheet pre-filled from the RSVPs (going or maybe → present, can't
make it → apologies, no answer → absent). The first change stores the whole sheet, so a meeting
has either no attendance or one row per member; later changes edit single rows.

Who *missed* a meeting (they get its minutes by DM): with attendance taken, the members marked
absent or apologies; without, the members who answered "can't make it" — a member who didn't
answer may well have come, and "You missed the meeting" would be wrong for them. Everyone else
*attended* and gets the feedback question instead (one DM each, never both).

Feedback (a score 1–5 and an optional line) is open from the meeting's end until the group's
next meeting starts (or :data:`FEEDBACK_WINDOW` after the end when none is scheduled); a second
answer replaces the first. Facilitators see the averages per meeting and the lines without
names (:meth:`AttendanceService.trend`); members never see each other's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput, NotFound
from bot.models import Group, Meeting, MeetingStatus, Rsvp
from bot.models.attendance import Attendance, AttendanceStatus, MeetingFeedback
from bot.services import outbox
from bot.services.base import (
    Actor,
    Service,
    may_facilitate,
    membership,
    require_facilitator,
    require_facilitator_for,
    require_id,
    require_reader,
    resolve_group,
)
from bot.services.meetings import (
    MEETING_LENGTH,
    meeting_after,
    meeting_for,
    meeting_number,
    members_of,
    ordinal,
)

ATTENDANCE_WINDOW = timedelta(days=1)  # after the meeting's end, attendance can still be corrected
FEEDBACK_WINDOW = timedelta(days=14)  # without a next meeting, feedback closes this long after the end
MAX_FEEDBACK_LINE = 300
TREND_MEETINGS = 6  # the facilitator's trend covers this many of the latest meetings with feedback

RSVP_PREFILL = {"going": AttendanceStatus.PRESENT, "maybe": AttendanceStatus.PRESENT, "no": AttendanceStatus.APOLOGIES}
MISSED = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.APOLOGIES})
RSVP_GOING = "going"  # counted as there where no attendance was taken (:func:`attended`)


@dataclass(frozen=True, slots=True)
class SheetEntry:
    user_id: int
    status: AttendanceStatus


@dataclass(frozen=True, slots=True)
class Sheet:
    """A meeting's attendance as a facilitator sees it: stored, or pre-filled from the RSVPs."""

    meeting_id: int
    group_name: str
    label: str  # "3rd meeting of Makers"
    starts_at: datetime
    taken: bool  # stored (else pre-filled)
    editable_until: datetime
    entries: tuple[SheetEntry, ...]  # members in join order

    def count(self, status: AttendanceStatus) -> int:
        return sum(1 for e in self.entries if e.status == status)


@dataclass(frozen=True, slots=True)
class MemberRate:
    user_id: int
    present: int
    apologies: int
    absent: int

    @property
    def counted(self) -> int:
        return self.present + self.apologies + self.absent

    @property
    def rate(self) -> float | None:
        """Present / meetings with attendance taken while a member; None when none was taken."""
        return self.present / self.counted if self.counted else None


@dataclass(frozen=True, slots=True)
class AttendanceRates:
    """Attendance over a group's meetings with attendance taken (``since``: from that time on)."""

    group_id: int
    meetings: int
    members: tuple[MemberRate, ...]  # current members in join order, then former ones

    @property
    def present(self) -> int:
        return sum(m.present for m in self.members)

    @property
    def counted(self) -> int:
        return sum(m.counted for m in self.members)

    @property
    def rate(self) -> float | None:
        """The group's rate: every present mark over every mark."""
        return self.present / self.counted if self.counted else None

    def of(self, user_id: int) -> MemberRate | None:
        return next((m for m in self.members if m.user_id == user_id), None)


@dataclass(frozen=True, slots=True)
class RatesShown:
    """``/meeting attendance rates:True``: the group's rate, and each member's to a facilitator (a
    member who isn't one sees only her own row, as in ``/group stats``)."""

    group_name: str
    meetings: int  # meetings with attendance taken
    rate: float | None  # the group's
    members: tuple[MemberRate, ...]
    everyone: bool  # every member's row (a facilitator), else only the reader's


@dataclass(frozen=True, slots=True)
class AttendanceLine:
    """What the minutes show: who came, who sent apologies, who was absent (attendance taken)."""

    present: tuple[int, ...]
    apologies: tuple[int, ...]
    absent: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FeedbackPrompt:
    meeting_id: int
    group_name: str
    starts_at: datetime
    closes_at: datetime
    score: int | None  # the member's answer so far


@dataclass(frozen=True, slots=True)
class FeedbackSaved:
    score: int
    line: str | None
    previous: int | None  # the score it replaced; None: the first answer


@dataclass(frozen=True, slots=True)
class MeetingTrend:
    starts_at: datetime
    label: str
    answers: int
    average: float
    lines: tuple[str, ...]  # without names, in alphabetical order


@dataclass(frozen=True, slots=True)
class Trend:
    group_name: str
    meetings: tuple[MeetingTrend, ...]  # oldest first


# --- in-session helpers (other features call these) ---------------------------------------------------


def meeting_end(meeting: Meeting) -> datetime:
    return meeting.ended_at or meeting.starts_at + MEETING_LENGTH


async def stored_attendance(session: AsyncSession, meeting_id: int) -> dict[int, AttendanceStatus]:
    """The stored attendance of a meeting by member; empty when none was taken."""
    rows = await session.execute(select(Attendance.user_id, Attendance.status).where(Attendance.meeting_id == meeting_id))
    return {uid: AttendanceStatus(status) for uid, status in rows}


async def _rsvps(session: AsyncSession, meeting_id: int) -> dict[int, str]:
    rows = await session.execute(select(Rsvp.user_id, Rsvp.answer).where(Rsvp.meeting_id == meeting_id))
    return {uid: answer for uid, answer in rows}


async def attendance_sheet(session: AsyncSession, group: Group, meeting: Meeting) -> Sheet:
    stored = await stored_attendance(session, meeting.id)
    answers = await _rsvps(session, meeting.id)
    entries = []
    for member in await members_of(session, group.id):
        status = stored.get(member.user_id) or RSVP_PREFILL.get(answers.get(member.user_id, ""), AttendanceStatus.ABSENT)
        entries.append(SheetEntry(member.user_id, status))
    return Sheet(
        meeting_id=meeting.id, group_name=group.name,
        label=f"{ordinal(await meeting_number(session, meeting))} meeting of {group.name}",
        starts_at=meeting.starts_at, taken=bool(stored), editable_until=meeting_end(meeting) + ATTENDANCE_WINDOW,
        entries=tuple(entries),
    )


async def attendance_line(session: AsyncSession, meeting: Meeting) -> AttendanceLine | None:
    """The minutes' attendance: None when none was taken."""
    stored = await stored_attendance(session, meeting.id)
    if not stored:
        return None
    order = {m.user_id: n for n, m in enumerate(await members_of(session, meeting.group_id))}
    ids = sorted(stored, key=lambda uid: (order.get(uid, len(order)), uid))
    return AttendanceLine(
        present=tuple(u for u in ids if stored[u] == AttendanceStatus.PRESENT),
        apologies=tuple(u for u in ids if stored[u] == AttendanceStatus.APOLOGIES),
        absent=tuple(u for u in ids if stored[u] == AttendanceStatus.ABSENT),
    )


async def missed_meeting(session: AsyncSession, meeting: Meeting, members: list[int]) -> set[int]:
    """Which of ``members`` missed the meeting (see the module's docstring for the rule)."""
    stored = await stored_attendance(session, meeting.id)
    if stored:
        return {uid for uid in members if stored.get(uid, AttendanceStatus.ABSENT) in MISSED}
    answers = await _rsvps(session, meeting.id)
    return {uid for uid in members if answers.get(uid) == "no"}


async def attended(session: AsyncSession, meetings: Sequence[Meeting]) -> dict[int, set[int]]:
    """Who attended each meeting, by meeting id, for counting (``/group stats``): those marked present
    where attendance was taken, else the members who answered "going" (a member who didn't answer
    isn't counted as there; :func:`missed_meeting` decides whom to send the minutes). Two statements."""
    attended: dict[int, set[int]] = {meeting.id: set() for meeting in meetings}
    if not meetings:
        return attended
    ids = [m.id for m in meetings]
    taken: set[int] = set()
    for meeting_id, user_id, status in await session.execute(
        select(Attendance.meeting_id, Attendance.user_id, Attendance.status).where(Attendance.meeting_id.in_(ids))
    ):
        taken.add(meeting_id)
        if status == AttendanceStatus.PRESENT:
            attended[meeting_id].add(user_id)
    rows = await session.execute(
        select(Rsvp.meeting_id, Rsvp.user_id).where(Rsvp.meeting_id.in_(ids), Rsvp.answer == RSVP_GOING)
    )
    for meeting_id, user_id in rows:
        if meeting_id not in taken:
            attended[meeting_id].add(user_id)
    return attended


async def attendance_rates(session: AsyncSession, group_id: int, *, since: datetime | None = None) -> AttendanceRates:
    """Attendance rate per member and for the group over the meetings with attendance taken.

    A member counts only the meetings that have a mark for them (those held while they were in the
    group). ``since``: only meetings starting at or after it. For ``/group stats`` and the like.
    """
    query = (
        select(Attendance.user_id, Attendance.status, Attendance.meeting_id)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Attendance.group_id == group_id, Meeting.status != MeetingStatus.CANCELLED)
    )
    if since is not None:
        query = query.where(Meeting.starts_at >= since)
    counts: dict[int, dict[AttendanceStatus, int]] = {}
    meetings: set[int] = set()
    for uid, status, meeting_id in await session.execute(query):
        meetings.add(meeting_id)
        per = counts.setdefault(uid, {})
        per[AttendanceStatus(status)] = per.get(AttendanceStatus(status), 0) + 1
    order = {m.user_id: n for n, m in enumerate(await members_of(session, group_id))}
    ids = sorted(counts, key=lambda uid: (order.get(uid, len(order)), uid))
    return AttendanceRates(
        group_id=group_id, meetings=len(meetings),
        members=tuple(MemberRate(uid, counts[uid].get(AttendanceStatus.PRESENT, 0),
                                 counts[uid].get(AttendanceStatus.APOLOGIES, 0),
                                 counts[uid].get(AttendanceStatus.ABSENT, 0)) for uid in ids),
    )


async def feedback_closes_at(session: AsyncSession, meeting: Meeting) -> datetime:
    following = await meeting_after(session, meeting)
    return following.starts_at if following is not None else meeting_end(meeting) + FEEDBACK_WINDOW


class AttendanceService(Service):
    # --- attendance (facilitators) ---------------------------------------------------------------

    async def _meeting(self, session: AsyncSession, actor: Actor, meeting_id: int | None,
                       group_id: int | None) -> tuple[Group, Meeting]:
        """The meeting whose attendance a facilitator takes: the one given, else the latest started."""
        now = self.now()
        if meeting_id is not None:
            group, meeting = await meeting_for(session, actor, meeting_id)
        else:
            group = await resolve_group(session, actor, group_id)
            found = await session.scalar(
                select(Meeting).where(Meeting.group_id == group.id, Meeting.status != MeetingStatus.CANCELLED,
                                      Meeting.starts_at <= now)
                .order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(1)
            )
            if found is None:
                raise InvalidInput(f"No meeting of **{group.name}** has started yet: attendance opens when one begins.")
            meeting = found
        await require_facilitator_for(session, group, actor, meeting)
        await require_reader(session, group, actor)  # the sheet lists the members: a server admin who isn't one can't
        if meeting.status == MeetingStatus.CANCELLED:
            raise InvalidInput("That meeting was cancelled: there's no attendance to take.")
        if meeting.starts_at > now:
            raise InvalidInput("That meeting hasn't started yet: attendance opens when it begins.")
        return group, meeting

    def _require_open(self, meeting: Meeting) -> None:
        if self.now() > meeting_end(meeting) + ATTENDANCE_WINDOW:
            raise InvalidInput("Attendance for that meeting closed a day after it ended: it stays as it was taken.")

    async def sheet(self, actor: Actor, *, meeting_id: int | None = None, group_id: int | None = None) -> Sheet:
        """The attendance sheet (stored, else pre-filled from the RSVPs), for a facilitator."""
        async with self.read() as session:
            group, meeting = await self._meeting(session, actor, meeting_id, group_id)
            return await attendance_sheet(session, group, meeting)

    async def mark(self, actor: Actor, *, meeting_id: int, user_id: int | None = None,
                   status: str | None = None) -> Sheet:
        """Store the sheet (the first time, every member as pre-filled) and set one member's status.

        ``user_id`` None: store the sheet as shown (Save as shown).
        """
        async with self.begin() as session:
            group, meeting = await self._meeting(session, actor, meeting_id, None)
            self._require_open(meeting)
            try:
                wanted = AttendanceStatus(status) if status is not None else None
            except ValueError:
                raise InvalidInput("Mark present, apologies or absent.") from None
            sheet = await attendance_sheet(session, group, meeting)
            members = {e.user_id for e in sheet.entries}
            if user_id is not None and user_id not in members:
                raise NotFound("That member isn't in the group any more.")
            now = self.now()
            stored = {row.user_id: row for row in await session.scalars(
                select(Attendance).where(Attendance.meeting_id == meeting.id))}
            for entry in sheet.entries:
                value = wanted if (wanted is not None and entry.user_id == user_id) else entry.status
                row = stored.get(entry.user_id)
                if row is None:
                    session.add(Attendance(meeting_id=meeting.id, user_id=entry.user_id, guild_id=group.guild_id,
                                           group_id=group.id, status=value, recorded_by=actor.user_id, updated_at=now))
                elif row.status != value:
                    row.status = value
                    row.recorded_by = actor.user_id
                    row.updated_at = now
            # Who gets the minutes or the feedback question follows the attendance.
            await outbox.plan_group(session, group.id, now)
            return await attendance_sheet(session, group, meeting)

    async def rates(self, actor: Actor, *, group_id: int | None = None) -> RatesShown:
        """The group's attendance rate and each member's, for a facilitator; a member sees the group's
        and her own. A server admin who isn't a member reads neither (members' data)."""
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            member = await require_reader(session, group, actor)
            rates = await attendance_rates(session, group.id)
            everyone = await may_facilitate(session, group, member)
            rows = rates.members if everyone else tuple(m for m in rates.members if m.user_id == actor.user_id)
            return RatesShown(group.name, rates.meetings, rates.rate, rows, everyone)

    # --- after the meeting (the scheduler's renderers) -------------------------------------------

    async def missed(self, *, meeting_id: int, user_id: int) -> bool:
        """Whether the member (still in the group) missed the meeting."""
        async with self.begin() as session:
            meeting = await session.get(Meeting, meeting_id)
            if meeting is None or await membership(session, meeting.group_id, user_id) is None:
                return False
            return user_id in await missed_meeting(session, meeting, [user_id])

    async def feedback_prompt(self, *, meeting_id: int, user_id: int) -> FeedbackPrompt | None:
        """The feedback question for a member who attended; None when it isn't (or no longer) theirs."""
        async with self.begin() as session:
            meeting = await session.get(Meeting, meeting_id)
            group = await session.get(Group, meeting.group_id) if meeting is not None else None
            if meeting is None or group is None or meeting.status != MeetingStatus.ENDED:
                return None
            if await membership(session, group.id, user_id) is None:
                return None
            closes = await feedback_closes_at(session, meeting)
            if self.now() >= closes or user_id in await missed_meeting(session, meeting, [user_id]):
                return None
            given = await session.get(MeetingFeedback, (meeting.id, user_id))
            return FeedbackPrompt(meeting_id=meeting.id, group_name=group.name, starts_at=meeting.starts_at,
                                  closes_at=closes, score=given.score if given is not None else None)

    # --- feedback (members) ----------------------------------------------------------------------

    async def give_feedback(self, *, user_id: int, meeting_id: int, score: int | str,
                            line: str | None = None, keep_line: bool = False) -> FeedbackSaved:
        """Store a member's answer (1–5, an optional line); a second one replaces the first.

        ``keep_line``: a score button keeps the line given before.
        """
        try:
            value = int(str(score).strip())
        except ValueError:
            value = 0
        if not 1 <= value <= 5:
            raise InvalidInput("Give the meeting a score from 1 to 5 (a whole number).")
        text = (line or "").strip() or None
        if text is not None and len(text) > MAX_FEEDBACK_LINE:
            raise InvalidInput(f"Keep the line to {MAX_FEEDBACK_LINE} characters (it has {len(text)}).")
        async with self.begin() as session:
            meeting = await session.get(Meeting, require_id(meeting_id, "meeting"))
            if meeting is None or await membership(session, meeting.group_id, user_id) is None:
                raise NotFound("That meeting isn't one of your group's.")
            if meeting.status != MeetingStatus.ENDED:
                raise InvalidInput("Feedback opens when the meeting has ended.")
            if self.now() >= await feedback_closes_at(session, meeting):
                raise InvalidInput("Feedback on that meeting has closed: the next meeting has started "
                                   "(or two weeks have passed). Next time!")
            given = await session.get(MeetingFeedback, (meeting.id, user_id))
            previous = given.score if given is not None else None
            if given is None:
                session.add(MeetingFeedback(meeting_id=meeting.id, user_id=user_id, guild_id=meeting.guild_id,
                                            group_id=meeting.group_id, score=value, line=text, updated_at=self.now()))
            else:
                given.score = value
                if not keep_line:
                    given.line = text
                given.updated_at = self.now()
                text = given.line
            return FeedbackSaved(score=value, line=text, previous=previous)

    async def trend(self, actor: Actor, *, group_id: int | None = None) -> Trend:
        """The average score per meeting (the latest few with answers) and the lines, without names."""
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_facilitator(session, group, actor)
            await require_reader(session, group, actor)
            rows = list(await session.execute(
                select(Meeting, MeetingFeedback.score, MeetingFeedback.line)
                .join(MeetingFeedback, MeetingFeedback.meeting_id == Meeting.id)
                .where(Meeting.group_id == group.id)
                .order_by(Meeting.starts_at, Meeting.id)
            ))
            by_meeting: dict[int, tuple[Meeting, list[int], list[str]]] = {}
            for meeting, score, line in rows:
                _, scores, lines = by_meeting.setdefault(meeting.id, (meeting, [], []))
                scores.append(score)
                if line:
                    lines.append(line)
            trend: list[MeetingTrend] = []
            for meeting, scores, lines in list(by_meeting.values())[-TREND_MEETINGS:]:
                trend.append(MeetingTrend(
                    starts_at=meeting.starts_at, label=f"{ordinal(await meeting_number(session, meeting))} meeting",
                    answers=len(scores), average=sum(scores) / len(scores), lines=tuple(sorted(lines)),
                ))
            return Trend(group_name=group.name, meetings=tuple(trend))

