"""Typed SQLAlchemy models, one module per feature. Importing this package registers them all."""

from bot.db import Base
from bot.models.brainstorms import Brainstorm, BrainstormIdea, BrainstormVote
from bot.models.commitments import Commitment, Win
from bot.models.core import CommandSyncState, DMChannel, GuildSettings, MemberProfile
from bot.models.groups import BuddyPair, Group, GroupMember, Meeting, MeetingSeries, Rsvp
from bot.models.modules import CheckIn, Module
from bot.models.outbox import OutboxRow

__all__ = [
    "Base",
    "Brainstorm",
    "BrainstormIdea",
    "BrainstormVote",
    "BuddyPair",
    "CheckIn",
    "CommandSyncState",
    "Commitment",
    "DMChannel",
    "Group",
    "GroupMember",
    "GuildSettings",
    "Meeting",
    "MeetingSeries",
    "MemberProfile",
    "Module",
    "OutboxRow",
    "Rsvp",
    "Win",
]
