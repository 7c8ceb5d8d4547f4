"""Operations end to end: the running bot's /metrics and /healthz while members use it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from tests.e2e.test_process import _read_until
from tests.sim import Channel, Guild, Sim

ROOT = Path(__file__).resolve().parents[2]


async def _get(app: App, path: str) -> tuple[int, str]:
    assert app.metrics_server is not None
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{app.metrics_server.port}{path}"
    ) as response:
        return response.status, await response.text()


async def test_metrics_of_a_running_bot(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    await app.start_metrics(port=0)
    ana = sim.member(guild, "Ana")
    assert not (await sim.command(ana, channel, "help")).content.startswith("Something went wrong")
    refused = await sim.command(ana, channel, "group create", name="Ana's")
    assert refused.ephemeral and "Manage Server" in refused.content

    status, body = await _get(app, "/metrics")
    assert status == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert samples[("roundtable_ready", ())] == 1
    assert samples[("roundtable_gateway_latency_seconds", (("shard", "0"),))] >= 0
    assert samples[("roundtable_interaction_seconds_count", (("command", "help"), ("outcome", "ok")))] == 1
    refused_key = ("roundtable_interaction_seconds_count", (("command", "group create"), ("outcome", "refused")))
    assert samples[refused_key] == 1
    assert samples[("roundtable_interaction_errors_total", (("kind", "user"),))] == 1
    assert ("roundtable_interaction_errors_total", (("kind", "unexpected"),)) not in samples
    assert samples[("roundtable_scheduler_last_tick_age_seconds", ())] >= 0  # the start-up run ticked

    status, body = await _get(app, "/healthz")
    health = json.loads(body)
    assert status == 200 and health["ok"] is True and health["ready"] is True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_python_m_bot_serves_healthz_and_logs_json_lines(sim: Sim, guild: Guild, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEV_GUILD_IDS", "DISCORD_TOKEN"}}
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=sim.token,
        DISCORD_API_BASE=sim.api_base,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        METRICS_PORT=str(port),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        lines = await _read_until(process.stdout, "ready in", seconds=60)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
            status, health = response.status, await response.json()
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            rest = (await process.stdout.read()).decode(errors="replace")
            code = await process.wait()
    assert status == 200 and health["ok"] is True and health["ready"] is True
    assert code == 0, rest
    entries = [json.loads(line) for line in [*lines, *rest.splitlines()] if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(f"/healthz on http://127.0.0.1:{port}" in str(entry["message"]) for entry in entries)
    assert sim.token not in "\n".join(lines) + rest
