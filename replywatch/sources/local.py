"""Local mail: a Maildir with its Maildir++ subfolders, an mbox file, or a folder of .eml files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from replywatch.errors import PermanentSourceError
from replywatch.sources.base import WINDOW, RawItem, dump_cursor, load_cursor, window_digest
from replywatch.sources.files import Folder, folder_items, sorted_entries, walk_files
from replywatch.sources.mime_trim import LOCAL_TEXT_PART_CAP, trimmed


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise PermanentSourceError(f"{what} {path} does not exist")


def _is_file(path: Path) -> bool:
    """A file, or a symbolic link (read as a quarantined item, never followed)."""
    return path.is_symlink() or path.is_file()


def _is_sent(name: str, sent_folders: list[str]) -> bool:
    leaf = name.rsplit(".", 1)[-1].rsplit("/", 1)[-1].lower()
    return leaf in {s.lower() for s in sent_folders}


class MaildirSource:
    """A Maildir: the top folder is INBOX; `.Sent`, `.Archive.2024` … are Maildir++ subfolders."""

    def __init__(self, name: str, path: Path, sent_folders: list[str]) -> None:
        self.name, self.path, self.sent_folders = name, path, sent_folders

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        _require(self.path, "Maildir")
        for folder in self._folders():
            yield from folder_items(self.name, folder, cursors)

    def _folders(self) -> Iterator[Folder]:
        yield self._folder("INBOX", self.path)
        for sub in sorted(p for p in self.path.iterdir() if p.name.startswith(".") and p.is_dir()):
            if (sub / "cur").is_dir() or (sub / "new").is_dir():
                name = sub.name[1:]
                yield self._folder(name, sub)

    def _folder(self, name: str, path: Path) -> Folder:
        files: list[tuple[Path, str]] = []
        for part in ("new", "cur"):
            directory = path / part
            if directory.is_dir():
                files.extend((f, f.name.split(":", 1)[0]) for f in directory.iterdir() if _is_file(f))
        return Folder(name, sorted_entries(files), _is_sent(name, self.sent_folders))


class EmlDirSource:
    """A folder of .eml files, searched recursively; a subfolder named like a sent folder is outbound."""

    def __init__(self, name: str, path: Path, sent_folders: list[str]) -> None:
        self.name, self.path, self.sent_folders = name, path, sent_folders

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        _require(self.path, "folder")
        files = walk_files(self.path, (".eml", ".msg.txt"))
        by_folder: dict[str, list[tuple[Path, str]]] = {}
        for f in files:
            rel = f.relative_to(self.path)
            parent = str(rel.parent) if str(rel.parent) != "." else ""
            by_folder.setdefault(parent, []).append((f, rel.name))
        for folder_name in sorted(by_folder):
            is_sent = any(_is_sent(part, self.sent_folders) for part in Path(folder_name).parts)
            entries = sorted_entries(by_folder[folder_name])
            yield from folder_items(self.name, Folder(folder_name or ".", entries, is_sent), cursors)


class MboxSource:
    """An mbox file, read from the byte offset of the cursor.

    The cursor keeps a digest of the bytes just before it: a file rewritten under it (compacted after a
    deletion, replaced, truncated) is read again from the top. Ids are content digests, so a re-read adds
    nothing already stored.
    """

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        _require(self.path, "mbox")
        with self.path.open("rb") as fh:
            offset = _resume_offset(fh, load_cursor(cursors.get("mbox")))
            fh.seek(offset)
            for start, end, raw, before in _split_mbox(fh, offset):
                digest = hashlib.sha256(raw).hexdigest()[:32]
                yield RawItem(
                    source=self.name,
                    external_id=f"sha256:{digest}",
                    position=f"{self.path}@{start}",
                    payload=trimmed(raw, LOCAL_TEXT_PART_CAP),
                    cursor=("mbox", dump_cursor({"offset": end, "before": window_digest(before)})),
                )


def _resume_offset(fh: BinaryIO, mark: Mapping[str, object]) -> int:
    """The cursor's offset when the file still holds, just before it, the bytes it held; else 0."""
    offset = int(str(mark.get("offset", 0) or 0))
    if offset <= 0:
        return 0
    fh.seek(max(0, offset - WINDOW))
    before = fh.read(min(offset, WINDOW))
    following = fh.read(5)
    if len(before) < min(offset, WINDOW) or mark.get("before") != window_digest(before):
        return 0
    return offset if following in (b"", b"From ") else 0


def _split_mbox(fh: BinaryIO, offset: int) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(start, end, message bytes, the bytes before end) per message; `From ` separator lines dropped,
    `>From ` unescaped."""
    lines: list[bytes] = []
    start = pos = offset
    recent = b""
    for line in fh:
        if line.startswith(b"From ") and (pos == offset or not lines or lines[-1].strip() == b""):
            if lines:
                yield start, pos, _join(lines), recent
            lines, start = [], pos
        else:
            lines.append(line[1:] if line.startswith(b">From ") else line)
        pos += len(line)
        recent = (recent + line)[-WINDOW:]
    if lines and lines[-1].endswith(b"\n"):  # a last line without newline is still being written
        yield start, pos, _join(lines), recent


def _join(lines: list[bytes]) -> bytes:
    if lines and lines[-1].strip() == b"":
        lines = lines[:-1]  # the blank line that separates messages belongs to the mbox format
    return b"".join(lines)
