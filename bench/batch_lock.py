"""Benchmark: what the batch turn (one batch at a time, store.db.batch_transaction) costs concurrent sources.

Every source of the sample dealership is polled at once, a thread each, into a fresh PostgreSQL schema:
(a) as shipped, each batch taking the advisory lock before it reads its candidates; (b) with no lock at
all. (b) is not correct (a batch can miss another's new lead or touch: the window the lock closes) but it
is the floor of what any other scheme could cost (a lock per store, or re-checking a batch's new
identities after commit, both add work to it). Printed side by side: wall time medians, their ratio,
and in (a) the time batches spent waiting for the lock against the time they held it.

    .venv/bin/python bench/batch_lock.py [--weeks 20] [--runs 3] [--pg postgresql+psycopg://…/test]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ingest_local import drop_schema, pg_schema_url

import replywatch.ingest.pipeline as pipeline_module
from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.config import load_settings
from replywatch.demo import write_sample_dealership
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.sources.factory import build_source
from replywatch.store import Sessions
from replywatch.store.db import batch_transaction, open_database


class Timed:
    """batch_transaction as shipped, timing the wait for the turn and the time the turn is held."""

    def __init__(self) -> None:
        self.waited = self.held = 0.0
        self.batches = 0
        self.lock = threading.Lock()

    @contextmanager
    def __call__(self, sessions: Sessions) -> Iterator[object]:
        began = time.perf_counter()
        with batch_transaction(sessions) as session:
            got = time.perf_counter()
            yield session
        done = time.perf_counter()
        with self.lock:
            self.waited += got - began
            self.held += done - got
            self.batches += 1


@contextmanager
def unlocked(sessions: Sessions) -> Iterator[object]:
    with sessions() as session, session.begin():
        yield session


def poll_all(config: Path, url: str, turn: object) -> float:
    settings = load_settings(config, environ={"REPLYWATCH_DATABASE_URL": url})
    _, sessions = open_database(settings.database.url)
    pipeline = Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings)
    )
    pipeline_module.batch_transaction = turn  # type: ignore[assignment]
    try:
        threads = [
            threading.Thread(target=pipeline.poll, args=(build_source(cfg),)) for cfg in settings.sources
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began
    finally:
        pipeline_module.batch_transaction = batch_transaction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="replywatch-lock-"))
    site = write_sample_dealership(root / "site", seed=3, end=date(2026, 11, 30), weeks=args.weeks)
    sources = len(load_settings(site.config_path).sources)
    print(f"sample dealership, {args.weeks} weeks, {sources} sources polled at once on PostgreSQL")
    locked: list[float] = []
    free: list[float] = []
    timed = Timed()
    for run in range(args.runs):
        for name, turn, into in (("locked", timed, locked), ("no lock", unlocked, free)):
            url, schema = pg_schema_url(args.pg)
            try:
                into.append(poll_all(site.config_path, url, turn))
            finally:
                drop_schema(args.pg, schema)
            print(f"  run {run + 1} {name:8s} {into[-1]:6.2f} s")
    a, b = statistics.median(locked), statistics.median(free)
    print(f"(a) batch turn (as shipped): {a:.2f} s   (b) no lock (the floor): {b:.2f} s   a/b = {a / b:.3f}")
    print(
        f"in (a), {timed.batches} batches waited {timed.waited:.2f} s in all for their turn and held it"
        f" {timed.held:.2f} s ({timed.waited / max(timed.held, 1e-9):.1%} of the held time)"
    )


if __name__ == "__main__":
    main()
