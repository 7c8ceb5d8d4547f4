"""The data layer's plumbing: declarative base, column types and the engine factory.

Nothing here runs at import time; the composition root calls :func:`create_engine` once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How long a SQLite statement waits for another connection's write lock before "database is locked".
# Kept short: a wait can end up holding the event loop (see ``_SQLiteCursor``), and a handler that
# holds the lock longer than this is a bug to fix, not a queue to wait in.
SQLITE_BUSY_TIMEOUT_MS = 5_000


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always read back timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Discord snowflakes need 64 bits: a PostgreSQL INTEGER overflows on them.
Snowflake = BigInteger


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class _SQLiteCursor(sqlite3.Cursor):
    """A cursor that closes itself, on the connection's own thread, as soon as a statement fails.

    aiosqlite runs every call on the connection's worker thread, and SQLAlchemy closes a cursor
    there after a successful statement — but not after a failed one (an ``OverflowError`` binding a
    too-large integer, a constraint violation…): that cursor lives on in the exception's traceback
    until the garbage collector frees it, on the event loop's thread, at some random later moment.
    Freeing it resets its statement under the connection's mutex; if the worker thread is then
    waiting out the busy timeout on the same connection (holding that mutex), the whole event loop
    waits with it — and the connection it waits for can only finish on the event loop. Closing the
    cursor here, where the error happens, leaves nothing for the collector to do.
    """

    def _closing(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise

    def execute(self, *args: Any) -> Any:
        return self._closing(super().execute, *args)

    def executemany(self, *args: Any) -> Any:
        return self._closing(super().executemany, *args)

    def executescript(self, *args: Any) -> Any:
        return self._closing(super().executescript, *args)

    def fetchone(self) -> Any:
        return self._closing(super().fetchone)

    def fetchmany(self, *args: Any) -> Any:
        return self._closing(super().fetchmany, *args)

    def fetchall(self) -> Any:
        return self._closing(super().fetchall)


class _SQLiteConnection(sqlite3.Connection):
    """A pysqlite connection whose cursors are :class:`_SQLiteCursor` (aiosqlite calls ``cursor()``)."""

    def cursor(self, factory: Any = _SQLiteCursor) -> Any:
        return super().cursor(factory)


def create_private_file(path: Path) -> None:
    """Create the SQLite file (and the directories the bot makes for it) readable by its owner only.

    0600 for the file, 0700 for each directory created here; SQLite gives its ``-wal`` and ``-shm``
    files the database file's mode. An existing file or directory is left as the host set it.
    """
    missing = [parent for parent in (path.parent, *path.parent.parents) if not parent.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is reduced by the umask; this is not widened by it
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


# The execution options of a read-only transaction (``Service.read``): on SQLite ``READ_ONLY`` makes
# ``_configure_sqlite`` open it with a deferred ``BEGIN`` under ``PRAGMA query_only``; on PostgreSQL
# ``postgresql_readonly`` makes asyncpg open it with ``BEGIN READ ONLY`` (reset when the connection
# returns to the pool). Each dialect ignores the other's option.
READ_ONLY = "roundtable_read_only"
READ_ONLY_OPTIONS: dict[str, Any] = {READ_ONLY: True, "postgresql_readonly": True}
_QUERY_ONLY = "roundtable_query_only"  # dbapi connection info: PRAGMA query_only is ON on it


def create_engine(database_url: str, *, echo: bool = False, poolclass: Any = None) -> AsyncEngine:
    """One AsyncEngine for the process, configured for the database behind ``database_url``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            create_private_file(Path(url.database))
        extra = {"poolclass": poolclass} if poolclass is not None else {}
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": _SQLiteConnection}
        engine = create_async_engine(url, echo=echo, connect_args=connect_args, **extra)
        _configure_sqlite(engine)
    elif poolclass is not None:
        engine = create_async_engine(url, echo=echo, poolclass=poolclass)
    else:
        engine = create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)
    event.listen(engine.sync_engine, "before_cursor_execute", _without_nul_bytes, retval=True)
    return engine


def _strip_nul(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return parameters.replace("\x00", "")
    if isinstance(parameters, dict):
        return {key: _strip_nul(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_strip_nul(value) for value in parameters)
    return parameters


def _has_nul(parameters: Any) -> bool:
    if isinstance(parameters, str):
        return "\x00" in parameters
    if isinstance(parameters, dict):
        return any(_has_nul(value) for value in parameters.values())
    if isinstance(parameters, (list, tuple)):
        return any(_has_nul(value) for value in parameters)
    return False


def _without_nul_bytes(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    """Every text parameter loses its NUL bytes, on both databases.

    PostgreSQL can't store U+0000 in text at all (asyncpg fails the whole statement), and it is
    never meant: a NUL in something a member typed (a commitment, a name, an autocomplete query)
    is dropped here, once, so the same text is stored on SQLite and PostgreSQL alike.
    """
    if _has_nul(parameters):
        parameters = _strip_nul(parameters)
    return statement, parameters


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, NORMAL sync, a busy timeout, serialised writes and lock-free reads.

    Every read-write transaction starts with ``BEGIN IMMEDIATE``: it takes SQLite's write lock up
    front and waits for it under the busy timeout, so two handlers writing at once queue instead of
    one failing with "database is locked" when a read transaction tries to upgrade.

    A read-only transaction (the ``READ_ONLY`` execution option, ``Service.read``) starts with a
    deferred ``BEGIN`` under ``PRAGMA query_only=ON``: in WAL mode it reads a snapshot and never
    waits for a writer (nor a writer for it), and any write in it fails at once ("attempt to write a
    readonly database") instead of upgrading to the write lock. ``query_only`` is switched off again
    as the transaction ends (and, should that have failed, before the connection's next write).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own transaction handling would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        info = connection.connection.info
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            connection.exec_driver_sql("PRAGMA query_only=ON")
            info[_QUERY_ONLY] = True
            return
        if info.get(_QUERY_ONLY):
            connection.exec_driver_sql("PRAGMA query_only=OFF")
            info[_QUERY_ONLY] = False
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _end_read(connection: Any) -> None:
        info = connection.connection.info
        if info.get(_QUERY_ONLY):
            with contextlib.suppress(Exception):  # a dead connection: the next write's begin retries
                connection.exec_driver_sql("PRAGMA query_only=OFF")
                info[_QUERY_ONLY] = False

    event.listen(engine.sync_engine, "commit", _end_read)
    event.listen(engine.sync_engine, "rollback", _end_read)


def create_sessionmaker(
    engine: AsyncEngine, *, sync_session_class: type[Session] = Session
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=sync_session_class)
