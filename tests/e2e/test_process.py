"""``python -m bot`` as a host runs it: a real process against the simulator on loopback.

It migrates, connects through DISCORD_API_BASE, logs "ready in N ms", and on SIGTERM stops cleanly
(scheduler stopped, engine disposed) well within 5 s with exit code 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.sim import Guild, Sim

ROOT = Path(__file__).resolve().parents[2]


async def _read_until(stream: asyncio.StreamReader, needle: str, seconds: float) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(seconds):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError(f"process output ended before {needle!r}: {lines}")
            lines.append(raw.decode(errors="replace").rstrip())
            if needle in lines[-1]:
                return lines


async def test_python_m_bot_runs_against_the_api_base_and_stops_on_sigterm(
    sim: Sim, guild: Guild, tmp_path: Path
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DEV_GUILD_IDS", "DISCORD_TOKEN", "DISCORD_API_BASE"}
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=sim.token,
        DISCORD_API_BASE=sim.api_base,
        DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'bot.db'}",
        DEV_GUILD_IDS=str(guild.id),
        LOG_LEVEL="INFO",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        lines = await _read_until(process.stdout, "ready in", seconds=60)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    assert any("migrated to head" in line for line in lines), lines
    assert (tmp_path / "data" / "bot.db").exists()  # the default-style SQLite file, created on first run
    assert sim.registered_commands(guild), "commands were not synced to the dev server"

    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):  # it stops on its own, promptly (not killed)
        rest = (await process.stdout.read()).decode(errors="replace")
        code = await process.wait()
    assert code == 0, rest
    assert "Stopped." in rest and "Traceback" not in rest


async def test_an_unreachable_discord_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEV_GUILD_IDS"}}
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN="x",
        DISCORD_API_BASE="http://127.0.0.1:9/api/v10",  # the discard port: nothing listens
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):
        output = (await process.stdout.read()).decode(errors="replace")
        code = await process.wait()
    assert code == 1, output
    assert "Cannot reach http://127.0.0.1:9/api/v10" in output
    assert "Traceback" not in output
