"""``python -m bot backup`` and ``check``, and the deployment files (Dockerfile, docker-compose.yml)."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from sqlalchemy import text

from bot import migrate
from bot.__main__ import main, run_check
from bot.db import create_engine
from bot.settings import Settings
from tests.unit.seeding import CHANNEL, make_group

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.good-token"


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr) for table in tables}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Settings from the environment only (no .env from the working directory)."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "DISCORD_TOKEN", "DATABASE_URL", "DISCORD_API_BASE", "BOT_AUTO_MIGRATE", "LOG_FORMAT", "METRICS_PORT", "METRICS_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- backup ---------------------------------------------------------------------------------------


async def test_backup_of_a_live_sqlite_database_restores_the_same_rows(
    _templates: object, tmp_path: Path, env: pytest.MonkeyPatch, clock: object
) -> None:
    from tests.conftest import fresh_database_url

    url = await fresh_database_url("sqlite", _templates, tmp_path)  # type: ignore[arg-type]
    live = Path(url.split("///", 1)[1])
    engine = create_engine(url)
    try:
        from bot.db import create_sessionmaker

        sessions = create_sessionmaker(engine)
        await make_group(sessions, clock, name="Readers", channel_id=CHANNEL, members=[11, 12])  # type: ignore[arg-type]
        # The bot keeps its connection open: the new rows are still in the write-ahead log.
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            wal = live.with_name(live.name + "-wal")
            assert wal.exists() and wal.stat().st_size > 0
            naive = tmp_path / "naive-copy.db"  # copying the file alone misses them
            shutil.copy(live, naive)
            assert _rows(naive)["peer_group"] == []
            env.setenv("DATABASE_URL", url)
            target = tmp_path / "backups"
            target.mkdir()
            assert main(["backup", str(target / "rt.db")]) == 0
            expected = _rows(live)
    finally:
        await engine.dispose()

    backup = target / "rt.db"
    assert not backup.with_name("rt.db-wal").exists()  # one self-contained file
    restored = tmp_path / "restored.db"
    shutil.copy(backup, restored)
    assert _rows(restored) == expected
    assert any("Readers" in row for row in expected["peer_group"]) and len(expected["group_member"]) == 2
    # The restored copy is a database the bot accepts as it is.
    engine = create_engine(f"sqlite+aiosqlite:///{restored}")
    try:
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


def test_backup_refuses_to_overwrite_and_a_missing_database(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'nothing.db'}")
    assert main(["backup", str(tmp_path / "copy.db")]) == 1
    assert "No database file" in capsys.readouterr().err
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "copy.db").exists()

    live = tmp_path / "live.db"
    sqlite3.connect(live).close()
    (tmp_path / "copy.db").write_text("keep me")
    env.setenv("DATABASE_URL", f"sqlite:///{live}")
    assert main(["backup", str(tmp_path / "copy.db")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "copy.db").read_text() == "keep me"


def test_backup_on_postgresql_prints_the_pg_dump_line_without_the_password(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("DATABASE_URL", "postgresql://rt:s3cret-pw@db.internal:5433/roundtable")
    assert main(["backup", "/var/backups/rt.dump"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    line = next(line.strip() for line in out.splitlines() if line.strip().startswith("pg_dump "))
    assert line.split() == [
        "pg_dump", "--format=custom", "--no-owner", "--host=db.internal", "--port=5433", "--username=rt",
        "--dbname=roundtable", "--file=/var/backups/rt.dump",
    ]


# --- check ----------------------------------------------------------------------------------------


@pytest.fixture
async def fake_discord() -> AsyncIterator[str]:
    """GET /users/@me as Discord answers it: the bot user for the right token, 401 otherwise."""

    async def users_me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({"id": "123456789012345678", "username": "Roundtable", "bot": True})

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", users_me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api/v10"
    await runner.cleanup()


def _settings(database_url: str, api_base: str, **extra: object) -> Settings:
    return Settings(
        discord_token=extra.pop("token", TOKEN), database_url=database_url, discord_api_base=api_base,
        _env_file=None, **extra,  # type: ignore[call-arg]
    )


def _lines(out: io.StringIO) -> dict[str, str]:
    """{what: status} from the check's lines."""
    result = {}
    for line in out.getvalue().splitlines():
        status, rest = line.split(None, 1)
        result[rest.split(":", 1)[0]] = status
    return result


