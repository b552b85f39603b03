"""Benchmark: one week's digest with 4 weeks, 12 weeks and 2 years of history, on SQLite and PostgreSQL.

    .venv/bin/python bench/digest_scale.py [--leads 200000] [--rounds 5] [--backend both]
                                           [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Two years hold `--leads` leads (default 200,000) and five messages each (1,000,000), each message
matched to its lead; "4 weeks" holds the digest's week and 4 weeks before it at the same rate, "12 weeks"
the digest's week and the 12 before it (as many as its trend shows: beyond them history adds nothing to
read, below them the digest has fewer weeks to show, so 4 weeks is the cheapest case). The
history is bulk-inserted with SQL (executemany on SQLite, COPY on PostgreSQL), ids in arrival order.
Timed: the digests of the week of 2026-11-23 for both stores and the group roll-up (build = the SQL
and the roll-ups; total = build, chart, HTML, text and MIME), each round in a fresh process (one
warm-up, three timed runs), the databases taking turns so that a busy machine slows them alike.
Printed: the median and the best run of each, and the ratios of 2 years to each. Target: <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from replywatch.config import Settings, settings_from_dict
from replywatch.digest.build import build_digest
from replywatch.digest.render import render
from replywatch.digest.scope import scopes
from replywatch.digest.send import digest_message
from replywatch.store.db import open_database
from replywatch.store.directory import sync_directory

WEEK_OF = date(2026, 11, 23)
END = datetime(2026, 11, 30, 6, tzinfo=UTC)  # digest week ended; `now` of every run
NOW = END + timedelta(days=1)
STORES = (("North Honda", "America/Chicago"), ("West Toyota", "America/Denver"))
SOURCES = ("AutoTrader", "Cars.com", "CarGurus", "TrueCar", "Dealer Website", "OEM Site")
ASSOCIATES_PER_STORE = 4
MESSAGES_PER_LEAD = 5
TWO_YEARS_WEEKS = 104
SHORT_WEEKS = 5  # the digest week and 4 weeks of history before it
FULL_TREND_WEEKS = 13  # the digest week and the 12 its trend can show: more history shows no more


def settings(url: str) -> Settings:
    stores = [
        {"name": name, "timezone": zone, "digest_recipients": [f"gm{i}@x.example"]}
        for i, (name, zone) in enumerate(STORES)
    ]
    associates = [
        {"name": f"Associate {s}-{a}", "store": STORES[s][0]}
        for s in range(len(STORES))
        for a in range(ASSOCIATES_PER_STORE)
    ]
    digest = {"group_recipients": ["owner@x.example"]}
    return settings_from_dict(
        {"database": {"url": url}, "stores": stores, "associates": associates, "digest": digest}
    )


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def synthetic(weeks: int, per_week: int, seed: int) -> Rows:
    """Leads, messages and matches rows; naive UTC datetimes."""
    rng = random.Random(seed)
    start = (END - timedelta(weeks=weeks)).replace(tzinfo=None)
    span = (weeks * 7 * 86400) - 1
    # Ids follow arrival, as the pollers store leads: a week's leads sit together on disk.
    arrivals = sorted(rng.randint(0, span) for _ in range(weeks * per_week))
    leads, messages, matches = [], [], []
    for lead_id, offset in enumerate(arrivals, start=1):
        store = rng.randrange(len(STORES))
        received = start + timedelta(seconds=offset)
        touch = received + timedelta(minutes=rng.expovariate(1 / 180)) if rng.random() < 0.85 else None
        contact = (
            touch + timedelta(minutes=rng.expovariate(1 / 600)) if touch and rng.random() < 0.65 else None
        )
        leads.append(_lead(rng, lead_id, store, received, touch, contact))
        for k in range(MESSAGES_PER_LEAD):
            message_id = (lead_id - 1) * MESSAGES_PER_LEAD + k + 1
            kind = "bounce" if k == 4 and rng.random() < 0.03 else "human"
            sent = received + timedelta(minutes=rng.randint(1, 5000))
            messages.append(_message(message_id, store, kind, sent, k % 2 == 0))
            status = "review" if rng.random() < 0.01 else "matched"
            matches.append((message_id, message_id, lead_id, status, 0.9, "[]", "auto", sent))
    return leads, messages, matches


def _lead(
    rng: random.Random,
    lead_id: int,
    store: int,
    received: datetime,
    touch: datetime | None,
    contact: datetime | None,
) -> tuple[Any, ...]:
    def secs(at: datetime | None) -> int | None:
        return None if at is None else int((at - received).total_seconds())

    associate = store * ASSOCIATES_PER_STORE + rng.randrange(ASSOCIATES_PER_STORE) + 1
    ttc, fr = secs(contact), secs(touch)
    business = (None if ttc is None else ttc // 3, None if fr is None else fr // 3)
    opted_out = received + timedelta(days=1) if rng.random() < 0.02 else None
    channel = "email" if contact else None
    ids = (lead_id, rng.choice(SOURCES), f"L{lead_id}", store + 1, associate)
    return (*ids, received, touch, contact, channel, ttc, business[0], fr, business[1], opted_out)


def _message(message_id: int, store: int, kind: str, sent: datetime, outbound: bool) -> tuple[Any, ...]:
    direction = "outbound" if outbound else "inbound"
    return (message_id, "inbox", f"M{message_id}", "email", direction, kind, sent, False, store + 1, sent)


TABLES = {
    "leads": "id, source, external_id, store_id, associate_id, received_at, first_touch_at, contact_at, "
    "contact_channel, time_to_contact_s, time_to_contact_business_s, first_response_s, "
    "first_response_business_s, opted_out_at",
    "messages": "id, source, external_id, channel, direction, kind, sent_at, is_reply, store_id, ingested_at",
    "matches": "id, message_id, lead_id, status, score, reasons, decided_by, decided_at",
}


def load_sqlite(url: str, rows: Rows) -> None:
    def text(row: tuple[Any, ...]) -> tuple[Any, ...]:  # SQLAlchemy's SQLite DATETIME text form
        return tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in row)

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    with con:
        for (table, cols), data in zip(TABLES.items(), rows, strict=True):
            marks = ", ".join("?" * len(cols.split(",")))
            con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", map(text, data))
    con.close()


def load_pg(url: str, rows: Rows) -> None:
    with psycopg.connect(**_pg_args(url)) as con:
        for (table, cols), data in zip(TABLES.items(), rows, strict=True):
            with con.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        con.execute("ANALYZE")  # what autovacuum would have done after a bulk load


def _pg_args(url: str) -> dict[str, Any]:
    u = make_url(url)
    options = u.query.get("options")
    args = {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username}
    return args | ({"options": options} if isinstance(options, str) else {})


def prepare(url: str, weeks: int, per_week: int) -> float:
    """Schema by migration, stores and associates as the daemon syncs them, then the bulk rows."""
    began = time.perf_counter()
    cfg = settings(url)
    _, sessions = open_database(url)
    sync_directory(sessions, cfg)
    rows = synthetic(weeks, per_week, seed=weeks)
    (load_sqlite if url.startswith("sqlite") else load_pg)(url, rows)
    return time.perf_counter() - began


def time_digests(url: str, runs: int) -> list[tuple[float, float]]:
    """(build, total) seconds of each run over all scopes, after one warm-up run."""
    cfg = settings(url)
    _, sessions = open_database(url)
    timings = []
    for _ in range(runs + 1):
        build_s = total_s = 0.0
        with sessions() as session:
            for scope in scopes(session, cfg):
                t0 = time.perf_counter()
                digest = build_digest(session, scope, WEEK_OF, NOW, cfg.digest.baseline_weeks)
                t1 = time.perf_counter()
                rendered = render(digest)
                digest_message(rendered, "r@x.example", scope.recipients, scope.name, WEEK_OF, NOW).as_bytes()
                build_s, total_s = build_s + t1 - t0, total_s + time.perf_counter() - t0
        timings.append((build_s, total_s))
    return timings[1:]


def timed_in_child(url: str, runs: int) -> list[tuple[float, float]]:
    """Timed in a fresh process, like a daemon's: not one that has just built a million rows in memory."""
    command = [sys.executable, __file__, "--time-only", url, "--runs", str(runs)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [(float(b), float(t)) for b, t in json.loads(out.strip().splitlines()[-1])]


@contextmanager
def database(backend: str, tmp: Path, pg: str, label: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'{label}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**_pg_args(pg), autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(**_pg_args(pg), autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> None:
    per_week = round(args.leads / TWO_YEARS_WEEKS)
    sizes = {"4 weeks": SHORT_WEEKS, "12 weeks": FULL_TREND_WEEKS, "2 years": TWO_YEARS_WEEKS}
    with ExitStack() as stack:
        urls = {
            label: stack.enter_context(database(backend, tmp, args.pg, f"db{i}"))
            for i, label in enumerate(sizes)
        }
        loaded = {label: prepare(urls[label], weeks, per_week) for label, weeks in sizes.items()}
        timings: dict[str, list[tuple[float, float]]] = {label: [] for label in sizes}
        for _ in range(args.rounds):
            for label in sizes:
                timings[label] += timed_in_child(urls[label], 3)
    summary = {label: _summary(t) for label, t in timings.items()}
    for label, weeks in sizes.items():
        leads = weeks * per_week
        b_med, t_med, b_min, t_min = (round(x * 1000) for x in summary[label])
        size = f"{leads:>7,} leads {leads * MESSAGES_PER_LEAD:>9,} messages  load {loaded[label]:5.1f} s"
        times = f"build {b_med:5} ms (best {b_min:4})  total {t_med:5} ms (best {t_min:4})"
        print(f"{backend:10} {label:8} {size}  {times}")
    for base in ("4 weeks", "12 weeks"):
        ratios = [summary["2 years"][i] / summary[base][i] for i in range(4)]
        print(
            f"{backend:10} ratio 2 years / {base}: build {ratios[0]:.2f} (best {ratios[2]:.2f}), "
            f"total {ratios[1]:.2f} (best {ratios[3]:.2f}); target <= 1.5"
        )


def _summary(timings: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    builds, totals = [b for b, _ in timings], [t for _, t in timings]
    return statistics.median(builds), statistics.median(totals), min(builds), min(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000, help="leads in two years")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per database, taking turns")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--time-only", metavar="URL", help="time the digests of a loaded database; print JSON"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of --time-only")
    args = parser.parse_args()
    if args.time_only:
        print(json.dumps(time_digests(args.time_only, args.runs)))
        return
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            run_backend(backend, args, Path(tmp))


if __name__ == "__main__":
    main()
