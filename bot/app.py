"""The composition root: settings in, a running bot out. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Sequence
from typing import Any

import discord
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from bot import migrate
from bot.client import RoundtableBot
from bot.clock import Clock, SystemClock
from bot.db import create_engine, create_sessionmaker
from bot.features import FeatureError, FeatureRegistry, bind_features
from bot.metrics import Metrics, MetricsServer, MetricsSources
from bot.processes import IdentifyGate, ProcessRegistry
from bot.scheduler import OutboxScheduler
from bot.services import FEATURES, ServiceContext, Services
from bot.services.outbox import OUTBOX_CHANGED
from bot.settings import Settings
from bot.ui.errors import log_failure
from cogs import EXTENSIONS

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 5.0
LISTENER_TASK_PREFIX = "discord.py: "  # how discord.py names the task of each event listener it runs
LISTENER_GRACE_SECONDS = 1.0


def freeze_startup_heap() -> None:
    """Move everything alive now (modules, discord.py, SQLAlchemy, cogs, the command tree) out of the
    cyclic garbage collector's reach, once the bot is ready.

    It lives as long as the process; left in, every full collection walks it (about 130,000 objects),
    a 100 ms stop of the event loop several times per 10,000 DMs. Frozen: about 25 ms (see
    docs/PERFORMANCE.md, "Event-loop lag"). For the process (``python -m bot``, the benchmarks), not
    for ``App.start``: a test session builds many Apps, and each freeze would keep its garbage.
    """
    gc.collect()
    gc.freeze()


class StartupError(Exception):
    """The bot could not start; ``str()`` is one line for the host."""


class App:
    """Engine, sessions, services, scheduler and client, wired once.

    ``python -m bot`` and the end-to-end tests build the bot through this same class.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        guild_ready_timeout: float = 2.0,
        extra_extensions: Sequence[str] = (),
        features: FeatureRegistry = FEATURES,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine = create_engine(settings.database_url)
        self.sessions = create_sessionmaker(self.engine, sync_session_class=self._session_class())
        # The features (bot.services.catalog): plan_group, the hooks, /group info and /admin outbox
        # find them through the sessions.
        self.features = features
        bind_features(self.sessions, features)
        self.services = Services.build(ServiceContext(sessions=self.sessions, clock=self.clock), features)
        self.bot = RoundtableBot(
            services=self.services,
            clock=self.clock,
            settings=settings,
            extensions=(*EXTENSIONS, *features.extensions, *extra_extensions),
            guild_ready_timeout=guild_ready_timeout,
        )
        # Several processes (PostgreSQL) count themselves to share the send budget; SQLite is one process.
        processes = None if settings.is_sqlite else ProcessRegistry(self.sessions, settings.shard_ids)
        self.scheduler = OutboxScheduler(self.bot, processes=processes)
        self.identify_gate = IdentifyGate(self.engine) if settings.several_processes else None
        self.bot.identify_gate = self.identify_gate
        self.bot.scheduler = self.scheduler  # type: ignore[attr-defined]
        self.metrics = Metrics()
        self.bot.metrics = self.metrics
        self.metrics_server: MetricsServer | None = None
        self._client_task: asyncio.Task[None] | None = None

    def _session_class(self) -> type[Session]:
        """This App's sessions: after a commit that planned outbox rows, the scheduler is told the
        earliest due time, so a row due now is sent at once instead of at the next tick."""

        class AppSession(Session):
            pass

        event.listen(AppSession, "after_commit", self._after_commit)
        event.listen(AppSession, "after_rollback", lambda session: session.info.pop(OUTBOX_CHANGED, None))
        return AppSession

    def _after_commit(self, session: Session) -> None:
        due = session.info.pop(OUTBOX_CHANGED, None)
        if due is None:
            return
        try:
            self.scheduler.poke(due)
        except Exception as exc:  # the commit stands; the next tick sends the row
            log_failure("scheduler wake-up after a commit", exc)

    async def check_database(self) -> None:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise StartupError(f"Cannot reach the database at {self._safe_url()}: {exc.__class__.__name__}: {exc}") from exc

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.settings.database_url).render_as_string(hide_password=True)

    async def migrate(self) -> bool:
        try:
            return await migrate.upgrade(self.engine)
        except migrate.SchemaTooNew as exc:
            raise StartupError(str(exc)) from None

    def metrics_sources(self) -> MetricsSources:
        return MetricsSources(
            engine=self.engine,
            clock=self.clock,
            tick_seconds=self.settings.scheduler_tick_seconds,
            is_ready=self.bot.is_ready,
            latencies=self._latencies,
            last_tick=lambda: self.scheduler.last_tick,
        )

    def _latencies(self) -> list[tuple[int, float]]:
        if isinstance(self.bot, discord.AutoShardedClient):
            return list(self.bot.latencies)
        return [(self.bot.shard_id or 0, self.bot.latency)]

    async def start_metrics(self, port: int | None = None) -> MetricsServer:
        """Serve /metrics and /healthz (on METRICS_PORT unless ``port`` is given; 0 picks a free one)."""
        port = self.settings.metrics_port if port is None else port
        assert port is not None
        self.metrics.attach(self.metrics_sources())
        server = MetricsServer(self.metrics, host=self.settings.metrics_host, port=port)
        try:
            await server.start()
        except OSError as exc:
            raise StartupError(
                f"Cannot serve metrics on {self.settings.metrics_host}:{port}: {exc.strerror or exc}. "
                "Choose another METRICS_PORT (or leave it empty)."
            ) from None
        self.metrics_server = server
        return server

    async def start(self) -> None:
        """Connect the client in the background; return once it is ready (or raise why it stopped)."""
        if self.settings.metrics_port is not None and self.metrics_server is None:
            await self.start_metrics()
        self._client_task = asyncio.create_task(
            self.bot.start(self.settings.discord_token.get_secret_value()), name="discord-client"
        )
        ready = asyncio.create_task(self.bot.wait_until_ready(), name="wait-ready")
        done, _ = await asyncio.wait({self._client_task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._client_task in done:
            ready.cancel()
            self._client_task.result()  # raises why the client stopped
            raise StartupError("The Discord client stopped before it was ready.")
        self._client_task.add_done_callback(self._client_stopped)
        self.check_features()
        await self.scheduler.start()

    def check_features(self) -> None:
        """Every planned kind has one renderer and a label, every renderer a planned kind (the cogs
        are loaded by now); else the bot stops before sending anything, with one line."""
        try:
            self.features.check_renderers(self.bot.notifications.kinds)
        except FeatureError as exc:
            raise StartupError(str(exc)) from None

    def _client_stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("The Discord client stopped", exc_info=task.exception())

    async def run_due(self) -> int:
        """Send every outbox notification due by the clock now (the tests' and the tick's entry)."""
        return await self.scheduler.run_due()

    async def wait_closed(self) -> None:
        if self._client_task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._client_task

    async def _settle_listeners(self) -> None:
        """Event listeners still running (discord.py runs each in its own task) finish, or are cancelled
        after a moment, before the engine goes: one mid-query when the engine is disposed never ends,
        and the loop's close then hangs on it."""
        running = [task for task in asyncio.all_tasks() if not task.done() and self._is_listener(task)]
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=LISTENER_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=LISTENER_GRACE_SECONDS)

    def _is_listener(self, task: asyncio.Task[Any]) -> bool:
        """A task discord.py started for one of this client's event listeners (``Client._run_event``)."""
        if not task.get_name().startswith(LISTENER_TASK_PREFIX):
            return False
        frame = getattr(task.get_coro(), "cr_frame", None)
        return frame is not None and frame.f_locals.get("self") is self.bot

    async def stop(self) -> None:
        """Stop the scheduler, close the client, dispose of the engine — within a few seconds."""
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                if self.metrics_server is not None:
                    await self.metrics_server.stop()
                    self.metrics_server = None
                await self.scheduler.shutdown()
                if not self.bot.is_closed():
                    await self.bot.close()
                await self.wait_closed()
                await self._settle_listeners()
        except TimeoutError:
            log.warning("Shutdown took longer than %.0f s; closing the database anyway", STOP_TIMEOUT_SECONDS)
            if self._client_task is not None:
                self._client_task.cancel()
        finally:
            if self.identify_gate is not None:
                await self.identify_gate.close()
            await self.engine.dispose()
