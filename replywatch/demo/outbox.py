"""What the demo writes: mails, texts and calls collected as stories are told, then the Maildir and CSVs."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from replywatch import clock
from replywatch.parse.calls import GENERIC_COLUMNS

HOST = "mx1.replywatch-demo"  # host part of every Maildir file name we write, and so may replace

Mail = tuple[datetime, str, bytes]  # (when, Maildir++ folder, RFC 5322 bytes)
Text = tuple[datetime, str, str, str, str, str]  # (when, id, from, to, body, direction)
# (when, id, from, to, dialed, direction, duration_s, status, answered_by)
Call = tuple[datetime, str, str, str, str, str, int, str, str]
CALL_COLUMNS = (*GENERIC_COLUMNS[:4], "dialed", *GENERIC_COLUMNS[4:])


@dataclass
class Outbox:
    mails: list[Mail] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


def write_maildir(path: Path, mails: list[Mail], pid: int, end: datetime) -> None:
    """INBOX at the top, our follow-ups in the Maildir++ `.Sent` folder; each file's mtime is its Date."""
    folders = {"": path, "Sent": path / ".Sent"}
    for directory in folders.values():
        for part in ("cur", "new", "tmp"):
            (directory / part).mkdir(parents=True, exist_ok=True)
            for stale in (directory / part).glob(f"*.{HOST}*"):  # a previous sample, never anyone's own mail
                stale.unlink()
    (path / ".Sent" / "maildirfolder").touch()
    for seq, (when, folder, data) in enumerate(sorted(mails)):
        unread = folder == "" and when >= end - timedelta(days=1)  # the last day's mail is still unread
        name = f"{int(when.timestamp())}.{pid}_{seq}.{HOST}" + ("" if unread else ":2,S")
        target = folders[folder] / ("new" if unread else "cur") / name
        target.write_bytes(data)
        os.utime(target, (when.timestamp(), when.timestamp()))


def write_sms(path: Path, texts: list[Text]) -> None:
    """The texting platform's log: the generic columns, one row per text in time order."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        for when, *row in sorted(texts):
            writer.writerow([row[0], clock.iso_z(when), *row[1:]])


def write_calls(path: Path, calls: list[Call]) -> None:
    """The phone system's call log: the generic columns with `dialed`, one row per call in time order."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CALL_COLUMNS)
        for when, *row in sorted(calls):
            writer.writerow([row[0], clock.iso_z(when), *row[1:]])
