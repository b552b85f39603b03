"""Benchmark: `replywatch poll --once` on a Twilio calls source beside a plain SDK `calls.list()`, same calls.

    .venv/bin/python bench/ingest_calls.py [--calls 50000] [--db URL] [--repeat R]

The fake Calls API (tests/fakes/twilio_api.py) serves the call log from its own process, so neither side
shares a GIL with it. The log is 30 days of an associate's calls to customers (answered, voicemail, no
answer) and customers' calls to the store's number, one in five forwarded by <Dial> to an associate's
mobile (a parent leg and a child leg). `--calls` counts the records the API lists, legs included.
Printed, in calls/s (records listed per second): the plain SDK listing; the calls source alone (listing,
merging legs, payloads, no store); `replywatch poll --once` as a user runs it (a fresh SQLite file unless
--db, leads imported first so calls are matched); and the ratio poll / list. The issue's target is
>= 2,000 calls/s for the poll. `--repeat R` measures each figure R times, interleaved, and prints
medians. Not a test: no figure is asserted; timings on shared machines are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio  # noqa: E402
from ingest_sms import cli, source_only  # noqa: E402
from twilio.rest import Client  # noqa: E402

DESK, MOBILE, MAIN = "+15125550101", "+15125559101", "+15125550100"
START = datetime(2026, 10, 1, 13, tzinfo=UTC)
_OUTCOMES = (("completed", 180, "human"), ("completed", 35, "machine_end_beep"), ("no-answer", None, None))


def customer(i: int) -> str:
    return f"+1737{2000000 + i // 4:07d}"


def call_log(fake: FakeTwilio, n: int) -> None:
    """n call records over 30 days: our calls (answered, voicemail, no answer), the customers' calls to
    the main number, every fifth of those forwarded to Dana's mobile (a parent and a child leg)."""
    step = timedelta(days=30) / n
    rows = []
    i = 0
    while i < n:
        when = START + step * i
        if i % 5 == 4 and i + 1 < n:  # a forwarded call: its child leg is added below
            parent = fake.add_call(when, customer(i), MAIN, "inbound", "completed", 200)
            fake.add_call(when, MAIN, MOBILE, "outbound-dial", "completed", 190, parent=parent)
            i += 2
            continue
        status, length, _ = _OUTCOMES[i % 3]
        if i % 2:
            rows.append((when, customer(i), DESK, "inbound", status, length))
        else:
            rows.append((when, DESK, customer(i), "outbound-api", status, length))
        i += 1
    fake.add_calls(rows)


def serve(n: int, ready: multiprocessing.Queue[str]) -> None:
    fake = FakeTwilio().start()
    call_log(fake, n)
    ready.put(fake.base_url)
    while True:
        time.sleep(3600)


def write_site(root: Path, base_url: str, db: str, n: int) -> None:
    (root / "replywatch.toml").write_text(
        f"""[database]\nurl = "{db}"\n\n[[stores]]\nname = "Main Street Honda"\ntimezone = "America/Chicago"\n
[[associates]]\nname = "Dana Lee"\nstore = "Main Street Honda"\nphones = ["{DESK}", "{MOBILE}"]\n
[[sources]]\nname = "calls"\ntype = "twilio-calls"\naccount_sid = "{ACCOUNT_SID}"
auth_token_env = "BENCH_TOKEN"\nbase_url = "{base_url}"\n""",
        encoding="utf-8",
    )
    lines = ["lead_id,received_at,first_name,last_name,email,phone,source,associate,store"]
    for i in range(0, n, 8):  # a lead for every other customer, received before the first call
        when = (START + timedelta(days=30) / n * i - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"L{i},{when},Pat,Lee{i},,{customer(i)},Website,Dana Lee,Main Street Honda")
    (root / "leads.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def sdk_list(base_url: str) -> tuple[int, float]:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = base_url
    began = time.perf_counter()
    count = len(client.api.account.calls.list(page_size=1000))
    return count, time.perf_counter() - began


def poll_once(tmp: Path, base_url: str, args: argparse.Namespace) -> tuple[float, str, int]:
    """A fresh site and database, the leads imported, then `poll --once` timed."""
    root = Path(tempfile.mkdtemp(dir=tmp))
    write_site(root, base_url, args.db or f"sqlite:///{root / 'bench.db'}", args.calls)
    cli("leads", "import", "leads.csv", cwd=root)
    poll_s, said = cli("poll", "--once", cwd=root)
    contacted = json.loads(cli("status", "--format", "json", cwd=root)[1])["contacted"]
    return poll_s, said, contacted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="call records listed, legs included")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file per poll)")
    parser.add_argument("--repeat", type=int, default=1, metavar="R", help="measure R times, print medians")
    args = parser.parse_args()
    if args.db and args.repeat > 1:
        parser.error("--db holds one poll's data: use it without --repeat")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ["BENCH_TOKEN"] = AUTH_TOKEN
    ready: multiprocessing.Queue[str] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.calls, ready), daemon=True)
    server.start()
    base_url = ready.get(timeout=300)
    lists, sources, polls = [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_site(root, base_url, f"sqlite:///{root / 'unused.db'}", args.calls)
            for _ in range(args.repeat):
                listed, list_s = sdk_list(base_url)
                lists.append(list_s)
                items, source_s = source_only(root)
                sources.append(source_s)
                poll_s, said, contacted = poll_once(root, base_url, args)
                polls.append(poll_s)
    finally:
        server.terminate()
    list_s, source_s, poll_s = (statistics.median(t) for t in (lists, sources, polls))
    runs = f", medians of {args.repeat}" if args.repeat > 1 else ""
    print(f"call records: {listed} listed, {items} calls once legs are merged{runs}")
    print(f"plain SDK calls.list():     {listed / list_s:9.0f} calls/s  ({list_s:.1f} s)")
    print(f"calls source alone:         {listed / source_s:9.0f} calls/s  ({source_s:.1f} s)")
    print(f"replywatch poll --once:     {listed / poll_s:9.0f} calls/s  ({poll_s:.1f} s: {said})")
    print(f"{'':<27} leads contacted: {contacted} of {len(range(0, args.calls, 8))}")
    print(
        f"{'':<27} ratio poll / list: {(listed / poll_s) / (listed / list_s):.3f}  (target: >= 2,000 calls/s)"
    )


if __name__ == "__main__":
    main()
