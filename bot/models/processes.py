"""The bot's live processes, for sharing one send budget across them (``bot.processes``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base


class BotProcess(Base):
    """One running bot process: its shards and its last heartbeat (the database's clock)."""

    __tablename__ = "bot_processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # a uuid4, hex
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    shard_ids: Mapped[str] = mapped_column(String(4000))  # comma-separated; "" when it holds every shard
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
