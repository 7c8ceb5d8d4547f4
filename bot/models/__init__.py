"""Typed SQLAlchemy models, one module per feature.

This package re-exports the core's models and those of the features written before a feature's
modules registered its own; a new feature's models (``bot/models/<feature>.py``) are imported by its
own modules, not added here: the catalog (``bot.services.catalog``) imports every feature module, so
their tables are on the metadata wherever the services are (Alembic's env.py imports it too)."""

from bot.db import Base
from bot.models.agenda import AgendaItem
from bot.models.brainstorms import Brainstorm, BrainstormIdea, BrainstormStatus, BrainstormVote
from bot.models.commitments import Commitment, CommitmentStatus, Win
from bot.models.core import CommandSyncState, DMChannel, GuildRemoval, GuildSettings, MemberProfile
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
from bot.models.processes import BotProcess

__all__ = [
    "AgendaItem",
    "Base",
    "BotProcess",
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
    "GuildRemoval",
    "GuildSettings",
    "Kpi",
    "KpiDirection",
    "KpiEntry",
    "KpiVisibility",
    "Meeting",
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
