"""``python -m bot`` (or ``roundtable``): run the bot. ``python -m bot migrate``: migrate only."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.settings import ConfigError, DatabaseSettings, Settings, load_settings

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def setup_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    for noisy in ("discord.http", "discord.gateway", "sqlalchemy.engine", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Roundtable, the peer-group bot.")
    parser.add_argument("command", nargs="?", choices=["run", "migrate"], default="run")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(DatabaseSettings if args.command == "migrate" else Settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(getattr(settings, "log_level_number", logging.INFO))
    if args.command == "migrate":
        return asyncio.run(run_migrate(settings))
    return asyncio.run(run_bot(settings))  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
