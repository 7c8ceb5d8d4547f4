"""Fixtures shared by every test: real databases (a SQLite file, and PostgreSQL when available),
a manual clock, and the services built on them.

PostgreSQL: set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test). Each test gets
its own database, copied from a template migrated once per session. Without a reachable server the
PostgreSQL variants skip with the reason — unless REQUIRE_POSTGRES=1 (CI), and then they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import migrate
from bot.clock import ManualClock
from bot.db import create_engine, create_sessionmaker
from bot.services import ServiceContext, Services

# A Monday, mid-morning UTC: far from any daylight-saving change unless a test moves it.
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _pg_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _require_postgres() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


async def _pg_execute(sql: str) -> None:
    import asyncpg

    url = make_url(_pg_admin_url() or "")
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, database=url.database or "postgres", timeout=5,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url_for(database: str) -> str:
    url = make_url(_pg_admin_url() or "").set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


class _Templates:
    """Databases migrated to head once per session, copied for each test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_error: str | None = None

    async def sqlite(self, path: Path) -> str:
        if self.sqlite_template is None:
            template = self.root / "template.db"
            engine = create_engine(f"sqlite+aiosqlite:///{template}")
            await migrate.upgrade(engine)
            await engine.dispose()
            self.sqlite_template = template
        shutil.copy(self.sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def postgres(self) -> str:
        if _pg_admin_url() is None:
            self._unavailable("TEST_DATABASE_URL is not set")
        if self.pg_error:
            self._unavailable(self.pg_error)
        if self.pg_template is None:
            name = f"rt_template_{uuid.uuid4().hex[:8]}"
            try:
                await _pg_execute(f'CREATE DATABASE "{name}"')
            except Exception as exc:
                self.pg_error = f"PostgreSQL at TEST_DATABASE_URL does not answer: {exc}"
                self._unavailable(self.pg_error)
            engine = create_engine(_pg_url_for(name))
            await migrate.upgrade(engine)
            await engine.dispose()
            self.pg_template = name
        name = f"rt_test_{uuid.uuid4().hex[:12]}"
        await _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
        return _pg_url_for(name)

    @staticmethod
    def _unavailable(reason: str) -> None:
        if _require_postgres():
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)

    async def drop_pg_template(self) -> None:
        if self.pg_template:
            await _pg_execute(f'DROP DATABASE IF EXISTS "{self.pg_template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    if templates.pg_template:
        asyncio.run(templates.drop_pg_template())


async def fresh_database_url(backend: str, templates: _Templates, tmp_path: Path) -> str:
    if backend == "sqlite":
        return await templates.sqlite(tmp_path / "roundtable.db")
    return await templates.postgres()


async def drop_database_url(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        await _pg_execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database_url(backend: str, _templates: _Templates, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database migrated to head, on each backend."""
    url = await fresh_database_url(backend, _templates, tmp_path)
    yield url
    await drop_database_url(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def services(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> Services:
    return Services.build(ServiceContext(sessions=sessions, clock=clock))
