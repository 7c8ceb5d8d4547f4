"""Brainstorms (Peer-to-Peer Action Learning): a tabled issue, its ideas, and the votes on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class BrainstormStatus(StrEnum):
    """A brainstorm's ``status``: open → closed."""

    OPEN = "open"
    CLOSED = "closed"


class Brainstorm(Base):
    """``status`` open / closed (:class:`BrainstormStatus`)."""

    __tablename__ = "brainstorm"
    __table_args__ = (
        Index("ix_brainstorm_group_status", "group_id", "status"),
        UniqueConstraint("group_id", "number", name="uq_brainstorm_group_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # per group: "Brainstorm #3"
    owner_id: Mapped[int] = mapped_column(Snowflake)
    issue: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(String(1500))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    max_votes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=BrainstormStatus.OPEN)
    thread_id: Mapped[int | None] = mapped_column(Snowflake, unique=True)
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class BrainstormIdea(Base):
    __tablename__ = "brainstorm_idea"
    __table_args__ = (UniqueConstraint("brainstorm_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    brainstorm_id: Mapped[int] = mapped_column(ForeignKey("brainstorm.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(Snowflake)
    text: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(Snowflake, unique=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("commitment.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class BrainstormVote(Base):
    """One member backing one idea (a 👍 reaction that counted)."""

    __tablename__ = "brainstorm_vote"
    __table_args__ = (Index("ix_brainstorm_vote_brainstorm_user", "brainstorm_id", "user_id"),)

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("brainstorm_idea.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    brainstorm_id: Mapped[int] = mapped_column(ForeignKey("brainstorm.id", ondelete="CASCADE"))
    guild_id: Mapped[int] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
