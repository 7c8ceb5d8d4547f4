"""``/group export`` and ``/group delete`` (issue 16): what a group shares, for a group leaving the bot.

The export holds what every member of the group can already read there, nothing more: members,
meetings by date, commitments by number (a report-back note only when its member showed it on the
board and the group allows that), wins, goals (without their notes), KPIs as the group sees them
(``bot.services.goals.visible_kpi`` for a member: a private KPI is left out, a "change only" one
has no figures), check-ins shared with the group, brainstorm outcomes (anonymous ones without
their owner) and the minutes of ended meetings. Only a facilitator of the group may export it or
delete it (not a server admin who isn't a member: members' data isn't theirs to read).

Deleting asks first: a confirmation only the facilitator who asked may press, within 10 minutes;
then every row of the group goes in one transaction (``bot.services.purge.delete_group_rows``,
found from the models' metadata), its pending notifications with it. Logged without content.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput, NotAllowed
from bot.models import (
    Brainstorm,
    BrainstormIdea,
    CheckIn,
    Commitment,
    Goal,
    GoalStatus,
    Group,
    Kpi,
    KpiEntry,
    Meeting,
    MeetingStatus,
    NoteSharing,
    OutboxRow,
    OutboxStatus,
    Win,
)
from bot.services.base import Actor, Service, may_facilitate, membership, resolve_group
from bot.services.goals import Relation, visible_kpi
from bot.services.meetings import members_of
from bot.services.minutes import minutes_of
from bot.services.mydata import _plain, batch_files
from bot.services.purge import delete_group_rows

log = logging.getLogger(__name__)

CONFIRM_WINDOW = timedelta(minutes=10)


async def _require_facilitator(session: AsyncSession, group: Group, actor: Actor) -> None:
    """A facilitator who is in the group: Manage Server alone doesn't open members' data."""
    if not await may_facilitate(session, group, await membership(session, group.id, actor.user_id)):
        raise NotAllowed(f"Only a facilitator of **{group.name}** can export or delete it.")


@dataclass(frozen=True, slots=True)
class GroupRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GroupDeleted:
    name: str
    rows: int
    notifications_cancelled: int


@dataclass(frozen=True, slots=True)
class GroupExport:
    """``document``: plain JSON data; member ids stay ids (the adapter names them)."""

    name: str
    exported_at: datetime
    document: dict[str, Any]

    def member_ids(self) -> list[int]:
        return [member["user_id"] for member in self.document["members"]]

    def files(self, names: dict[int, str], limit: int) -> list[list[tuple[str, bytes]]]:
        """``group-export.md`` and ``group-export.json``, split into parts within ``limit`` bytes a
        message (and 10 files a message)."""
        slug = "group-export"
        document = {**self.document, "members": [
            {**m, "name": names.get(m["user_id"])} for m in self.document["members"]
        ]}
        files = _split(f"{slug}.md", render_markdown(document, names).encode(), limit)
        files += _split_json(f"{slug}", document, limit)
        return batch_files(files, limit)


def _split(name: str, data: bytes, limit: int) -> list[tuple[str, bytes]]:
    """A text file in parts of at most ``limit`` bytes, cut between lines."""
    if len(data) <= limit:
        return [(name, data)]
    parts: list[bytes] = []
    current = b""
    for line in data.splitlines(keepends=True):
        if len(current) + len(line) > limit and current:
            parts.append(current)
            current = b""
        current += line
    if current:
        parts.append(current)
    stem, ext = name.rsplit(".", 1)
    return [(f"{stem}-{i}.{ext}", part) for i, part in enumerate(parts, 1)]


def _split_json(stem: str, document: dict[str, Any], limit: int) -> list[tuple[str, bytes]]:
    """The JSON whole if it fits, else one file per section, its list in chunks that fit."""
    whole = json.dumps(document, indent=2, ensure_ascii=False).encode()
    if len(whole) <= limit:
        return [(f"{stem}.json", whole)]
    parts: list[bytes] = []
    for section, value in document.items():
        items = value if isinstance(value, list) else [value]
        chunk: list[Any] = []
        for item in [*items, None]:
            encoded = json.dumps({"section": section, "items": [*chunk, item]}, ensure_ascii=False).encode()
            if item is None or (len(encoded) > limit and chunk):
                parts.append(json.dumps({"section": section, "items": chunk}, ensure_ascii=False).encode())
                chunk = []
            if item is not None:
                chunk.append(item)
    return [(f"{stem}-{i}.json", part) for i, part in enumerate(parts, 1)]


def _who(names: dict[int, str], user_id: int | None) -> str:
    if user_id is None:
        return "anonymous"
    return names.get(user_id) or "a former member"


def _local(stamp: str, zone: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO time from the document, as the group reads it (in the group's zone)."""
    return datetime.fromisoformat(stamp).astimezone(zone).strftime(pattern)


