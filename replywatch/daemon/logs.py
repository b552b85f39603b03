"""The daemon's logs: readable lines or JSON, each with its context, and no secret ever written.

Every secret the configuration names (passwords, tokens, API secrets, the database password) is read
once and replaced by `***` in the formatted line, tracebacks included, whatever logger wrote it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any, TextIO

from replywatch.clock import iso_z
from replywatch.errors import ReplywatchError
from replywatch.store.db import hide_secrets

# Context a log call may carry (`extra={...}`): shown after the message, or as JSON fields.
CONTEXT = ("source", "item", "lead", "status", "score", "owner", "digest")


class _Redacting(logging.Formatter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def redact(self, text: str) -> str:
        return hide_secrets(text, self.secrets)

    def context(self, record: logging.LogRecord) -> dict[str, Any]:
        return {k: getattr(record, k) for k in CONTEXT if getattr(record, k, None) is not None}

    def when(self, record: logging.LogRecord) -> str:
        return iso_z(datetime.fromtimestamp(record.created, UTC))


class TextFormatter(_Redacting):
    """`2026-11-30T03:00:00-06:00 INFO  message  source=inbox item=INBOX:42 lead=AT-77`: the time in the
    zone people read (the first store's), with its offset so that it stays exact."""

    def __init__(self, secrets: Iterable[str], zone: tzinfo = UTC) -> None:
        super().__init__(secrets)
        self.zone = zone

    def when(self, record: logging.LogRecord) -> str:
        if self.zone is UTC:
            return super().when(record)
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="seconds")

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.when(record)} {record.levelname:<7} {record.getMessage()}"
        context = self.context(record)
        if context:
            line += "  " + " ".join(f"{k}={v}" for k, v in context.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.redact(line)


class JsonFormatter(_Redacting):
    """One JSON object per line: ts, level, logger, msg, the context fields, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.when(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **self.context(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # Redact the serialised line: a secret could sit in any field.
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


def setup_logging(
    fmt: str, level: int, secrets: Iterable[str], stream: TextIO | None = None, zone: tzinfo = UTC
) -> logging.Handler:
    """Route every logger to one handler on stderr with the chosen format; returns the handler, whose
    secrets a reload replaces (`set_secrets`). Text lines carry `zone`'s time, JSON lines UTC."""
    if fmt not in ("text", "json"):
        raise ReplywatchError(f"--log-format: expected text or json, got {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets, zone))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries chatter at DEBUG with request bodies and headers; they speak only when warning.
    for noisy in ("imapclient", "twilio", "urllib3", "sqlalchemy", "alembic", "matplotlib", "mailparser"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return handler


def set_secrets(handler: logging.Handler, secrets: Iterable[str]) -> None:
    formatter = handler.formatter
    if isinstance(formatter, _Redacting):
        formatter.secrets = list(secrets)
