"""Typed SQLAlchemy models, one module per feature. Importing this package registers them all."""

from bot.db import Base
from bot.models.agenda import AgendaItem
from bot.models.attendance import Attendance, AttendanceStatus, MeetingFeedback
from bot.models.brainstorms import Brainstorm, BrainstormIdea, BrainstormStatus, BrainstormVote
from bot.models.commitments import Commitment, CommitmentStatus, Win
from bot.models.core import CommandSyncState, DMChannel, GuildSettings, MemberProfile
from bot.models.goals import Goal, GoalStatus, Kpi, KpiDirection, KpiEntry, KpiVisibility
from bot.models.groups import (
    BuddyPair,
    BuddyStatus,
    Group,
    GroupMember,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    NoteSharing,
    Rsvp,
    SeriesStatus,
)
from bot.models.modules import CheckIn, Module
from bot.models.outbox import OutboxRow, OutboxStatus

__all__ = [
    "AgendaItem",
    "Attendance",
    "AttendanceStatus",
    "Base",
    "Brainstorm",
    "BrainstormIdea",
    "BrainstormStatus",
    "BrainstormVote",
    "BuddyPair",
    "BuddyStatus",
    "CheckIn",
    "CommandSyncState",
    "Commitment",
    "CommitmentStatus",
    "DMChannel",
    "Goal",
    "GoalStatus",
    "Group",
    "GroupMember",
    "GuildSettings",
    "Kpi",
    "KpiDirection",
    "KpiEntry",
    "KpiVisibility",
    "Meeting",
    "MeetingFeedback",
    "MeetingSeries",
    "MeetingStatus",
    "MemberProfile",
    "Module",
    "NoteSharing",
    "OutboxRow",
    "OutboxStatus",
    "Rsvp",
    "SeriesStatus",
    "Win",
]
