"""The leads CSV import format, validated as a whole file before anything is imported.

Files come from CRMs and from Excel: `;` separators (Excel where the decimal mark is a comma), headers
written for people (`Lead ID`, `First Name`, `E-mail`), US dates (`11/30/2026 2:05 PM`). The separator is
read from the header line, headers are normalised, and a slashed date is read month first or day first
by the region of the row's store."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
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
# Headers as CRMs and people write them, once normalised (`Lead ID` → lead_id): the column they mean.
ALIASES = {
    "id": "lead_id",
    "leadid": "lead_id",
    "lead_number": "lead_id",
    "received": "received_at",
    "received_date": "received_at",
    "date_received": "received_at",
    "created": "received_at",
    "created_at": "received_at",
    "firstname": "first_name",
    "lastname": "last_name",
    "e_mail": "email",
    "email_address": "email",
    "phone_number": "phone",
    "mobile": "phone",
    "lead_source": "source",
    "provider": "source",
    "salesperson": "associate",
    "assigned_to": "associate",
    "dealer": "store",
    "dealership": "store",
    "store_name": "store",
}
# Regions that write a slashed date month first (the US and its territories, the Philippines).
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH", "FM", "MH", "PW"})
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100  # outside: a typo or a placeholder (9999-12-31), not a lead time
MonthFirst = Callable[[str | None], bool]  # the row's store name as written → its dates read month first


def us_dates(_store: str | None) -> bool:
    """Every row's slashed dates read month first, as in the US."""
    return True


def read_leads_file(path: Path, month_first: MonthFirst = us_dates) -> list[LeadRecord]:
    """The leads of a CSV file on disk (UTF-8 with or without BOM, UTF-16, or Windows-1252 as Excel
    saves it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"{path}: cannot read leads file: {exc.strerror or exc}") from exc
    return parse_leads_csv(_decoded(data), path=str(path), month_first=month_first)


def _decoded(data: bytes) -> str:
    """UTF-16 with its BOM (Excel's "Unicode Text"), UTF-8 with or without BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_leads_csv(
    text: str, *, path: str = "<leads>", month_first: MonthFirst = us_dates
) -> list[LeadRecord]:
    """Every lead of a leads CSV; raises LeadFileError at the first bad row, so none are imported."""
    text = text.removeprefix("\ufeff")
    _refuse_nul(text, path)
    rows = _rows(text, path, _delimiter(text))
    header = next(rows, None)
    if header is None:
        raise LeadFileError(path, 1, None, "the file is empty: expected a header row")
    columns = _columns(header[1], path)
    leads: list[LeadRecord] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        lead = _lead(_named(columns, cells), line, path, month_first)
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


def _refuse_nul(text: str, path: str) -> None:
    """A NUL byte is no text a lead holds (and PostgreSQL refuses it): the line is named, not the data."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise LeadFileError(path, line, None, "holds a NUL byte: is it a binary or UTF-16 file without BOM?")


def _delimiter(text: str) -> str:
    """`,`, `;` or a tab: whichever the header line holds most of (a comma on a tie)."""
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _rows(text: str, path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the physical line it starts on (a quoted field may span several lines)."""
    # strict: a stray quote must fail loudly rather than swallow the rest of the file into one field.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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
        columns.setdefault(column_name(name), index)
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            found = ", ".join(h.strip() for h in header if h.strip()) or "none"
            reason = f"the header lacks the required column {name!r} (headers found: {found})"
            raise LeadFileError(path, 1, name, reason)
    return columns


def column_name(header: str) -> str:
    """`Lead ID` → lead_id, `E-mail` → email, `Date Received` → received_at; unknown names as they are."""
    name = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return ALIASES.get(name, name)


def _named(columns: dict[str, int], cells: list[str]) -> dict[str, str]:
    return {name: cells[index].strip() if index < len(cells) else "" for name, index in columns.items()}


def _lead(row: dict[str, str], line: int, path: str, month_first: MonthFirst) -> LeadRecord:
    if not row["lead_id"]:
        raise LeadFileError(path, line, "lead_id", "lead_id is empty")
    if not row["source"]:
        raise LeadFileError(path, line, "source", "source is empty")
    return LeadRecord(
        external_id=row["lead_id"],
        source=row["source"],
        received_at=_received_at(row["received_at"], month_first(row.get("store") or None), line, path),
        first_name=row.get("first_name") or None,
        last_name=row.get("last_name") or None,
        emails=_several(row.get("email", "")),
        phones=_several(row.get("phone", "")),
        associate=row.get("associate") or None,
        store=row.get("store") or None,
        line=line,
    )


def _received_at(value: str, month_first: bool, line: int, path: str) -> datetime:
    if not value:
        raise LeadFileError(path, line, "received_at", "received_at is empty")
    try:
        at = _slashed(value, month_first) if _SLASHED.fullmatch(value) else datetime.fromisoformat(value)
    except ValueError:
        order = "MM/DD/YYYY" if month_first else "DD/MM/YYYY"
        reason = (
            f"received_at {value!r} is not a date and time: expected ISO 8601 (2024-03-04T10:15:00) or "
            f"{order} with an optional time (as the store's region writes it)"
        )
        raise LeadFileError(path, line, "received_at", reason) from None
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        reason = f"received_at {value!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR}: a placeholder or a typo?"
        raise LeadFileError(path, line, "received_at", reason)
    return at


# 11/30/2026, 30.11.2026 14:05, 11/30/26 2:05 PM, 11/30/2026 2:05:09 p.m.
_SLASHED = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?\.?(?:[Mm]\.?)?)?"
)


def _slashed(value: str, month_first: bool) -> datetime:
    found = _SLASHED.fullmatch(value)
    assert found is not None
    first, second, year, hour, minute, second_s, half = found.groups()
    month, day = (int(first), int(second)) if month_first else (int(second), int(first))
    h = int(hour or 0)
    if half:
        if not 1 <= h <= 12:
            raise ValueError("hour out of range for AM/PM")
        h = h % 12 + (12 if half.lower() == "p" else 0)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    return datetime(full_year, month, day, h, int(minute or 0), int(second_s or 0))


def _several(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())
