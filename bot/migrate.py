"""Programmatic Alembic: migrate to head once, safely, at start or as a deploy step."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

log = logging.getLogger(__name__)

# pg_advisory_lock key: two processes starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x526F756E64  # "Round"


class SchemaTooNew(Exception):
    """The database was migrated by a newer Roundtable than this one."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> bool:
    """Upgrade in this connection; True when anything was applied."""
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    current = _current_revision(connection)
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaTooNew(
            f"The database is at schema revision {current}, which this version of Roundtable does not "
            "know: it was migrated by a newer release. Upgrade the bot, or point DATABASE_URL at "
            "another database."
        )
    if current == script.get_current_head() and revision == "head":
        return False
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    return True


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> bool:
    """Migrate to ``revision``; idempotent. On PostgreSQL, under an advisory lock."""
    async with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await connection.commit()
        try:
            applied = await connection.run_sync(_upgrade, revision)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await connection.commit()
    if applied:
        log.info("Database migrated to %s", revision)
    return applied


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_downgrade, revision)
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)
