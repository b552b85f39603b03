"""The collector pause of a poll's batches: process-wide, shared by concurrent polls, state restored."""

from __future__ import annotations

import gc
import threading

import pytest

from replywatch.ingest import collector


@pytest.fixture(autouse=True)
def _collector_enabled() -> None:
    gc.enable()


def test_paused_inside_and_enabled_after() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_an_error_inside() -> None:
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("a batch failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_concurrent_batches_share_the_pause() -> None:
    """The first batch to end must not turn the collector back on under one still at work."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector.paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector.paused():
            second_in.set()
            first_out.wait(5)
            seen["while the second works"] = gc.isenabled()
        seen["after both"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"while the second works": False, "after both": True}


def test_set_aside_objects_come_back_on_release() -> None:
    kept: list[list[int]] = [[] for _ in range(100)]
    collector.set_aside()
    try:
        assert gc.get_freeze_count() >= len(kept)
    finally:
        collector.release()
    assert gc.get_freeze_count() == 0
