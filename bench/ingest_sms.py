"""Benchmark: `replywatch poll --once` on a Twilio source beside a plain SDK `messages.list()`, same messages.

    .venv/bin/python bench/ingest_sms.py [--messages 50000] [--db URL] [--numbers] [--profile N]
                                         [--repeat R] [--compare REV]

The fake Messages API (tests/fakes/twilio_api.py) serves the messages from its own process, so neither
side shares a GIL with it. Printed, in messages/s: the plain SDK listing; the Twilio source alone
(listing, sorting, payloads, no store); `replywatch poll --once` as a user runs it (a fresh SQLite file
unless --db, leads imported first so replies are matched); and the ratio poll / list (target >= 0.5).
`--repeat R` measures each figure R times, interleaved, and prints medians. `--compare REV` also times
`poll --once` with the code of git revision REV (exported with `git archive`, run from PYTHONPATH), in
the same run and on the same data, so that before and after meet the same machine load. Also printed
(SQLite only): how long SQLite alone takes to write the rows the poll wrote, straight through the driver,
and the ratio a poll would reach if it did nothing but list and write them: the ceiling of any poll.
`--profile N` polls N messages in-process under cProfile and prints where the time goes. Not a test:
no figure is asserted; timings on shared machines are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio  # noqa: E402
from twilio.rest import Client  # noqa: E402

from replywatch.classify.rules import default_rules_dir, load_rules  # noqa: E402
from replywatch.config import load_settings  # noqa: E402
from replywatch.ingest.directory import open_directory  # noqa: E402
from replywatch.ingest.pipeline import BATCH_SIZE, Pipeline  # noqa: E402
from replywatch.sources.base import RawItem  # noqa: E402
from replywatch.sources.factory import build_source  # noqa: E402
from replywatch.store.db import open_database  # noqa: E402

OURS = ("+15125550100", "+15125550101")
START = datetime(2026, 10, 1, 13, tzinfo=UTC)


def conversation(n: int) -> list[tuple[datetime, str, str, str, str]]:
    """n texts over 30 days: an associate's text to a customer, every other one answered."""
    rows = []
    step = timedelta(days=30) / n
    for i in range(n):
        customer, ours = f"+1737{2000000 + i // 4:07d}", OURS[i % 2]
        if i % 2:
            rows.append((START + step * i, customer, ours, f"Yes, Saturday works. #{i}", "inbound"))
        else:
            rows.append(
                (START + step * i, ours, customer, f"Hi, this is Dana about the CR-V #{i}", "outbound-api")
            )
    return rows


def serve(n: int, ready: multiprocessing.Queue[str]) -> None:
    fake = FakeTwilio().start()
    fake.add_many(conversation(n))
    ready.put(fake.base_url)
    while True:
        time.sleep(3600)


