"""The leads CSV import format, validated as a whole file before anything is imported."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from replywatch.errors import LeadFileError, ParseError
from replywatch.parse.types import LeadRecord

COLUMNS = (
    "lead_id",
    "received_at",
    "first_name",
    "last_name",
    "email",
    "phone",
    "source",
    "associate",
    "store",
)
REQUIRED_COLUMNS = ("lead_id", "received_at", "source")


def read_leads_file(path: Path) -> list[LeadRecord]:
    """The leads of a CSV file on disk (UTF-8, with or without BOM, or Windows-1252 as Excel saves it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"{path}: cannot read leads file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_leads_csv(text, path=str(path))


def parse_leads_csv(text: str, *, path: str = "<leads>") -> list[LeadRecord]:
    """Every lead of a leads CSV; raises LeadFileError at the first bad row, so none are imported."""
    rows = _rows(text.removeprefix("\ufeff"), path)
    header = next(rows, None)
    if header is None:
        raise LeadFileError(path, 1, None, "the file is empty: expected a header row")
    columns = _columns(header[1], path)
    leads: list[LeadRecord] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        lead = _lead(_named(columns, cells), line, path)
        key = (lead.external_id, lead.source)
        if key in first_seen:
            reason = (
                f"duplicate lead_id {lead.external_id!r} for source {lead.source!r}"
                f" (first on line {first_seen[key]})"
            )
            raise LeadFileError(path, line, "lead_id", reason)
        first_seen[key] = line
        leads.append(lead)
    return leads


def _rows(text: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the physical line it starts on (a quoted field may span several lines)."""
    # strict: a stray quote must fail loudly rather than swallow the rest of the file into one field.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise LeadFileError(path, start, None, f"unreadable CSV record: {exc}") from exc


def _columns(header: list[str], path: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(name.strip().lower(), index)
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise LeadFileError(path, 1, name, f"the header lacks the required column {name!r}")
    return columns


def _named(columns: dict[str, int], cells: list[str]) -> dict[str, str]:
    return {name: cells[index].strip() if index < len(cells) else "" for name, index in columns.items()}


def _lead(row: dict[str, str], line: int, path: str) -> LeadRecord:
    if not row["lead_id"]:
        raise LeadFileError(path, line, "lead_id", "lead_id is empty")
    if not row["source"]:
        raise LeadFileError(path, line, "source", "source is empty")
    return LeadRecord(
        external_id=row["lead_id"],
        source=row["source"],
        received_at=_received_at(row["received_at"], line, path),
        first_name=row.get("first_name") or None,
        last_name=row.get("last_name") or None,
        emails=_several(row.get("email", "")),
        phones=_several(row.get("phone", "")),
        associate=row.get("associate") or None,
        store=row.get("store") or None,
        line=line,
    )


def _received_at(value: str, line: int, path: str) -> datetime:
    if not value:
        raise LeadFileError(path, line, "received_at", "received_at is empty")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        reason = f"received_at {value!r} is not an ISO 8601 date and time (e.g. 2024-03-04T10:15:00)"
        raise LeadFileError(path, line, "received_at", reason) from None


def _several(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())
