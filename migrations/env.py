"""Alembic environment: async, URL from the bot's settings, batch mode for SQLite.

Run programmatically by ``bot.migrate`` (which hands over a connection that holds the migration
lock) or from the command line with ``alembic`` in the project root (URL from DATABASE_URL).
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

import bot.models  # (registers the core's tables on the metadata)
import bot.services.catalog  # noqa: F401  (each feature module imports its models: their tables)
from bot.db import Base, UTCDateTime, create_engine

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay free of application imports: render our TypeDecorator as its impl.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def run_with_connection(connection: Connection) -> None:
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    from bot.settings import DatabaseSettings

    engine = create_engine(DatabaseSettings().database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with_connection)
            await connection.commit()
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_with_connection(connection)
elif context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
else:
    asyncio.run(run_online())
