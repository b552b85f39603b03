"""Files that hold customers' data (the SQLite database, exports, digest previews): created 0600, their
new folders 0700, whatever the umask. SQLite gives its -wal and -shm files the database file's mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """`path` and any missing parent made, each new one 0700 (existing folders are left as they are)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(folder, DIR_MODE)


def private_open(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`path` opened for writing from the start, readable by its owner only (an existing file too)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode, **kwargs)


def private_touch(path: Path) -> None:
    """`path` created empty, 0600, unless it exists (then its mode is the owner's choice)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