async def test_check_a_migrated_database_and_a_good_token(database_url: str, fake_discord: str) -> None:
    out = io.StringIO()
    assert await run_check(_settings(database_url, fake_discord), out) == 0
    assert _lines(out) == {"settings": "ok", "database": "ok", "schema": "ok", "Discord": "ok", "intents": "ok"}
    assert "Roundtable (id 123456789012345678)" in out.getvalue()
    assert TOKEN not in out.getvalue()
    assert "no privileged intent" in out.getvalue()


async def test_check_names_this_processs_shards(database_url: str, fake_discord: str) -> None:
    out = io.StringIO()
    ids = "0,1,2,3" if database_url.startswith("sqlite") else "0,1"  # a part of the shards: PostgreSQL only
    await run_check(_settings(database_url, fake_discord, shard_count=4, shard_ids=ids), out)
    assert f"shards {ids} of 4" in out.getvalue()


async def test_check_an_unmigrated_database(database_url: str, fake_discord: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.downgrade(engine, "base")
    finally:
        await engine.dispose()

    out = io.StringIO()
    assert await run_check(_settings(database_url, fake_discord, bot_auto_migrate=False), out) == 1
    assert _lines(out)["schema"] == "FAIL"
    assert "run `python -m bot migrate`" in out.getvalue()

    out = io.StringIO()  # with BOT_AUTO_MIGRATE=true the bot migrates at start: a warning only
    assert await run_check(_settings(database_url, fake_discord), out) == 0
    assert _lines(out)["schema"] == "warn"


async def test_check_a_refused_token_and_an_unreachable_discord(database_url: str, fake_discord: str) -> None:
    out = io.StringIO()
    assert await run_check(_settings(database_url, fake_discord, token="wrong"), out) == 1
    assert _lines(out)["Discord"] == "FAIL" and "refused" in out.getvalue()

    # Offline: nothing listens there. The token is not checked, and that is said in one line.
    out = io.StringIO()
    assert await run_check(_settings(database_url, "http://127.0.0.1:9/api/v10"), out) == 0
    assert _lines(out)["Discord"] == "skip" and "offline" in out.getvalue()


async def test_check_an_unreachable_database(tmp_path: Path, fake_discord: str) -> None:
    out = io.StringIO()
    url = "postgresql://nobody@127.0.0.1:9/nothing"  # nothing listens on port 9
    assert await run_check(_settings(url, fake_discord), out) == 1
    lines = _lines(out)
    assert lines["database"] == "FAIL" and "schema" not in lines


def test_check_with_a_missing_token_names_the_variable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 2
    assert capsys.readouterr().out.startswith("FAIL  settings: Configuration error: DISCORD_TOKEN is not set")


# --- deployment files -----------------------------------------------------------------------------


def _compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_file_has_postgres_migrate_bot_and_the_profiles() -> None:
    compose = _compose()
    services: dict[str, dict[str, object]] = compose["services"]  # type: ignore[assignment]
    assert {"postgres", "migrate", "bot", "nirn-proxy", "bot-proxied", "bot-shard-0", "bot-shard-1"} <= set(services)

    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])  # type: ignore[index]
    assert "postgres-data" in compose["volumes"]  # type: ignore[operator]
    assert any(str(volume).startswith("postgres-data:") for volume in postgres["volumes"])  # type: ignore[attr-defined]

    migrate_service, bot = services["migrate"], services["bot"]
    assert migrate_service["command"] == ["migrate"] and migrate_service["restart"] == "no"
    assert migrate_service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    for name in ("bot", "migrate", "bot-proxied", "bot-shard-0", "bot-shard-1"):
        environment: dict[str, str] = services[name]["environment"]  # type: ignore[assignment]
        assert environment["BOT_AUTO_MIGRATE"] == "false", name
        assert environment["DATABASE_URL"].startswith("postgresql://roundtable:"), name
        assert "@postgres:5432/roundtable" in environment["DATABASE_URL"], name
    assert "profiles" not in bot and "profiles" not in migrate_service

    assert services["nirn-proxy"]["profiles"] == ["proxy"]
    assert str(services["nirn-proxy"]["image"]).startswith("ghcr.io/germanoeich/nirn-proxy")
    proxied: dict[str, str] = services["bot-proxied"]["environment"]  # type: ignore[assignment]
    assert services["bot-proxied"]["profiles"] == ["proxy"]
    assert proxied["DISCORD_API_BASE"] == "http://nirn-proxy:8080/api/v10"

    shards = [services["bot-shard-0"], services["bot-shard-1"]]
    assert [shard["profiles"] for shard in shards] == [["sharded"], ["sharded"]]
    assert [shard["environment"]["SHARD_IDS"] for shard in shards] == ["0", "1"]  # type: ignore[index]
    source = (ROOT / "docker-compose.yml").read_text()
    assert "NOT YET SUPPORTED" not in source  # sharding is supported (SHARD_COUNT / SHARD_IDS)
    assert all(shard["environment"]["SHARD_COUNT"] == "2" for shard in shards)  # type: ignore[index]


