"""End-to-end fixtures: the Discord simulator, and the real bot (``bot.app.App``) connected to it.

``sim`` starts the simulator; ``guild`` and ``channel`` are a server with the bot in it and its
#general; ``harness`` builds the bot exactly as ``python -m bot`` does (settings → ``App``),
points it at the simulator with ``DISCORD_API_BASE``, migrates a fresh database (SQLite, and
PostgreSQL too where a module overrides ``e2e_backend`` with ``backend``) and starts it; ``app``
is that running ``App``. A test module adds test-only extensions by overriding the
``extensions`` fixture. At teardown the test fails if the bot sent anything Discord would refuse.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import discord
import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import _Templates, drop_database_url, fresh_database_url
from tests.sim import Channel, Guild, Sim

READY_TIMEOUT_SECONDS = 0.05  # the bot waits this long for GUILD_CREATEs after READY (default 2 s)

_SIM_KEY = pytest.StashKey[Sim]()


@dataclass
class Harness:
    """The running bot, and the means to stop and start it again on the same database."""

    sim: Sim
    settings: Settings
    clock: ManualClock
    extensions: Sequence[str]
    app: App | None = None
    others: list[App] = field(default_factory=list)  # more processes on the same database (start_another)
    migrate_seconds: list[float] = field(default_factory=list)
    ready_seconds: list[float] = field(default_factory=list)  # App.start() until the bot is ready

    def build(self) -> App:
        return App(
            self.settings,
            clock=self.clock,
            guild_ready_timeout=READY_TIMEOUT_SECONDS,
            extra_extensions=self.extensions,
        )

    async def start(self) -> App:
        app = self.build()
        started = time.perf_counter()
        try:
            await app.migrate()
            migrated = time.perf_counter()
            await app.start()
        except BaseException:
            await app.stop()
            raise
        self.migrate_seconds.append(migrated - started)
        self.ready_seconds.append(time.perf_counter() - migrated)
        self.app = app
        self.sim.run_due = app.run_due
        await self.sim.settle()
        return app

    async def start_another(self) -> App:
        """A second bot process: its own App (engine, client, scheduler) on the same database and Discord."""
        other = self.build()
        try:
            await other.migrate()
            await other.start()
        except BaseException:
            await other.stop()
            raise
        self.others.append(other)
        await self.sim.settle()
        return other

    async def stop(self) -> None:
        while self.others:
            await self.others.pop().stop()
        if self.app is not None:
            await self.app.stop()
            self.app = None
            self.sim.run_due = None

    async def restart(self) -> App:
        """Stop the bot and start a new one with the same settings, clock and database."""
        await self.stop()
        return await self.start()


@pytest.fixture
def extensions() -> Sequence[str]:
    """Extra extensions for the bot under test (override in a test module)."""
    return ()


@pytest.fixture
async def sim(clock: ManualClock, request: pytest.FixtureRequest) -> AsyncIterator[Sim]:
    simulator = Sim(clock=clock)
    await simulator.start()
    request.node.stash[_SIM_KEY] = simulator
    try:
        yield simulator
    finally:
        await simulator.stop()
    simulator.assert_clean()


@pytest.fixture
def guild(sim: Sim) -> Guild:
    return sim.guild("Test Server")


@pytest.fixture
def channel(sim: Sim, guild: Guild) -> Channel:
    return sim.text_channel(guild, "general")


@pytest.fixture
def e2e_backend() -> str:
    """The bot's database: SQLite. A module overrides it with ``backend`` to run on PostgreSQL too."""
    return "sqlite"


@pytest.fixture
async def settings(
    sim: Sim, guild: Guild, e2e_backend: str, _templates: _Templates, tmp_path: Path
) -> AsyncIterator[Settings]:
    url = await fresh_database_url(e2e_backend, _templates, tmp_path)
    yield Settings(
        discord_token=sim.token,
        database_url=url,
        discord_api_base=sim.api_base,
        dev_guild_ids=[guild.id],
        _env_file=None,  # type: ignore[call-arg]
    )
    await drop_database_url(url)


@pytest.fixture
def _discord_globals() -> Iterator[None]:
    """DISCORD_API_BASE support sets two discord.py class attributes; put them back afterwards."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
async def harness(
    sim: Sim, settings: Settings, clock: ManualClock, extensions: Sequence[str], _discord_globals: None
) -> AsyncIterator[Harness]:
    running = Harness(sim=sim, settings=settings, clock=clock, extensions=tuple(extensions))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def app(harness: Harness) -> App:
    assert harness.app is not None
    return harness.app


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """On failure, show what the simulator saw: problems first, then the bot's last requests."""
    report: pytest.TestReport = yield
    simulator = item.stash.get(_SIM_KEY, None)
    if simulator is not None and report.failed:
        lines = simulator.problems() or ["(no contract violations or unknown routes)"]
        lines += ["", "last requests:"] + [f"  {r}" for r in simulator.requests[-15:]]
        report.sections.append(("discord simulator", "\n".join(lines)))
    return report
