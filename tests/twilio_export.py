"""The Twilio console's "Export CSV" of the messaging logs, as tests write it: its columns in its order,
newest message first, every column filled as the console fills it."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

HEADER = (
    "From,To,Body,Status,SentDate,ApiVersion,NumSegments,ErrorCode,AccountSid,Sid,Direction,Price,PriceUnit"
)
ACCOUNT = "AC" + "5e" * 16


def row(
    sid: int | str, when: datetime, sender: str, to: str, body: str, direction: str, status: str
) -> list[str]:
    """One row of the export; `sid` a Twilio SID, or a number to make one of."""
    sent, error = when.strftime("%Y-%m-%d %H:%M:%S"), "30003" if status == "failed" else ""
    message_sid = sid if isinstance(sid, str) else f"SM{sid:032x}"
    return [
        sender,
        to,
        body,
        status,
        sent,
        "2010-04-01",
        "1",
        error,
        ACCOUNT,
        message_sid,
        direction,
        "-0.0079",
        "USD",
    ]


def write_export(path: Path, rows: list[list[str]], windows: bool = False) -> None:
    """Newest first as the console writes it; `windows`: saved again by a spreadsheet (BOM, CRLF)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if windows else "\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(sorted(rows, key=lambda r: r[4], reverse=True))
    path.write_text(("\ufeff" if windows else "") + out.getvalue(), encoding="utf-8", newline="")
