"""The Source protocol, the RawItem it yields, and cursor helpers shared by file-based sources."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from replywatch.domain.vocabulary import Channel


@dataclass(frozen=True)
class RawItem:
    """One unparsed item. `cursor` is the (key, value) to commit together with the item."""

    source: str
    external_id: str
    position: str  # where a person finds it: a file path, "file.csv:12", "INBOX uid 42"
    payload: bytes | Mapping[str, str]
    channel: str = Channel.EMAIL
    in_sent_folder: bool = False
    fallback_date: datetime | None = None
    cursor: tuple[str, str] | None = None
    dialect: str | None = None  # an SMS row's format (parse.sms: generic, twilio, twilio-api)
    aliases: tuple[str, ...] = ()  # ids an earlier version stored this item under: held, it is not new
    error: str | None = None  # why the source could not read it: the item is quarantined with these words


class Source(Protocol):
    """A place replywatch reads from. `items` yields what lies beyond the cursors, oldest first."""

    name: str

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]: ...


WINDOW = 512  # bytes before a file cursor whose digest tells an appended file from a rewritten one


def window_digest(before: bytes) -> str:
    """The digest of the last WINDOW bytes of what lies before a byte cursor."""
    return hashlib.sha256(before[-WINDOW:]).hexdigest()[:16]


def dump_cursor(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def load_cursor(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
