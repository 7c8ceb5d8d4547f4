"""``python -m bot`` (or ``roundtable``): run the bot. Also ``migrate`` (migrate only), ``backup PATH``
(a consistent copy of the database, or the ``pg_dump`` line for PostgreSQL) and ``check`` (settings,
database, Discord and intents, one line each). See docs/OPERATIONS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import TextIO

from bot.logs import setup_logging as configure_logging
from bot.settings import ConfigError, DatabaseSettings, Settings, load_settings

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


CHECK_TIMEOUT_SECONDS = 5.0
DEFAULT_API_BASE = "https://discord.com/api/v10"


def setup_logging(settings: DatabaseSettings) -> None:
    """Text or JSON lines (LOG_FORMAT) on stderr; the token and the database password, if any,
    blanked out of every line."""
    from sqlalchemy.engine import make_url

    token = settings.discord_token.get_secret_value() if isinstance(settings, Settings) else ""
    password = make_url(settings.database_url).password or ""
    configure_logging(settings.log_level_number, settings.log_format, secrets=[token, str(password)])


async def run_bot(settings: Settings) -> int:
    from bot.app import App, StartupError, freeze_startup_heap

    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await app.check_database()
        if settings.bot_auto_migrate:
            await app.migrate()
        await app.start()
        freeze_startup_heap()
        closed = asyncio.create_task(app.wait_closed())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            log.info("Stopping…")
        return 0
    except StartupError as exc:
        log.error("%s", exc)
        return EXIT_RUNTIME
    except Exception as exc:
        import aiohttp
        import discord

        if isinstance(exc, aiohttp.ClientConnectionError | OSError):
            where = settings.discord_api_base or "Discord"
            log.error("Cannot reach %s: %s. Check the network (or DISCORD_API_BASE).", where, exc)
            return EXIT_RUNTIME
        if isinstance(exc, discord.LoginFailure):
            log.error("Discord refused the token: check DISCORD_TOKEN (Bot → Reset Token in the developer portal).")
            return EXIT_CONFIG
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            log.error("Discord asks for a privileged intent; Roundtable needs none. Is this the right token?")
            return EXIT_RUNTIME
        log.exception("Roundtable stopped on an unexpected error")
        return EXIT_RUNTIME
    finally:
        await app.stop()
        log.info("Stopped.")


async def run_migrate(settings: DatabaseSettings) -> int:
    from bot import migrate
    from bot.db import create_engine

    engine = create_engine(settings.database_url)
    try:
        if not await migrate.upgrade(engine):
            log.info("Database already at the newest schema (%s)", migrate.head_revision())
        return 0
    except migrate.SchemaTooNew as exc:
        log.error("%s", exc)
        return EXIT_RUNTIME
    except OSError as exc:
        log.error("Cannot reach the database: %s", exc)
        return EXIT_RUNTIME
    finally:
        await engine.dispose()


# --- forget-user ----------------------------------------------------------------------------------


async def run_forget_user(settings: DatabaseSettings, user_id: int, out: TextIO | None = None) -> int:
    """A Discord-initiated deletion: forget ``user_id`` in every server; print counts, never content."""
    from bot.clock import SystemClock
    from bot.db import create_engine, create_sessionmaker
    from bot.errors import UserError
    from bot.features import bind_features
    from bot.services import FEATURES, ServiceContext
    from bot.services.mydata import MyDataService

    out = out or sys.stdout
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessionmaker(engine)
        bind_features(sessions, FEATURES)
        clock = SystemClock()
        service = MyDataService(ServiceContext(sessions=sessions, clock=clock))
        try:
            summary = await service.forget(user_id=user_id, guild_id=None, confirmed_by=user_id,
                                           requested_at=clock.now())
        except UserError as exc:
            print(f"Refused, nothing deleted: {exc}", file=out)
            return EXIT_RUNTIME
        print(f"Forgot user {user_id}: {summary.servers} servers, {summary.groups_left} groups left, "
              f"{summary.rows} rows deleted or anonymised.", file=out)
        return 0
    finally:
        await engine.dispose()


# --- backup ---------------------------------------------------------------------------------------


class BackupError(Exception):
    """The backup could not be made; ``str()`` is the line shown to the host."""


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copy a live SQLite database with the online backup API (consistent, WAL included); return the file.

    Safe while the bot runs: the copy is one read transaction, which in WAL mode blocks no writer.
    The copy is a single self-contained file (rollback journal, not WAL), checked before it is kept.
    """
    if not source.is_file():
        raise BackupError(f"No database file at {source}: nothing to back up.")
    if target.is_dir():
        from bot.clock import SystemClock

        target = target / f"roundtable-{SystemClock().now():%Y%m%d-%H%M%S}.db"
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name.")
    if target.resolve() == source.resolve():
        raise BackupError("The backup must go to another file than the database itself.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    from bot.db import create_private_file

    create_private_file(partial)  # a copy of every member's data: owner-only, like the database
    try:
        with closing(sqlite3.connect(source, timeout=30)) as live, closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"The copy failed its integrity check ({verdict}); the database may be damaged.")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot back up {source}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def schema_revision_of(path: Path) -> str | None:
    with closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return None if row is None else str(row[0])


