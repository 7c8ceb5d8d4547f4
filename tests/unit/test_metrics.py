"""``/metrics`` and ``/healthz`` served by a real (never connected) App on a real database, and the
JSON log lines (``LOG_FORMAT=json``)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App, StartupError
from bot.clock import ManualClock
from bot.logs import make_formatter
from bot.metrics import LOOP_LAG_SAMPLE_SECONDS
from bot.models.outbox import OutboxRow
from bot.settings import Settings
from bot.ui.errors import log_failure
from tests.conftest import drop_database_url
from tests.unit.seeding import CHANNEL, GUILD, make_group

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.secret-token-value-0123456789"
ANA, BEA = 11, 12


@pytest.fixture
async def app(database_url: str, clock: ManualClock) -> AsyncIterator[App]:
    settings = Settings(discord_token=TOKEN, database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    app = App(settings, clock=clock)
    await app.start_metrics(port=0)
    yield app
    await app.stop()


async def _get(app: App, path: str) -> tuple[int, str, str]:
    assert app.metrics_server is not None and app.metrics_server.port
    url = f"http://127.0.0.1:{app.metrics_server.port}{path}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


def _samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def _add_rows(app: App, clock: ManualClock) -> None:
    group_id = await make_group(app.sessions, clock, name="Readers", channel_id=CHANNEL, members=[ANA, BEA])
    now = clock.now()
    rows = [
        # (kind, status, due): two reminders due (one of them for two hours: overdue), one tomorrow.
        ("meeting_reminder", "pending", now - timedelta(minutes=1)),
        ("meeting_reminder", "pending", now - timedelta(hours=2)),
        ("meeting_reminder", "pending", now + timedelta(days=1)),
        ("checkin_nudge", "sent", now - timedelta(days=2)),
        ("checkin_nudge", "failed", now - timedelta(days=2)),
        ("post_meeting", "expired", now - timedelta(days=3)),
    ]
    async with app.sessions.begin() as session:
        for index, (kind, status, due) in enumerate(rows):
            session.add(OutboxRow(
                kind=kind, guild_id=GUILD, group_id=group_id, occurrence=f"test:{index}", recipient_id=0,
                due_at=due, status=status, payload={}, created_at=now, updated_at=now,
            ))


async def test_metrics_count_outbox_rows_by_kind_and_status(app: App, clock: ManualClock) -> None:
    await _add_rows(app, clock)
    status, content_type, body = await _get(app, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = _samples(body)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("roundtable_outbox_rows", kind="meeting_reminder", status="pending") == 3
    assert value("roundtable_outbox_rows", kind="checkin_nudge", status="sent") == 1
    assert value("roundtable_outbox_rows", kind="checkin_nudge", status="failed") == 1
    assert value("roundtable_outbox_rows", kind="post_meeting", status="expired") == 1
    assert value("roundtable_outbox_due", kind="meeting_reminder") == 2
    assert value("roundtable_outbox_overdue", kind="meeting_reminder") == 1  # more than 3 ticks late
    assert ("roundtable_outbox_due", (("kind", "checkin_nudge"),)) not in samples  # nothing pending
    assert value("roundtable_database_up") == 1
    assert value("roundtable_ready") == 0  # never connected to Discord
    assert value("roundtable_db_pool_checked_out") == 0
    assert ("roundtable_db_pool_size", ()) in samples
    assert ("roundtable_interaction_seconds_count", ()) not in samples  # no command yet

    # What the process records as it runs shows up in the next scrape.
    app.metrics.observe_interaction("help", "ok", 0.2)
    app.metrics.count_interaction_error("unexpected")
    samples = _samples((await _get(app, "/metrics"))[2])
    assert value("roundtable_interaction_seconds_count", command="help", outcome="ok") == 1
    assert value("roundtable_interaction_seconds_bucket", command="help", outcome="ok", le="0.25") == 1
    assert value("roundtable_interaction_seconds_bucket", command="help", outcome="ok", le="0.1") == 0
    assert value("roundtable_interaction_errors_total", kind="unexpected") == 1


async def test_healthz_fails_when_the_scheduler_stops_ticking(app: App) -> None:
    app.scheduler.last_tick = time.monotonic()
    status, content_type, body = await _get(app, "/healthz")
    assert status == 200 and content_type.startswith("application/json")
    health = json.loads(body)
    assert health["ok"] is True and health["database"] == "ok" and health["ready"] is False

    tick = app.settings.scheduler_tick_seconds
    app.scheduler.last_tick = time.monotonic() - 3 * tick - 5  # three ticks missed
    status, _, body = await _get(app, "/healthz")
    health = json.loads(body)
    assert status == 503 and health["ok"] is False
    assert any(problem.startswith("scheduler: no tick") for problem in health["problems"])
    samples = _samples((await _get(app, "/metrics"))[2])
    assert samples[("roundtable_scheduler_last_tick_age_seconds", ())] > 3 * tick


async def test_healthz_fails_when_the_database_is_gone(app: App, database_url: str) -> None:
    app.scheduler.last_tick = time.monotonic()
    assert (await _get(app, "/healthz"))[0] == 200

    await app.engine.dispose()
    path = app.settings.sqlite_path()
    if path is not None:
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    else:
        await drop_database_url(database_url)

    status, _, body = await _get(app, "/healthz")
    health = json.loads(body)
    assert status == 503 and health["ok"] is False
    assert health["database"] != "ok" and any(problem.startswith("database:") for problem in health["problems"])
    samples = _samples((await _get(app, "/metrics"))[2])
    assert samples[("roundtable_database_up", ())] == 0
    if path is not None:
        assert not path.exists()  # the scrape did not create an empty database in its place


async def test_healthz_fails_when_the_scheduler_never_ticks(app: App) -> None:
    assert app.scheduler.last_tick is None  # the scheduler was never started
    assert (await _get(app, "/healthz"))[0] == 200  # just started: within three ticks
    app.metrics._attached_at -= 3 * app.settings.scheduler_tick_seconds + 1
    status, _, body = await _get(app, "/healthz")
    assert status == 503 and "not ticked once" in json.loads(body)["problems"][0]


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_log_lines_carry_reference_and_ids_but_never_the_token() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json", secrets=[TOKEN]))
    logger = logging.getLogger("bot.ui.errors")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info(
            "Sent to group %d", 7, extra={"guild_id": GUILD, "group_id": 7, "content": "private words"}
        )
        try:
            raise RuntimeError(f"login failed with {TOKEN}")
        except RuntimeError as exc:
            ref = log_failure("/help (user 1, guild 2)", exc)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    first, second = _json_lines(stream)
    assert set(first) == {"time", "level", "logger", "message", "guild_id", "group_id"}
    assert (first["level"], first["logger"], first["message"]) == ("INFO", "bot.ui.errors", "Sent to group 7")
    assert (first["guild_id"], first["group_id"]) == (GUILD, 7)
    assert str(first["time"]).endswith("+00:00")
    assert second["level"] == "ERROR" and second["reference"] == ref
    assert "RuntimeError" in str(second["exception"]) and "[redacted]" in str(second["exception"])
    assert TOKEN not in stream.getvalue() and "private words" not in stream.getvalue()


def test_text_log_lines_never_carry_the_token() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("text", secrets=[TOKEN]))
    logger = logging.getLogger("tests.text_logs")
    logger.addHandler(handler)
    try:
        logger.warning("token was %s", TOKEN)
    finally:
        logger.removeHandler(handler)
    assert TOKEN not in stream.getvalue() and "token was [redacted]" in stream.getvalue()


def test_log_format_json_applies_to_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", LOG_FORMAT="json", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(line["logger"] == "bot.migrate" and "migrated" in str(line["message"]) for line in lines)


async def test_a_metrics_port_in_use_stops_the_start_with_one_line(app: App, database_url: str) -> None:
    assert app.metrics_server is not None
    settings = Settings(  # type: ignore[call-arg]
        discord_token=TOKEN, database_url=database_url, metrics_port=app.metrics_server.port, _env_file=None
    )
    other = App(settings)
    try:
        with pytest.raises(StartupError, match=f"Cannot serve metrics on 127.0.0.1:{app.metrics_server.port}"):
            await other.start()
        assert other.metrics_server is None
    finally:
        await other.stop()


async def test_the_event_loop_lag_is_sampled_while_serving(app: App) -> None:
    # The sampler's sleep was set before this one and ends first: at least one sample is in.
    await asyncio.sleep(LOOP_LAG_SAMPLE_SECONDS * 1.2)
    samples = _samples((await _get(app, "/metrics"))[2])
    assert samples[("roundtable_event_loop_lag_seconds_count", ())] >= 1
    assert samples[("roundtable_event_loop_lag_last_seconds", ())] >= 0