def render_markdown(document: dict[str, Any], names: dict[int, str]) -> str:
    """The export for reading: members by name, times in the group's zone (the JSON keeps UTC)."""
    group = document["group"]
    zone = ZoneInfo(group["timezone"])
    lines = [f"# {group['name']}", "",
             f"Exported {_local(document['exported_at'], zone)} (times in {group['timezone']}).", ""]
    lines += ["## Members", ""]
    for m in document["members"]:
        role = " (facilitator)" if m["facilitator"] else ""
        lines.append(f"- {_who(names, m['user_id'])}{role}, joined {_local(m['joined_at'], zone, '%Y-%m-%d')}")
    lines += ["", "## Meetings", ""]
    for meeting in document["meetings"]:
        where = f" at {meeting['location']}" if meeting["location"] else ""
        lines.append(f"- {_local(meeting['starts_at'], zone)}{where}: {meeting['status']}")
    lines += ["", "## Commitments", ""]
    for c in document["commitments"]:
        lines.append(f"- #{c['number']} {_who(names, c['user_id'])}: {c['text']} ({c['status'].replace('_', ' ')})")
        if c.get("note"):
            lines.append(f"  - note: {c['note']}")
    lines += ["", "## Wins", ""]
    lines += [f"- {_local(w['created_at'], zone, '%Y-%m-%d')} {_who(names, w['user_id'])}: {w['text']}" for w in document["wins"]]
    lines += ["", "## Goals", ""]
    lines += [f"- #{g['number']} {_who(names, g['user_id'])}: {g['text']} ({g['status'].replace('_', ' ')})"
              for g in document["goals"]]
    lines += ["", "## KPIs (as the group sees them)", ""]
    for k in document["kpis"]:
        points = ", ".join(
            f"{p['month'][:7]}: " + (f"{p['value']} {k['unit']}" if p["value"] is not None else
                                      f"{p['change_pct']:+d}%" if p["change_pct"] is not None else "logged")
            for p in k["points"]
        )
        lines.append(f"- {_who(names, k['user_id'])}, {k['name']}: {points or 'nothing logged'}")
    lines += ["", "## Check-ins shared with the group", ""]
    for ci in document["checkins"]:
        lines.append(f"- module {ci['module_number']} ({ci['module_title']}), {_who(names, ci['user_id'])}")
        for field in ("consumed", "activities", "learning", "application"):
            if ci[field]:
                lines.append(f"  - {field}: {ci[field]}")
    lines += ["", "## Brainstorms", ""]
    for b in document["brainstorms"]:
        lines.append(f"- Brainstorm #{b['number']} ({b['status']}), {_who(names, b['owner_id'])}: {b['issue']}")
        lines += [f"  - {i['text']}: {i['votes']} votes{', adopted' if i['adopted'] else ''}" for i in b["ideas"]]
    lines += ["", "## Minutes", ""]
    for minutes in document["minutes"]:
        lines.append(f"### {_local(minutes['starts_at'], zone)}")
        tally = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in minutes["report_back"].items())
        lines.append(f"- report-back: {tally or 'nothing due'}")
        for made in minutes["new_commitments"]:
            lines.append(f"- new from {_who(names, made['user_id'])}: " + "; ".join(made["texts"]))
        for win in minutes["wins"]:
            lines.append(f"- win, {_who(names, win['user_id'])}: {win['text']}")
        for outcome in minutes["brainstorms"]:
            lines.append(f"- brainstorm {outcome['issue']}: {outcome['adopted']} ideas adopted")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