def pg_dump_command(database_url: str, target: str) -> list[str]:
    """The ``pg_dump`` command line for this database (no password: PGPASSWORD or ~/.pgpass)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    command = ["pg_dump", "--format=custom", "--no-owner"]
    if url.host:
        command.append(f"--host={url.host}")
    if url.port:
        command.append(f"--port={url.port}")
    if url.username:
        command.append(f"--username={url.username}")
    command += [f"--dbname={url.database or 'postgres'}", f"--file={target}"]
    return command


def run_backup(settings: DatabaseSettings, target: str, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not settings.is_sqlite:
        print("PostgreSQL: back up with pg_dump (safe while the bot runs):", file=out)
        print("  " + shlex.join(pg_dump_command(settings.database_url, target)), file=out)
        print("The password is not on this line: pg_dump reads PGPASSWORD or ~/.pgpass.", file=out)
        print("Restore into an empty database with: pg_restore --no-owner --dbname=NAME " + shlex.quote(target), file=out)
        return 0
    source = settings.sqlite_path()
    if source is None:
        print("The database is in memory: there is nothing on disk to back up.", file=sys.stderr)
        return EXIT_RUNTIME
    try:
        written = backup_sqlite(source, Path(target))
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return EXIT_RUNTIME
    size_kib = written.stat().st_size / 1024
    revision = schema_revision_of(written) or "none"
    print(f"Backed up {source} to {written} ({size_kib:.0f} KiB, schema revision {revision}).", file=out)
    return 0


# --- check ----------------------------------------------------------------------------------------


class _Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False

    def line(self, status: str, what: str, detail: str) -> None:
        if status == "FAIL":
            self.failed = True
        print(f"{status:<5} {what}: {detail}", file=self.out)


async def _check_database(settings: Settings, report: _Report) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bot import migrate
    from bot.db import create_engine

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    path = settings.sqlite_path()
    if path is not None and not path.is_file():
        status = "warn" if settings.bot_auto_migrate else "FAIL"
        report.line("ok", "database", f"{shown} (the file does not exist yet)")
        report.line(status, "schema", _not_migrated_advice(settings, "the database is empty"))
        return
    engine = create_engine(settings.database_url)
    try:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:
            detail = "no answer" if isinstance(exc, TimeoutError) else f"{exc.__class__.__name__}: {exc}"
            report.line("FAIL", "database", f"cannot reach {shown}: {detail}")
            return
        report.line("ok", "database", f"{shown} answers")
        current = await migrate.current_revision(engine)
        head = migrate.head_revision()
        known = {rev.revision for rev in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()}
        if current == head:
            report.line("ok", "schema", f"at the newest revision ({head})")
        elif current is not None and current not in known:
            report.line(
                "FAIL", "schema", f"at revision {current}, which this version does not know (migrated by a newer release)"
            )
        else:
            status = "warn" if settings.bot_auto_migrate else "FAIL"
            report.line(status, "schema", _not_migrated_advice(settings, f"at revision {current or 'none'}, newest is {head}"))
    finally:
        await engine.dispose()


def _not_migrated_advice(settings: Settings, state: str) -> str:
    if settings.bot_auto_migrate:
        return f"{state}; the bot migrates it at start (BOT_AUTO_MIGRATE=true), or run `python -m bot migrate`"
    return f"{state}; run `python -m bot migrate` (BOT_AUTO_MIGRATE=false)"


async def _check_discord(settings: Settings, report: _Report) -> None:
    import aiohttp

    base = settings.discord_api_base or DEFAULT_API_BASE
    headers = {
        "Authorization": f"Bot {settings.discord_token.get_secret_value()}",
        "User-Agent": "DiscordBot (https://github.com/roundtable, 0.1) roundtable-check",
    }
    try:
        timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{base}/users/@me", headers=headers) as response,
        ):
            status = response.status
            body = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientConnectionError, TimeoutError, OSError) as exc:
        report.line("skip", "Discord", f"cannot reach {base} ({exc.__class__.__name__}): token not checked (offline?)")
        return
    if status == 200 and isinstance(body, dict):
        report.line("ok", "Discord", f"token accepted: this is {body.get('username', '?')} (id {body.get('id', '?')})")
    elif status == 401:
        report.line("FAIL", "Discord", "the token was refused: check DISCORD_TOKEN (Bot → Reset Token)")
    else:
        report.line("FAIL", "Discord", f"{base} answered HTTP {status} to GET /users/@me")


def _check_intents(report: _Report) -> None:
    from bot.client import bot_intents

    intents = bot_intents()
    enabled = [name for name, value in intents if value]
    privileged = [name for name in ("members", "presences", "message_content") if getattr(intents, name)]
    if privileged:
        report.line("warn", "intents", f"privileged intents requested: {', '.join(privileged)} (enable them in the portal)")
    else:
        report.line("ok", "intents", f"{', '.join(enabled)} (no privileged intent to enable in the portal)")


async def run_check(settings: Settings, out: TextIO | None = None) -> int:
    report = _Report(out or sys.stdout)
    api = settings.discord_api_base or DEFAULT_API_BASE
    if settings.shard_ids is not None:
        shards = f", shards {','.join(map(str, settings.shard_ids))} of {settings.shard_count}"
    elif settings.shard_count is not None:
        shards = f", all {settings.shard_count} shards"
    else:
        shards = ""
    report.line("ok", "settings", f"loaded (Discord API {api}, tick {settings.scheduler_tick_seconds:g} s{shards})")
    await _check_database(settings, report)
    await _check_discord(settings, report)
    _check_intents(report)
    return EXIT_RUNTIME if report.failed else 0


# --- entry point ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Roundtable, the peer-group bot.")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("migrate", help="migrate the database to the newest schema, then exit")
    backup = commands.add_parser("backup", help="back up the database to PATH (SQLite), or print the pg_dump line")
    backup.add_argument("path", help="the backup file to write (or a folder: a dated file is made in it)")
    commands.add_parser("check", help="check the settings, the database, the token and the intents")
    forget = commands.add_parser("forget-user", help="delete a Discord user's data in every server (prints counts)")
    forget.add_argument("user_id", type=int, help="the Discord user id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    needs_token = command in ("run", "check")
    try:
        settings = load_settings(Settings if needs_token else DatabaseSettings)
    except ConfigError as exc:
        if command == "check":
            print(f"FAIL  settings: {exc}")
        else:
            print(exc, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings)
    if command == "migrate":
        return asyncio.run(run_migrate(settings))
    if command == "backup":
        return run_backup(settings, args.path)
    if command == "forget-user":
        return asyncio.run(run_forget_user(settings, args.user_id))
    assert isinstance(settings, Settings)
    if command == "check":
        return asyncio.run(run_check(settings))
    return asyncio.run(run_bot(settings))


if __name__ == "__main__":
    sys.exit(main())