def write_site(root: Path, base_url: str, db: str, n: int, numbers: bool) -> None:
    filters = f"numbers = {list(OURS)!r}".replace("'", '"') if numbers else ""
    (root / "replywatch.toml").write_text(
        f"""[database]\nurl = "{db}"\n\n[[stores]]\nname = "Main Street Honda"\ntimezone = "America/Chicago"\n
[[associates]]\nname = "Dana Lee"\nstore = "Main Street Honda"\nphones = ["{OURS[0]}", "{OURS[1]}"]\n
[[sources]]\nname = "texts"\ntype = "twilio"\naccount_sid = "{ACCOUNT_SID}"\nauth_token_env = "BENCH_TOKEN"
base_url = "{base_url}"\n{filters}\n""",
        encoding="utf-8",
    )
    lines = ["lead_id,received_at,first_name,last_name,email,phone,source,associate,store"]
    for i in range(0, n, 8):  # a lead for every other customer, received before our first text
        when = (START + timedelta(days=30) / n * i - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(
            f"L{i},{when},Pat,Lee{i},,+1737{2000000 + i // 4:07d},Website,Dana Lee,Main Street Honda"
        )
    (root / "leads.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(*args: str, cwd: Path, code: Path | None = None) -> tuple[float, str]:
    """Seconds `replywatch ARGS` took, and what it printed; `code`: run that copy of the package."""
    env = os.environ | {"BENCH_TOKEN": AUTH_TOKEN, "NO_PROXY": "127.0.0.1,localhost"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "replywatch", *args], cwd=cwd, env=env, capture_output=True)
    if done.returncode:
        sys.exit(f"replywatch {' '.join(args)} failed:\n{done.stderr.decode()}")
    return time.perf_counter() - began, done.stdout.decode().strip()


def export_revision(rev: str, into: Path) -> Path:
    """The package and its rules as at git revision `rev`, in `into` (read from git, not checked out)."""
    listed = ["git", "-C", str(REPO), "ls-tree", "--name-only", rev]
    top = subprocess.run(listed, capture_output=True, check=True, text=True).stdout.split()
    # Before the layout change the shipped rules were ../rules behind a symlink in the package.
    paths = ["replywatch", *(["rules"] if "rules" in top else [])]
    command = ["git", "-C", str(REPO), "archive", "--format=tar", rev, *paths]
    archive = subprocess.run(command, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def poll_once(
    tmp: Path, base_url: str, args: argparse.Namespace, code: Path | None
) -> tuple[float, str, int, Path]:
    """A fresh site and database, the leads imported, then `poll --once` timed: seconds, output, contacted,
    and the site's folder."""
    root = Path(tempfile.mkdtemp(dir=tmp))
    write_site(root, base_url, args.db or f"sqlite:///{root / 'bench.db'}", args.messages, args.numbers)
    cli("leads", "import", "leads.csv", cwd=root, code=code)
    poll_s, said = cli("poll", "--once", cwd=root, code=code)
    contacted = json.loads(cli("status", "--format", "json", cwd=root, code=code)[1])["contacted"]
    return poll_s, said, contacted, root


FLOOR_TABLES = ("messages", "message_keys", "matches")


def insert_floor(db: Path) -> float:
    """Seconds SQLite alone takes to write the rows a poll wrote (messages, their keys, their matches),
    in as many commits as the poll, straight through the driver, into a copy of the database without
    them (leads and all else kept): what a poll that did nothing else in Python would still pay."""
    source = sqlite3.connect(db)
    rows = {t: source.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in FLOOR_TABLES}
    copy = sqlite3.connect(db.with_name("floor.db"))
    source.backup(copy)
    source.close()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        copy.execute(f"PRAGMA {pragma}")
    for table in reversed(FLOOR_TABLES):
        copy.execute(f"DELETE FROM {table}")
    copy.commit()
    batches = -(-len(rows["messages"]) // BATCH_SIZE)
    began = time.perf_counter()
    for b in range(batches):
        for table, table_rows in rows.items():
            per = -(-len(table_rows) // batches)
            part = table_rows[b * per : (b + 1) * per]
            if part:
                copy.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(part[0]))})", part)
        copy.commit()
    spent = time.perf_counter() - began
    copy.close()
    return spent


def sdk_list(base_url: str) -> tuple[int, float]:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = base_url
    began = time.perf_counter()
    count = len(client.api.account.messages.list(page_size=1000))
    return count, time.perf_counter() - began


def source_only(root: Path) -> tuple[int, float]:
    """The Twilio source drained without storing: listing, sorting, payloads."""
    source = build_source(load_settings(root / "replywatch.toml").sources[0])
    began = time.perf_counter()
    count = sum(1 for _ in source.items({}))
    return count, time.perf_counter() - began


def profile(root: Path, limit: int) -> None:
    """Poll the first `limit` messages in-process under cProfile; print the top of the profile."""
    settings = load_settings(root / "replywatch.toml")
    _, sessions = open_database(settings.database.url)
    pipeline = Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings)
    )
    source = build_source(settings.sources[0])

    class First:
        name = source.name

        def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
            for count, item in enumerate(source.items(cursors)):
                if count == limit:
                    return
                yield item

    profiler = cProfile.Profile()
    profiler.runcall(pipeline.poll, First())
    stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
    stats.print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file per poll)")
    parser.add_argument("--numbers", action="store_true", help="filter by our two numbers (4 listings)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile an in-process poll of N"
    )
    parser.add_argument("--repeat", type=int, default=1, metavar="R", help="measure R times, print medians")
    parser.add_argument("--compare", default=None, metavar="REV", help="also poll with git revision REV")
    args = parser.parse_args()
    if args.db and (args.repeat > 1 or args.compare):
        parser.error("--db holds one poll's data: use it without --repeat and --compare")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ["BENCH_TOKEN"] = AUTH_TOKEN  # the site's auth_token_env, for the in-process source and profile
    ready: multiprocessing.Queue[str] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.messages, ready), daemon=True)
    server.start()
    base_url = ready.get(timeout=300)
    lists: list[float] = []
    sources: list[float] = []
    polls: dict[str, list[float]] = {"now": [], args.compare or "": []}
    floors: list[float] = []
    said: dict[str, str] = {}
    contacted: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            old = export_revision(args.compare, root / "baseline") if args.compare else None
            write_site(root, base_url, f"sqlite:///{root / 'unused.db'}", args.messages, args.numbers)
            if args.profile:
                cli("leads", "import", "leads.csv", cwd=root)
                profile(root, args.profile)
                return
            for _ in range(args.repeat):
                listed, list_s = sdk_list(base_url)
                lists.append(list_s)
                read, source_s = source_only(root)
                sources.append(source_s)
                for label, code in (("now", None), (args.compare, old)):
                    if label is None:
                        continue
                    poll_s, said[label], contacted[label], site = poll_once(root, base_url, args, code)
                    polls[label].append(poll_s)
                    if label == "now" and not args.db:
                        floors.append(insert_floor(site / "bench.db"))
    finally:
        server.terminate()
    list_s, source_s = statistics.median(lists), statistics.median(sources)
    runs = f", medians of {args.repeat}" if args.repeat > 1 else ""
    print(f"messages: {args.messages} ({'by our 2 numbers' if args.numbers else 'whole account'}{runs})")
    print(f"plain SDK messages.list():  {listed / list_s:9.0f} messages/s  ({list_s:.1f} s)")
    print(f"Twilio source alone:        {read / source_s:9.0f} messages/s  ({source_s:.1f} s)")
    if floors:
        floor_s = statistics.median(floors)
        print(f"SQLite alone, same rows:    {args.messages / floor_s:9.0f} messages/s  ({floor_s:.1f} s)")
        best = (args.messages / (source_s + floor_s)) / (listed / list_s)
        print(f"{'':<27} ratio if a poll were the source and these inserts only: {best:.3f}")
    for label, times in polls.items():
        if not times:
            continue
        poll_s = statistics.median(times)
        name = "replywatch poll --once:" if label == "now" else f"  same at {label}:"
        print(f"{name:<27} {args.messages / poll_s:9.0f} messages/s  ({poll_s:.1f} s: {said[label]})")
        print(f"{'':<27} leads contacted: {contacted[label]} of {len(range(0, args.messages, 8))}")
        ratio = (args.messages / poll_s) / (listed / list_s)
        print(f"{'':<27} ratio poll / list: {ratio:.3f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
