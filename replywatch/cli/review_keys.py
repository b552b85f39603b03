"""Keys from the terminal for the interactive review queue: single keystrokes, and a typed line."""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from replywatch.errors import ReplywatchError


@contextmanager
def keyboard() -> Iterator[Callable[[], str]]:
    """Single keys from the terminal, unbuffered and unechoed for the whole session, so a key typed
    while the next item is being drawn is not lost."""
    if not sys.stdin.isatty():
        raise ReplywatchError(
            "the interactive queue needs a terminal; use `replywatch review list` and `review accept ID`"
        )
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield lambda: _read_key(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(fd: int) -> str:
    first = os.read(fd, 1)
    if not first or first == b"\x04":
        return "q"
    if first == b"\x1b":  # Escape alone quits; an arrow key's sequence is read and ignored
        while select.select([fd], [], [], 0.05)[0]:
            os.read(fd, 16)
            first = b""
        return "\x1b" if first else ""
    data = first
    while data[0] >= 0xC0 and len(data) < 4 and select.select([fd], [], [], 0.05)[0]:
        data += os.read(fd, 1)  # the rest of a UTF-8 character
    return data.decode("utf-8", "replace")


def read_line(prompt: str, read_key: Callable[[], str]) -> str:
    """A line typed key by key on the unechoed terminal, shown as it is typed."""
    typed = ""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    while True:
        key = read_key()
        if key in ("\r", "\n"):
            break
        if key in ("\x1b", "q") and not typed:
            typed = ""
            break
        if key in ("\x7f", "\b"):
            if typed:
                typed = typed[:-1]
                sys.stdout.write("\b \b")
        elif key.isprintable():
            typed += key
            sys.stdout.write(key)
        sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()
    return typed.strip()