def test_compose_file_passes_docker_compose_config_where_docker_compose_exists(tmp_path: Path) -> None:
    """``docker compose config`` when the plugin is installed; otherwise the structural test above."""
    docker = shutil.which("docker")
    available = docker is not None and subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=30
    ).returncode == 0
    if not available:
        # Without Compose, PyYAML's reading must at least agree with the anchors being resolved.
        assert _compose()["services"]["bot-shard-0"]["environment"]["METRICS_PORT"] == "9108"  # type: ignore[index]
        return
    assert docker is not None
    done = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "--profile", "proxy", "--profile", "sharded",
         "config", "--quiet"],
        capture_output=True, text=True, timeout=60, env={"DISCORD_TOKEN": "x", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def test_dockerfile_is_multi_stage_slim_and_runs_as_a_user() -> None:
    lines = [
        line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and all("-slim" in stage for stage in stages)
    final = lines[lines.index(stages[-1]):]
    assert not any("apt-get" in line or "gcc" in line or "build-essential" in line for line in final)
    assert any(line.startswith("COPY --from=build /opt/venv") for line in final)
    users = [line for line in final if line.startswith("USER ")]
    assert users and not users[-1].split()[1].startswith(("root", "0"))
    assert any(line.startswith("HEALTHCHECK") for line in final) and "/healthz" in " ".join(final)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".git" in ignored


# --- settings -------------------------------------------------------------------------------------


def test_operations_settings_default_off_and_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    settings = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert (settings.metrics_port, settings.metrics_host, settings.log_format) == (None, "127.0.0.1", "text")
    env.setenv("METRICS_PORT", "")  # as in .env.example: off
    assert Settings(discord_token="t", _env_file=None).metrics_port is None  # type: ignore[call-arg]
    env.setenv("METRICS_PORT", "9108")
    env.setenv("LOG_FORMAT", "JSON")
    settings = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert (settings.metrics_port, settings.log_format) == (9108, "json")


@pytest.mark.parametrize(
    ("variable", "value"), [("METRICS_PORT", "70000"), ("METRICS_PORT", "web"), ("LOG_FORMAT", "xml")]
)
def test_bad_operations_settings_name_the_variable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    env.setenv("DISCORD_TOKEN", "t")
    env.setenv(variable, value)
    assert main(["check"]) == 2
    assert f"{variable} is malformed" in capsys.readouterr().out
