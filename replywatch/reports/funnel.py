"""CRM funnel events (appointment, show, sold): the `funnel import` file checked, the digest's counts."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from replywatch.errors import ReplywatchError
from replywatch.reports.metrics import Window, in_window
from replywatch.store.funnel import FunnelRecord
from replywatch.store.models import FunnelEvent, Lead

EVENTS = ("appointment", "show", "sold")
_REQUIRED = ("lead_id", "event", "at")


def read_funnel_file(path: Path) -> list[FunnelRecord]:
    """`lead_id,event,at` (and optionally `source`); a bad row refuses the whole file, naming its line."""
    start = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise ReplywatchError(
                    f"{path}:1: missing column(s) {', '.join(missing)} (need lead_id,event,at)"
                )
            reader.fieldnames = header
            records, start = [], reader.line_num + 1
            for row in reader:
                records.append(_record(path, reader.line_num, row))
                start = reader.line_num + 1
            return records
    except csv.Error as exc:  # a field over csv's limit, a stray quote: its line, not a traceback
        raise ReplywatchError(f"{path}:{start}: unreadable CSV record: {exc}") from None
    except OSError as exc:
        raise ReplywatchError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReplywatchError(f"{path}: not UTF-8 text") from None


def _record(path: Path, line: int, row: dict[str, str | None]) -> FunnelRecord:
    def value(column: str) -> str:
        return (row.get(column) or "").strip()

    if not value("lead_id"):
        raise ReplywatchError(f"{path}:{line}: column 'lead_id' is empty")
    event = value("event").lower()
    if event not in EVENTS:
        raise ReplywatchError(
            f"{path}:{line}: column 'event': {value('event')!r} is not one of {', '.join(EVENTS)}"
        )
    try:
        at = datetime.fromisoformat(value("at"))
    except ValueError:
        raise ReplywatchError(
            f"{path}:{line}: column 'at': {value('at')!r} is not an ISO 8601 time"
        ) from None
    return FunnelRecord(line, value("lead_id"), event, at, value("source") or None)


def funnel_counts(session: Session, window: Window) -> dict[tuple[int | None, str], dict[str, int]]:
    """(store id, source) → event → how many of the window's leads reached it (at any time since)."""
    stmt = (
        select(Lead.store_id, Lead.source, FunnelEvent.event, func.count(distinct(Lead.id)))
        .join(FunnelEvent, FunnelEvent.lead_id == Lead.id)
        .where(in_window(window))
        .group_by(Lead.store_id, Lead.source, FunnelEvent.event)
    )
    found: dict[tuple[int | None, str], dict[str, int]] = {}
    for store_id, source, event, count in session.execute(stmt):
        found.setdefault((store_id, source), {})[event] = count
    return found
