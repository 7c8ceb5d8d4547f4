"""A member's goals in a group (with an optional number and date), and their KPIs logged per month."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.db import Base, Snowflake


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal stored as its text (SQLite has no exact decimal type; a float would round)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return format(Decimal(value).normalize(), "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class GoalStatus(StrEnum):
    """A goal's ``status``: on track ⇄ at risk ⇄ behind → done | dropped."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        """How members read it: "on track", "at risk"."""
        return self.value.replace("_", " ")

    @property
    def is_open(self) -> bool:
        return self not in (GoalStatus.DONE, GoalStatus.DROPPED)


class KpiDirection(StrEnum):
    """Which way is better for a KPI: ``up`` (revenue) or ``down`` (churn)."""

    UP = "up"
    DOWN = "down"


class KpiVisibility(StrEnum):
    """Who sees a KPI's figures: only the member, the group the change only, or the group the figures."""

    PRIVATE = "private"
    CHANGE = "change"
    FULL = "full"

    @property
    def label(self) -> str:
        return "change only" if self is KpiVisibility.CHANGE else self.value


class Goal(Base):
    __tablename__ = "goal"
    __table_args__ = (
        UniqueConstraint("group_id", "number"),
        Index("ix_goal_group_user_status", "group_id", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # per group: "#3"
    user_id: Mapped[int] = mapped_column(Snowflake)
    text: Mapped[str] = mapped_column(String(200))
    target: Mapped[Decimal | None] = mapped_column(DecimalText())
    unit: Mapped[str | None] = mapped_column(String(12))
    due_on: Mapped[date | None] = mapped_column(Date)  # "by", a day in the member's zone
    status: Mapped[str] = mapped_column(String(16), default=GoalStatus.ON_TRACK)
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Kpi(Base):
    __tablename__ = "kpi"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Snowflake)
    name: Mapped[str] = mapped_column(String(40))
    name_key: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(12))
    target: Mapped[Decimal | None] = mapped_column(DecimalText())
    direction: Mapped[str] = mapped_column(String(8), default=KpiDirection.UP)
    visibility: Mapped[str] = mapped_column(String(16), default=KpiVisibility.PRIVATE)
    allows_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first month a value may be logged for (the month before the one it was added in).
    first_month: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KpiEntry(Base):
    """A KPI's value for one month (``month`` is the month's first day)."""

    __tablename__ = "kpi_entry"
    __table_args__ = (UniqueConstraint("kpi_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(DecimalText())
    logged_at: Mapped[datetime]
    updated_at: Mapped[datetime]
