"""Loopback ports named before anything listens on them: for a server started later on a known port
(Dovecot, an SMTP server that comes back where it was) and for a port that must refuse (`dead_url`).

A port the kernel hands out for port 0 is from its ephemeral range, which every `bind(0)` and every
outgoing connection of every process draws from: under pytest-xdist another worker's server could take
it between our check and our use. So these come from a band just below the ephemeral range instead, a
slice of it per xdist worker, walked from a random point (another run at the same time starts elsewhere)
and not handed out again by one process until it has walked its whole slice."""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

BAND = 12_000  # ports below the ephemeral range that the test workers share out
_FIRST_FALLBACK = 32_768  # Linux's default ephemeral range starts here


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _FIRST_FALLBACK


def _slice() -> range:
    """This process's ports: its xdist worker's share of the band (the whole band without xdist)."""
    top = _ephemeral_start()
    bottom = max(1024, top - BAND)
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    span = (top - bottom) // workers
    start = bottom + (index % workers) * span
    return range(start, start + span)


def _walk() -> Iterator[int]:
    ports = _slice()
    offset = random.randrange(len(ports))
    return itertools.cycle([*ports[offset:], *ports[:offset]])


_CANDIDATES = _walk()


def free_port() -> int:
    """A loopback port nothing listens on now, that no other xdist worker of this run will hand out."""
    for _ in range(len(_slice())):
        port = next(_CANDIDATES)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken by something else on the machine
            return port
    raise RuntimeError("no free loopback port in this test worker's band")
