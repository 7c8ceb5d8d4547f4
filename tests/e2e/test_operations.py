"""Operations end to end: the running bot's /metrics and /healthz while members use it."""

from __future__ import annotations

import json

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from tests.sim import Channel, Guild, Sim


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
