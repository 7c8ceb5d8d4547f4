"""Log formatting: the usual text lines, or one JSON object a line (``LOG_FORMAT=json``).

Set up once by ``python -m bot``. A JSON line carries the time (UTC, ISO 8601), level, logger,
message, the failure reference when there is one, and the server / group ids a caller passed as
``extra={"guild_id": ..., "group_id": ...}``. Nothing else of the record is copied (no arbitrary
``extra``, so no message content by accident), and the bot token is blanked out of every line,
text or JSON, should it ever appear in an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
TEXT_DATEFMT = "%Y-%m-%d %H:%M:%S"
REDACTED = "[redacted]"
# Record attributes copied into a JSON line when a caller set them (``extra=``).
JSON_EXTRA_FIELDS = ("reference", "guild_id", "group_id")
NOISY_LOGGERS = ("discord.http", "discord.gateway", "sqlalchemy.engine", "apscheduler", "alembic")


class _Redacting(logging.Formatter):
    def __init__(self, fmt: str | None = None, datefmt: str | None = None, *, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt, datefmt)
        self._secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class TextFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in JSON_EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def make_formatter(log_format: str, *, secrets: Iterable[str] = ()) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(secrets=secrets)
    return TextFormatter(TEXT_FORMAT, datefmt=TEXT_DATEFMT, secrets=secrets)


def setup_logging(level: int, log_format: str = "text", *, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: one handler on stderr, the chatty libraries at WARNING.

    Like ``logging.basicConfig``, it leaves a root logger that already has handlers alone (a test
    runner's capture, say).
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(make_formatter(log_format, secrets=secrets))
        root.addHandler(handler)
        root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