class GroupDataService(Service):
    async def export(self, actor: Actor, *, group_id: int | None) -> GroupExport:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await _require_facilitator(session, group, actor)
            document = await _group_document(session, group, self.now())
            log.info("Exported group %s of server %s", group.id, group.guild_id)
            return GroupExport(group.name, self.now(), document)

    async def ask_delete(self, actor: Actor, *, group_id: int | None) -> GroupRef:
        """The group a delete would remove, if the member may delete it (nothing changes yet)."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await _require_facilitator(session, group, actor)
            return GroupRef(group.id, group.name)

    async def delete(self, actor: Actor, *, group_id: int, asked_by: int, asked_at: datetime) -> GroupDeleted:
        """Delete the group and all its data; ``actor`` pressed the confirmation ``asked_by`` asked for
        at ``asked_at``: only that facilitator, within 10 minutes."""
        if actor.user_id != asked_by:
            raise NotAllowed("Only the facilitator who asked can confirm this.")
        if self.now() - asked_at > CONFIRM_WINDOW:
            raise InvalidInput("This confirmation has expired (10 minutes). Run `/group delete` again.")
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await _require_facilitator(session, group, actor)
            name = group.name
            pending = await session.scalar(
                select(func.count()).select_from(OutboxRow)
                .where(OutboxRow.group_id == group.id, OutboxRow.status == OutboxStatus.PENDING)
            ) or 0
            rows = await delete_group_rows(session, group.id)
        log.info("Deleted group %s of server %s: %d rows (%d pending notifications)", group_id, actor.guild_id,
                 sum(rows.values()), pending)
        return GroupDeleted(name, sum(rows.values()), pending)


async def _group_document(session: AsyncSession, group: Group, now: datetime) -> dict[str, Any]:
    members = await members_of(session, group.id)
    meetings = list(await session.scalars(
        select(Meeting).where(Meeting.group_id == group.id).order_by(Meeting.starts_at, Meeting.id)
    ))
    numbers = {c.id: c.number for c in await session.scalars(select(Commitment).where(Commitment.group_id == group.id))}
    commitments = []
    for c in await session.scalars(
        select(Commitment).where(Commitment.group_id == group.id).order_by(Commitment.number)
    ):
        shown = c.note if c.note and c.note_shared and group.board_notes == NoteSharing.MEMBER_CHOOSES else None
        commitments.append({
            "number": c.number, "user_id": c.user_id, "text": c.text, "status": c.status,
            "due_at": _plain(c.due_at), "reported_at": _plain(c.reported_at), "note": shown,
            "carried_from": numbers.get(c.carried_from_id) if c.carried_from_id else None,
        })
    wins = [{"user_id": w.user_id, "text": w.text, "created_at": _plain(w.created_at)}
            for w in await session.scalars(select(Win).where(Win.group_id == group.id).order_by(Win.created_at, Win.id))]
    goals = [{"number": g.number, "user_id": g.user_id, "text": g.text, "status": g.status,
              "target": _plain(g.target), "unit": g.unit, "due_on": _plain(g.due_on)}
             for g in await session.scalars(select(Goal).where(Goal.group_id == group.id,
                                                               Goal.status != GoalStatus.DROPPED)
                                            .order_by(Goal.number))]
    kpis = []
    for kpi in await session.scalars(select(Kpi).where(Kpi.group_id == group.id).order_by(Kpi.user_id, Kpi.id)):
        entries = list(await session.scalars(select(KpiEntry).where(KpiEntry.kpi_id == kpi.id)))
        view = visible_kpi(kpi, entries, Relation.MEMBER)  # what the group sees: not the facilitator's extra
        if view is None:
            continue
        kpis.append({
            "user_id": view.user_id, "name": view.name, "unit": view.unit, "visibility": view.visibility,
            "target": _plain(view.target),
            "points": [{"month": _plain(p.month), "value": _plain(p.value), "change_pct": p.change_pct}
                       for p in view.points],
        })
    checkins = [
        {"module_number": ci.module_number, "module_title": ci.module_title, "user_id": ci.user_id,
         "consumed": ci.consumed, "activities": ci.activities, "learning": ci.learning,
         "application": ci.application, "created_at": _plain(ci.created_at)}
        for ci in await session.scalars(select(CheckIn).where(CheckIn.group_id == group.id, CheckIn.visibility == "group")
                                        .order_by(CheckIn.created_at, CheckIn.id))
    ]
    brainstorms = []
    for storm in await session.scalars(select(Brainstorm).where(Brainstorm.group_id == group.id)
                                       .order_by(Brainstorm.number)):
        ideas = await session.scalars(select(BrainstormIdea).where(BrainstormIdea.brainstorm_id == storm.id)
                                      .order_by(BrainstormIdea.votes.desc(), BrainstormIdea.number))
        brainstorms.append({
            "number": storm.number, "issue": storm.issue, "details": storm.details, "status": storm.status,
            "owner_id": None if storm.anonymous else storm.owner_id,
            "ideas": [{"text": i.text, "votes": i.votes, "adopted": i.commitment_id is not None} for i in ideas],
        })
    minutes = []
    for meeting in meetings:
        if meeting.status != MeetingStatus.ENDED:
            continue
        m = await minutes_of(session, group, meeting, now)
        minutes.append({
            "starts_at": _plain(m.starts_at), "ended_at": _plain(m.ended_at), "report_back": dict(m.tally.counts),
            "new_commitments": [{"user_id": uid, "texts": list(texts)} for uid, texts in m.new_commitments],
            "wins": [{"user_id": uid, "text": text} for uid, text in m.wins],
            "brainstorms": [{"issue": b.issue, "owner_id": b.owner_id, "status": b.status, "adopted": b.adopted,
                             "top": [{"text": i.text, "votes": i.votes, "adopted": i.adopted} for i in b.top]}
                            for b in m.brainstorms],
        })
    return {
        "exported_at": _plain(now),
        "group": {"name": group.name, "timezone": group.timezone, "created_at": _plain(group.created_at),
                  "archived_at": _plain(group.archived_at), "max_members": group.max_members,
                  "announce_commitments": group.announce_commitments, "board_notes": group.board_notes},
        "members": [{"user_id": m.user_id, "facilitator": m.is_facilitator, "joined_at": _plain(m.joined_at)}
                    for m in members],
        "meetings": [{"starts_at": _plain(m.starts_at), "status": m.status, "location": m.location,
                      "ended_at": _plain(m.ended_at)} for m in meetings],
        "commitments": commitments,
        "wins": wins,
        "goals": goals,
        "kpis": kpis,
        "checkins": checkins,
        "brainstorms": brainstorms,
        "minutes": minutes,
    }
