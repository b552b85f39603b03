"""The cyclic garbage collector during a poll: paused while a batch is worked, what outlives it set aside.

A batch allocates tens of thousands of short-lived objects (rows, queries, candidates); reference counting
frees them, but each allocation burst also triggers collections that traverse every tracked object for
cycles that are not there. Paused for the batch, the collector is back on after it (the cycles a batch
leaves, if any, go with its next automatic collection); what lives on (the source's listing, the
directory, caches) is frozen so that full collections do not scan it again and again. Both are
process-wide: concurrent polls (the daemon's sources) share one pause count, and the collector comes back
when the last batch ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0  # batches at work now
_was_enabled = True  # the collector's state before the first of them


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside; afterwards (when no other batch is at work) it is as before."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def set_aside() -> None:
    """Every object alive now out of the collector's reach (till `release`): after each batch."""
    gc.freeze()


def release() -> None:
    """What was set aside is collected normally again, once the poll lets go of it: when a poll ends."""
    gc.unfreeze()
