"""Folders of message files (Maildir, .eml folders) read in delivery order behind a high-water cursor.

A folder's cursor holds the (mtime, name) of the last file stored and how many files lay at or below
it. Files past the mark are new; if the count below the mark changed (a file copied in with an old
modification time), the whole folder is offered again and the store's unique ids drop what it has.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from replywatch.sources.base import RawItem, dump_cursor, load_cursor
from replywatch.sources.mime_trim import LOCAL_TEXT_PART_CAP, trimmed


@dataclass(frozen=True)
class FileEntry:
    path: Path
    key: str  # stable name: survives a Maildir flag change (cur/…:2,S)
    mtime_ns: int


@dataclass(frozen=True)
class Folder:
    name: str
    entries: list[FileEntry]
    is_sent: bool


def sorted_entries(paths: list[tuple[Path, str]]) -> list[FileEntry]:
    entries = []
    for path, key in paths:
        try:
            entries.append(FileEntry(path, key, path.lstat().st_mtime_ns))
        except FileNotFoundError:  # moved between listing and stat (a MUA moving new → cur)
            continue
    return sorted(entries, key=lambda e: (e.mtime_ns, e.key))


def folder_items(source: str, folder: Folder, cursors: Mapping[str, str]) -> Iterator[RawItem]:
    """RawItems of one folder beyond its cursor, each carrying the cursor that covers it."""
    mark = load_cursor(cursors.get(folder.name))
    mark_pos = (int(mark.get("mtime_ns", -1)), str(mark.get("key", "")))
    below = sum(1 for e in folder.entries if (e.mtime_ns, e.key) <= mark_pos)
    rescan = below != int(mark.get("count", 0))
    for rank, entry in enumerate(folder.entries, start=1):
        if not rescan and (entry.mtime_ns, entry.key) <= mark_pos:
            continue
        try:
            payload, error = trimmed(_read_no_follow(entry.path), LOCAL_TEXT_PART_CAP), None
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            payload, error = (
                b"",
                f"{entry.path} is a symbolic link: not followed (it may point out of the folder)",
            )
        cursor = dump_cursor({"mtime_ns": entry.mtime_ns, "key": entry.key, "count": rank})
        yield RawItem(
            source=source,
            external_id=f"{folder.name}/{entry.key}",
            position=str(entry.path),
            payload=payload,
            in_sent_folder=folder.is_sent,
            fallback_date=datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC),
            cursor=(folder.name, cursor),
            error=error,
        )


def _read_no_follow(path: Path) -> bytes:
    """The file's bytes; OSError ELOOP when it is a symbolic link (the check and the read are one call, so
    a file swapped for a link meanwhile is refused too)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def walk_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if f.lower().endswith(suffixes))
    return found
