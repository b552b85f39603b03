"""Benchmark: from the APPEND of a reply into Dovecot to its lead showing contacted, `replywatch run` in IDLE.

    .venv/bin/python bench/daemon_latency.py [--replies 100] [--backend sqlite|postgresql]
                                             [--pg postgresql+psycopg://…/test] [--gap 0.5] [--interval 60]

Starts a loopback Dovecot (tests/servers/dovecot.py) and `replywatch run` as a child process on a fresh
SQLite file (default) or PostgreSQL schema. Loads one ADF lead notice per reply and waits until the
daemon has stored them all, then, one at a time: APPEND a reply from a lead's address (an answer to a
follow-up the poller cannot see, so it is contact) over a standing IMAP connection, and poll the
database every 20 ms until that lead's contact_at is set. The clock starts just before the APPEND is
sent. Between replies it waits --gap seconds, so the daemon is back in IDLE when the next one lands.

Prints each latency and the summary: median, p95 (nearest rank), max; target p95 < 2 s. About 0.5 s of
each figure is Dovecot's own: a bare IMAPClient in IDLE hears of an APPEND ~0.52 s after it (Dovecot
batches mailbox change notifications); the rest is the daemon's poll (connect, login, fetch, store).
Not a test: nothing is asserted; timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from imapclient import IMAPClient
from ingest_local import drop_schema, pg_schema_url
from sqlalchemy import Engine, text

from replywatch.store.db import open_database

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from servers.dovecot import Account, Dovecot  # noqa: E402
from servers.oauth import TokenServer  # noqa: E402

STORE, DANA = "Main Street Honda", "dana@mainstreethonda.example"
TARGET_P95_S = 2.0
POLL_EVERY_S = 0.02
GIVE_UP_S = 120.0


def lead_notice(lead_id: str, email: str, when: datetime) -> bytes:
    adf = (
        '<?xml version="1.0"?><adf><prospect>'
        f'<id sequence="1" source="AutoTrader">{lead_id}</id><requestdate>{when.isoformat()}</requestdate>'
        "<vehicle><year>2025</year><make>Honda</make><model>CR-V</model></vehicle>"
        f'<customer><contact><name part="first">Pat</name><name part="last">{lead_id}</name>'
        f"<email>{email}</email></contact></customer>"
        f"<vendor><vendorname>{STORE}</vendorname></vendor></prospect></adf>"
    )
    return _mail(
        "leads@autotrader.example", DANA, f"New lead {lead_id}", adf, when, f"<{lead_id}@at.example>"
    )


def reply(lead_id: str, email: str) -> bytes:
    msg = _message(
        email,
        DANA,
        "Re: Your Honda CR-V inquiry",
        "Yes, Saturday morning works. Is the blue one still there?\n\n> Hi Pat, when can you come by?\n",
        datetime.now(UTC),
        f"<reply-{lead_id}@example.com>",
    )
    msg["In-Reply-To"] = msg["References"] = f"<followup-{lead_id}@mainstreethonda.example>"
    return msg.as_bytes()


def _mail(sender: str, to: str, subject: str, body: str, when: datetime, message_id: str) -> bytes:
    return _message(sender, to, subject, body, when, message_id).as_bytes()


def _message(sender: str, to: str, subject: str, body: str, when: datetime, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(when), message_id
    msg.set_content(body)
    return msg


def write_config(root: Path, account: Account, interval: int) -> Path:
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in account.source(interval=interval).items())
    config = root / "replywatch.toml"
    config.write_text(
        f'[[stores]]\nname = "{STORE}"\ntimezone = "America/Chicago"\nregion = "US"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "{STORE}"\nemails = ["{DANA}"]\n\n'
        f"[[sources]]\n{table}\n"
    )
    return config


def start_daemon(config: Path, url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLYWATCH_")}
    env["REPLYWATCH_DATABASE_URL"] = url
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "replywatch", "--config", str(config), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def wait_for(what: str, check: Callable[[], bool], daemon: subprocess.Popen[bytes], log_path: Path) -> float:
    """Poll `check` every 20 ms; seconds it took. Gives up (and shows the daemon's log) after GIVE_UP_S."""
    began = time.perf_counter()
    while not check():
        if daemon.poll() is not None or time.perf_counter() - began > GIVE_UP_S:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"gave up waiting for {what} (daemon exit {daemon.poll()}); its log:\n{tail}")
        time.sleep(POLL_EVERY_S)
    return time.perf_counter() - began


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure(args: argparse.Namespace, dovecot: Dovecot, root: Path, url: str) -> list[float]:
    account = dovecot.account()
    config = write_config(root, account, args.interval)
    engine, _ = open_database(url)  # the schema, made before the daemon starts
    leads = [f"R{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(args.replies)]
    emails = {lead: f"{lead.lower()}@example.com" for lead in leads}
    received = datetime.now(UTC) - timedelta(hours=1)
    account.save_many(lead_notice(lead, emails[lead], received) for lead in leads)
    log_path = root / "daemon.log"
    daemon = start_daemon(config, url, log_path)
    latencies: list[float] = []
    try:
        took = wait_for(
            f"the {len(leads)} leads",
            lambda: scalar(engine, "SELECT count(*) FROM leads") == len(leads),
            daemon,
            log_path,
        )
        print(f"daemon pid {daemon.pid} stored the {len(leads)} lead notices in {took:.1f} s", flush=True)
        time.sleep(1.0)  # into IDLE
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False) as client:
            client.login(account.user, account.password)
            for n, lead in enumerate(leads, start=1):
                raw = reply(lead, emails[lead])
                began = time.perf_counter()
                client.append("INBOX", raw)
                sent = time.perf_counter() - began
                wait_for(
                    f"reply {n}",
                    lambda lead=lead: bool(
                        scalar(
                            engine,
                            "SELECT count(*) FROM leads WHERE external_id = :x AND contact_at IS NOT NULL",
                            x=lead,
                        )
                    ),
                    daemon,
                    log_path,
                )
                seconds = time.perf_counter() - began
                latencies.append(seconds)
                print(
                    f"reply {n:3d}/{len(leads)}: {seconds:6.3f} s  (APPEND {sent * 1000:4.0f} ms)", flush=True
                )
                time.sleep(args.gap)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                code = daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                code = daemon.wait()
            print(f"daemon stopped by SIGTERM: exit {code}")
        engine.dispose()
    stored = log_path.read_text(errors="replace").count("new items")
    print(f"daemon log: {stored} polls that stored mail; {log_path.stat().st_size} bytes")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between a contact seen and the next")
    parser.add_argument("--interval", type=int, default=60, help="the source's poll interval (IDLE renewal)")
    args = parser.parse_args()
    tokens = TokenServer()
    tokens.start()
    root = Path(tempfile.mkdtemp(prefix="replywatch-bench-"))
    root.chmod(0o755)
    dovecot = Dovecot(root, tokens)
    dovecot.start()
    schema = None
    try:
        if args.backend == "postgresql":
            url, schema = pg_schema_url(args.pg)
        else:
            url = f"sqlite:///{root / 'replywatch.db'}"
        print(f"backend {args.backend}; {args.replies} replies; gap {args.gap} s; interval {args.interval} s")
        latencies = measure(args, dovecot, root, url)
    finally:
        if schema:
            drop_schema(args.pg, schema)
        dovecot.stop()
        tokens.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)
    p95 = nearest_rank(latencies, 0.95)
    print(
        f"APPEND -> contacted over {len(latencies)} replies ({args.backend}): "
        f"median {statistics.median(latencies):.3f} s, p95 {p95:.3f} s, max {max(latencies):.3f} s, "
        f"min {min(latencies):.3f} s; target p95 < {TARGET_P95_S:.0f} s met: "
        f"{'yes' if p95 < TARGET_P95_S else 'no'}"
    )


if __name__ == "__main__":
    main()
