"""Typed settings from the environment and ``.env``, built once by the composition root."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/roundtable.db"

# What each setting expects, in the words the one-line configuration error uses.
EXPECTED = {
    "discord_token": "the bot token from the Discord developer portal (Bot → Reset Token)",
    "database_url": "a SQLAlchemy URL such as sqlite+aiosqlite:///./data/roundtable.db or "
    "postgresql://user:pass@host:5432/dbname",
    "discord_api_base": "an http(s) URL such as https://discord.com/api/v10",
    "dev_guild_ids": "comma-separated server ids, e.g. 123456789012345678,234567890123456789",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "scheduler_tick_seconds": "a number of seconds from 1 to 3600",
    "send_budget_per_second": "a number of messages per second from 1 to 45",
    "outbox_retention_days": "a number of days from 62 to 3650",
    "bot_auto_migrate": "true or false",
    "metrics_port": "a TCP port from 1 to 65535, or empty to serve no metrics",
    "metrics_host": "the address to serve metrics on, e.g. 127.0.0.1 or 0.0.0.0",
    "log_format": "text or json",
    "data_retention_days": "a whole number of days from 1 to 3650",
    "shard_count": "a whole number of shards from 1 to 1024, or empty for Discord's recommendation",
    "shard_ids": "comma-separated shard ids of this process, e.g. 0,1 (each below SHARD_COUNT, no repeats)",
}


class SettingProblem(ValueError):
    """A setting that is well-formed but wrong in context; ``str()`` completes "VARIABLE …" in the
    one-line configuration error."""


class DatabaseSettings(BaseSettings):
    """The database and logging: what ``alembic``, ``python -m bot migrate`` and ``backup`` need (no token)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("unknown level")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file of a file-backed SQLite URL, else None."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)


class Settings(DatabaseSettings):
    discord_token: SecretStr
    discord_api_base: str | None = None
    dev_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    scheduler_tick_seconds: float = Field(default=30.0, ge=1, le=3600)
    send_budget_per_second: float = Field(default=25.0, ge=1, le=45)
    # Sent, cancelled and expired outbox rows are deleted this long after they finished (the newest
    # of each kind per recipient and those of meetings still planned stay: see OutboxService.prune).
    outbox_retention_days: int = Field(default=90, ge=62, le=3650)  # 62: outbox.MIN_OUTBOX_RETENTION
    bot_auto_migrate: bool = True
    # GET /healthz and GET /metrics (Prometheus) on this port; off unless set.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # A server that removed the bot keeps its data this long (in case it adds the bot back), then it is purged.
    data_retention_days: int = Field(default=30, ge=1, le=3650)
    # Sharding (docs/OPERATIONS.md, "Several processes"): the bot's number of shards (default: Discord's
    # recommendation from GET /gateway/bot) and this process's shards (default: all of them).
    shard_count: int | None = Field(default=None, ge=1, le=1024)
    shard_ids: Annotated[list[int] | None, NoDecode] = None

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_count(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _split_shards(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            return parts or None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _check_shards(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        if value is None:
            return None
        if "shard_count" not in info.data:
            return value  # SHARD_COUNT itself is malformed: that is the error shown
        count = info.data["shard_count"]
        if count is None:
            raise SettingProblem("needs SHARD_COUNT: set the bot's total number of shards beside this process's shards")
        if len(set(value)) != len(value):
            raise SettingProblem(f"lists a shard twice: {','.join(map(str, value))}")
        outside = [shard for shard in value if not 0 <= shard < count]
        if outside:
            raise SettingProblem(
                f"has shard {outside[0]}, outside SHARD_COUNT={count}: shard ids run from 0 to {count - 1}"
            )
        url = info.data.get("database_url", "")
        if len(value) < count and str(url).startswith("sqlite"):
            raise SettingProblem(
                f"={','.join(map(str, value))} leaves the other shards of {count} to other processes, and several "
                "processes need PostgreSQL: set DATABASE_URL to a postgresql:// URL (SQLite is for one process "
                "with every shard)"
            )
        return sorted(value)

    @property
    def several_processes(self) -> bool:
        """This process serves only some of the shards: other processes share the database and the budget."""
        return self.shard_ids is not None and self.shard_count is not None and len(self.shard_ids) < self.shard_count

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("empty")
        return value

    @field_validator("discord_api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("dev_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def normalise_database_url(value: str) -> str:
    """Map the URLs hosts write to the async drivers the bot uses; raise ValueError if malformed."""
    value = value.strip()
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError("not a database URL") from exc
    backend = url.get_backend_name()
    if backend == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database {backend!r}")
    return url.render_as_string(hide_password=False)


S = TypeVar("S", bound=DatabaseSettings)


class ConfigError(Exception):
    """A setting is missing or malformed; ``str()`` is the one line shown to the host."""


def load_settings(cls: type[S] = Settings, **overrides: object) -> S:  # type: ignore[assignment]
    """Build settings, turning pydantic's report into one line naming the variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = field.upper()
        expected = EXPECTED.get(field, "a valid value")
        blank = field == "discord_token" and error["type"] == "value_error"
        problem = (error.get("ctx") or {}).get("error")
        if isinstance(problem, SettingProblem):
            lines.append(f"{variable} {problem}.")
        elif error["type"] == "missing" or blank:
            lines.append(f"{variable} is not set: expected {expected}.")
        else:
            lines.append(f"{variable} is malformed: expected {expected}.")
    # One line: the first problem, and how many more there are.
    first = lines[0] if lines else "invalid configuration."
    more = f" ({len(lines) - 1} more setting(s) invalid)" if len(lines) > 1 else ""
    return f"Configuration error: {first}{more}"
