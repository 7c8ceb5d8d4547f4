"""Migrations: head matches the models (no drift), down to base and back up, on both databases;
idempotent re-runs; a database newer than the code is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import bot.services.catalog  # noqa: F401  (as migrations/env.py: every feature's tables on the metadata)
from bot import migrate
from bot.db import Base, create_engine


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def _empty_url(backend: str, templates: object, tmp_path: Path) -> str:
    from tests.conftest import _pg_execute, _pg_url_for, _Templates

    assert isinstance(templates, _Templates)
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    await templates.postgres()  # skips or fails when PostgreSQL is unavailable
    import uuid

    name = f"rt_mig_{uuid.uuid4().hex[:10]}"
    await _pg_execute(f'CREATE DATABASE "{name}"')
    return _pg_url_for(name)


async def test_upgrade_no_drift_downgrade_upgrade(backend: str, _templates: object, tmp_path: Path) -> None:
    from tests.conftest import drop_database_url

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    try:
        assert await migrate.upgrade(engine) is True
        async with engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
        assert await migrate.upgrade(engine) is False  # idempotent: nothing to apply
        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        assert await migrate.upgrade(engine) is True
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
        await drop_database_url(url)


async def test_refuses_a_database_newer_than_the_code(backend: str, _templates: object, tmp_path: Path) -> None:
    from tests.conftest import drop_database_url

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
        with pytest.raises(migrate.SchemaTooNew, match="newer release"):
            await migrate.upgrade(engine)
    finally:
        await engine.dispose()
        await drop_database_url(url)


@pytest.mark.postgres
async def test_two_processes_starting_together_migrate_once(_templates: object, tmp_path: Path) -> None:
    from tests.conftest import drop_database_url

    url = await _empty_url("postgres", _templates, tmp_path)
    first, second = create_engine(url), create_engine(url)
    try:
        results = await asyncio.gather(migrate.upgrade(first), migrate.upgrade(second))
        assert sorted(results) == [False, True]  # one applied the migrations, the other found head
    finally:
        await first.dispose()
        await second.dispose()
        await drop_database_url(url)
