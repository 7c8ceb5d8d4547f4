"""Settings: defaults, URL mapping, and the one-line exit on a bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_URL", "DEV_GUILD_IDS"}}
    env.update(extra)
    return env


def test_defaults_use_sqlite_under_data() -> None:
    settings = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./data/roundtable.db"
    assert settings.scheduler_tick_seconds == 30
    assert settings.bot_auto_migrate is True
    assert settings.dev_guild_ids == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/rt", "postgresql+asyncpg://u:p@db:5432/rt"),
        ("postgresql://u:p@db/rt", "postgresql+asyncpg://u:p@db/rt"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_map_to_async_drivers(given: str, expected: str) -> None:
    settings = Settings(discord_token="t", database_url=given, _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == expected


def test_dev_guild_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_GUILD_IDS", "123456789012345678, 223456789012345678")
    settings = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert settings.dev_guild_ids == [123456789012345678, 223456789012345678]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "  "}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "t", "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL is malformed"),
        ({"DISCORD_TOKEN": "t", "DATABASE_URL": "not a url"}, "DATABASE_URL is malformed"),
        ({"DISCORD_TOKEN": "t", "DEV_GUILD_IDS": "12,abc"}, "DEV_GUILD_IDS is malformed"),
        ({"DISCORD_TOKEN": "t", "SCHEDULER_TICK_SECONDS": "0"}, "SCHEDULER_TICK_SECONDS is malformed"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str) -> None:
    for key in ("DISCORD_TOKEN", "DATABASE_URL", "DEV_GUILD_IDS", "SCHEDULER_TICK_SECONDS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert variable in str(caught.value)
    assert "\n" not in str(caught.value)


def test_python_m_bot_without_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env here
        env=_clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and "DISCORD_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env=_clean_env(PYTHONPATH=str(ROOT), DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_shards_default_to_discords_recommendation_and_every_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert settings.shard_count is None and settings.shard_ids is None and not settings.several_processes

    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", " 3, 1 ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/rt")
    sharded = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert sharded.shard_count == 4 and sharded.shard_ids == [1, 3] and sharded.several_processes

    monkeypatch.setenv("SHARD_IDS", "0,1,2,3")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")  # one process with every shard: SQLite will do
    every = Settings(discord_token="t", _env_file=None)  # type: ignore[call-arg]
    assert every.shard_ids == [0, 1, 2, 3] and not every.several_processes


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0", "DATABASE_URL": "postgresql://u@db/rt"}, "SHARD_IDS lists a shard twice"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2", "DATABASE_URL": "postgresql://u@db/rt"}, "SHARD_IDS has shard 2, outside SHARD_COUNT=2"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "one"}, "SHARD_IDS is malformed"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT is malformed"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1", "DATABASE_URL": "sqlite:///x.db"}, "several processes need PostgreSQL"),
    ],
)
def test_bad_shard_settings_are_one_clear_line(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as error:
        load_settings(Settings, discord_token="t", _env_file=None)
    message = str(error.value)
    assert message.startswith("Configuration error: ") and says in message and "\n" not in message
