"""Chaos soak: several real daemons under steady traffic and random faults, then compared with a clean run.

Real processes and servers: `replywatch run` daemons (3 on one PostgreSQL schema, or 2 on one SQLite
file), sources IMAP (a loopback Dovecot: INBOX and Sent), Twilio (the stateful fake API), an SMS CSV export
that grows, and a Maildir of lead notices. Stories arrive steadily: a lead notice, our follow-up (mail,
text or export row) and often the customer's reply. Meanwhile, at random: SIGKILL a daemon and start it
again, SIGTERM one and start it again, terminate its PostgreSQL backends, restart Dovecot, make the Twilio
fake answer 429/500 for a while, SIGHUP every daemon with a changed rule.

At the end, once everything has been quiet for a poll of every source, it checks: the export equals a
single clean `poll --once` over the same inputs, every (source, id) is stored once, no lease is held by a
dead daemon, `status --check` passes. It prints faults by kind, items in, items stored, lost, doubled, the
longest time a source went unpolled (against 3 × its interval) and the time from the last fault until the
store converged. Targets: 0 lost, 0 doubled, nothing unpolled beyond 3 intervals, convergence within one
interval after the last fault is over.

    python bench/chaos.py --minutes 10                   # the benchmark: PostgreSQL, then SQLite
    python bench/chaos.py --minutes 2 --backend sqlite   # a short run (tests/e2e/test_chaos.py runs one)

Needs Dovecot (`apt-get install dovecot-imapd`), root (Dovecot's mail is chowned to its user) and, for
PostgreSQL, the server at --pg.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from clirun import replywatch  # noqa: E402
from daemonrun import DaemonProcess  # noqa: E402
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio  # noqa: E402
from mailbuild import adf, mail  # noqa: E402
from servers.dovecot import Account, Dovecot  # noqa: E402
from servers.oauth import TokenServer  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from replywatch.classify.rules import default_rules_dir  # noqa: E402

STORE = "Main Street Honda"
DANA, DANA_PHONE = "dana@mainstreethonda.example", "+15125550100"
LEADS_TO = "leads@mainstreethonda.example"
FAULTS = ("kill", "term", "pg_terminate", "dovecot_restart", "twilio_errors", "sighup")


@dataclass
class Soak:
    """One run's world: the servers, the inputs written so far, the daemons, what happened."""

    root: Path
    url: str
    backend: str
    interval: int
    rng: random.Random
    dovecot: Dovecot
    account: Account
    twilio: FakeTwilio
    daemons: list[DaemonProcess] = field(default_factory=list)
    items_in: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    last_fault_end: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rule_serial: int = 0
    traffic_errors: list[str] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "replywatch.toml"

    @property
    def env(self) -> dict[str, str]:
        return {"REPLYWATCH_DATABASE_URL": self.url, "CHAOS_TWILIO_TOKEN": AUTH_TOKEN}


# -- the dealership and its inputs ----------------------------------------------------------------------


def write_config(soak: Soak) -> None:
    password = soak.root / "imap.password"
    password.write_text(soak.account.password)
    rules = soak.root / "rules"
    if not rules.exists():
        rules.mkdir()
        for path in default_rules_dir().glob("*.toml"):
            (rules / path.name).write_text(path.read_text())
    (soak.root / "notices" / "cur").mkdir(parents=True, exist_ok=True)
    for sub in ("new", "tmp"):
        (soak.root / "notices" / sub).mkdir(exist_ok=True)
    (soak.root / "texts.csv").write_text("id,sent_at,from,to,body,direction\n")
    soak.config.write_text(
        f"""rules_dir = "{rules}"

[daemon]
lease_seconds = 5
housekeeping_seconds = 3600   # the sweep is the safety net: the soak must converge without it
watchdog_grace_seconds = 30

[[stores]]
name = "{STORE}"
timezone = "America/Chicago"

[[associates]]
name = "Dana Lee"
store = "{STORE}"
emails = ["{DANA}"]
phones = ["{DANA_PHONE}"]

[[sources]]
name = "inbox"
type = "imap"
host = "127.0.0.1"
port = {soak.dovecot.port}
tls = false
username = "{soak.account.user}"
password_file = "{password}"
interval = {soak.interval}
reconnect_attempts = 8

[[sources]]
name = "texts"
type = "twilio"
account_sid = "{ACCOUNT_SID}"
auth_token_env = "CHAOS_TWILIO_TOKEN"
numbers = ["{DANA_PHONE}"]
base_url = "{soak.twilio.base_url}"
interval = {soak.interval}

[[sources]]
name = "export"
type = "sms-csv"
path = "{soak.root / "texts.csv"}"
interval = {soak.interval}

[[sources]]
name = "notices"
type = "maildir"
path = "{soak.root / "notices"}"
interval = {soak.interval}
"""
    )


class Traffic:
    """Stories, one every `every` seconds: a lead notice, our follow-up, often the customer's reply."""

    def __init__(self, soak: Soak, every: float) -> None:
        self.soak, self.every = soak, every
        self.n = 0
        self.csv_serial = 0

    def story(self) -> None:
        soak, rng = self.soak, self.soak.rng
        self.n += 1
        n = self.n
        lead_id = f"C-{n:05d}"
        email = f"shopper{n}@customer.example"
        phone = f"+1737555{n % 10000:04d}"
        first, last = rng.choice(["Ana", "Ben", "Cara", "Dev", "Eli"]), f"Shopper{n}"
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        notice = mail(
            "leads@autotrader.example",
            LEADS_TO,
            f"New lead {lead_id}",
            adf(lead_id, first, last, email, phone, when),
            when,
            f"<lead-{lead_id}@autotrader.example>",
        )
        if rng.random() < 0.5:
            self._maildir(notice, when)
            soak.items_in["notices"] += 1
        else:
            self._save(notice)
            soak.items_in["inbox"] += 1
        touch_at, reply_at = when + timedelta(minutes=2), when + timedelta(minutes=9)
        channel = rng.choice(["mail", "text", "export"])
        replies = rng.random() < 0.7
        if channel == "mail":
            self._save(mail(DANA, email, "Your CR-V", f"Hi {first}", touch_at, f"<t{n}@msh.example>"), "Sent")
            soak.items_in["inbox"] += 1
            if replies:
                body = rng.choice(["Saturday works", "Call me after 5", "What is the best price?"])
                reply = mail(
                    f"{first} {last} <{email}>", DANA, "Re: Your CR-V", body, reply_at, f"<r{n}@c.example>"
                )
                self._save(reply)
                soak.items_in["inbox"] += 1
        elif channel == "text":
            soak.twilio.add(touch_at, DANA_PHONE, phone, f"Hi {first}, Dana here", "outbound-api")
            soak.items_in["texts"] += 1
            if replies:
                soak.twilio.add(reply_at, phone, DANA_PHONE, "yes tomorrow works", "inbound")
                soak.items_in["texts"] += 1
        else:
            rows = [(touch_at, DANA_PHONE, phone, f"Hi {first}", "outbound")]
            if replies:
                rows.append((reply_at, phone, DANA_PHONE, "Thursday?", "inbound"))
            self._csv(rows)
            soak.items_in["export"] += len(rows)

    def _save(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver into the mailbox as an MTA would: held and retried while Dovecot restarts."""
        deadline = time.monotonic() + 60
        while True:
            try:
                self.soak.account.save(raw, folder)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _maildir(self, raw: bytes, when: datetime) -> None:
        box = self.soak.root / "notices"
        name = f"{time.time_ns()}.{uuid.uuid4().hex[:8]}.chaos:2,S"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        tmp.rename(box / "cur" / name)  # delivered whole, as an MTA does

    def _csv(self, rows: list[tuple[datetime, str, str, str, str]]) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for sent, from_, to, body, direction in rows:
            self.csv_serial += 1
            writer.writerow([f"X{self.csv_serial:06d}", sent.isoformat(), from_, to, body, direction])
        with (self.soak.root / "texts.csv").open("a") as fh:
            fh.write(out.getvalue())  # whole rows in one write

    def run(self, until: float, stop: threading.Event) -> None:
        while time.monotonic() < until and not stop.is_set():
            try:
                self.story()
            except Exception as exc:  # what was delivered is counted; the soak goes on
                self.soak.traffic_errors.append(f"story {self.n}: {exc}")
                print(f"  story {self.n} not delivered whole: {exc}", file=sys.stderr)
            stop.wait(self.every)


# -- faults ---------------------------------------------------------------------------------------------


def inject(soak: Soak, kind: str) -> None:
    rng = soak.rng
    if kind in ("kill", "term"):
        i = rng.randrange(len(soak.daemons))
        old = soak.daemons[i]
        old.stop(signal.SIGKILL if kind == "kill" else signal.SIGTERM)
        soak.daemons[i] = start_daemon(soak, f"d{i}")
    elif kind == "pg_terminate":
        engine = create_engine(admin_url(soak.url))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": app_name(soak.url)},
            )
        engine.dispose()
    elif kind == "dovecot_restart":
        soak.dovecot.stop(end_sessions=True)
        soak.dovecot.start()
    elif kind == "twilio_errors":
        soak.twilio.fail(rng.choice([429, 500, 503]), times=rng.randint(3, 12))
    elif kind == "sighup":
        soak.rule_serial += 1
        (soak.root / "rules" / "90-chaos.toml").write_text(
            f'[[rule]]\nname = "chaos-{soak.rule_serial}"\nkind = "auto_reply"\nchannel = "email"\n'
            f"subject_matches = '^zz-chaos-never-{soak.rule_serial}$'\n"
        )
        for daemon in soak.daemons:
            if daemon.alive():
                daemon.send(signal.SIGHUP)
    soak.faults[kind] += 1
    soak.last_fault_end = time.monotonic()


def faults_loop(soak: Soak, kinds: list[str], every: float, until: float, stop: threading.Event) -> None:
    while not stop.wait(soak.rng.uniform(0.5 * every, 1.5 * every)) and time.monotonic() < until:
        kind = soak.rng.choice(kinds)
        try:
            inject(soak, kind)
        except Exception as exc:  # a fault that could not be injected is reported, not fatal
            print(f"  fault {kind} could not be injected: {exc}", file=sys.stderr)


# -- watching -------------------------------------------------------------------------------------------


class Watcher:
    """Samples every source's last attempt twice a second: the longest gap without a poll."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.engine = create_engine(soak.url.replace("&application_name=" + app_name(soak.url), ""))
        self.longest: dict[str, float] = {}
        self.stop = threading.Event()

    def sample(self) -> None:
        now = datetime.now(UTC)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT source, last_attempt_at FROM source_states")).all()
        except Exception:
            return  # the schema is being made, or the database was cut: the next sample tells
        for source, last in rows:
            if last is None:
                continue
            gap = (now - aware(last)).total_seconds()
            self.longest[source] = max(self.longest.get(source, 0.0), gap)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()


# -- the run --------------------------------------------------------------------------------------------


def aware(value: datetime | str) -> datetime:
    """A timestamp column read by plain SQL: a datetime (PostgreSQL) or ISO text (SQLite); UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def app_name(url: str) -> str:
    return url.rsplit("application_name=", 1)[1] if "application_name=" in url else ""


def admin_url(url: str) -> str:
    return url.split("?", 1)[0]


def start_daemon(soak: Soak, name: str) -> DaemonProcess:
    return DaemonProcess(soak.config, soak.env, log_path=soak.root / f"{name}.log").start()


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def stored_ids(url: str) -> set[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {(s, e) for s, e in conn.execute(text("SELECT source, external_id FROM messages"))}
    finally:
        engine.dispose()


def export(soak: Soak, url: str) -> str:
    done = replywatch(
        "--config", str(soak.config), "contacts", "export", env={"REPLYWATCH_DATABASE_URL": url}
    )
    if done.returncode:
        raise RuntimeError(f"contacts export failed: {done.stderr}")
    return done.stdout


def quiet_and_converged(soak: Soak, since: datetime, clean: str) -> bool:
    done = replywatch("--config", str(soak.config), "status", "--format", "json", env=soak.env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False
    polled = all(
        s["last_success_at"] and s["last_success_at"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ")
        for s in report["sources"]
    )
    return polled and export(soak, soak.url) == clean


def soak_once(args: argparse.Namespace, backend: str, dovecot: Dovecot, root: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    schema = None
    if backend == "postgresql":
        schema = f"chaos_{run_id}"
        engine = create_engine(args.pg)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{args.pg}?options=-csearch_path%3D{schema}&application_name=chaos_{run_id}"
    else:
        url = f"sqlite:///{root / 'chaos.db'}"
    twilio = FakeTwilio().start()
    soak = Soak(root, url, backend, args.interval, rng, dovecot, dovecot.account(), twilio)
    soak.account.create_folder("Sent")
    write_config(soak)
    kinds = [k for k in FAULTS if backend == "postgresql" or k != "pg_terminate"]
    watcher = Watcher(soak)
    stop = threading.Event()
    try:
        n_daemons = 3 if backend == "postgresql" else 2
        soak.daemons = [start_daemon(soak, f"d{i}") for i in range(n_daemons)]
        began = time.monotonic()
        until = began + args.minutes * 60
        traffic = Traffic(soak, args.every)
        threads = [
            threading.Thread(target=traffic.run, args=(until, stop), daemon=True),
            threading.Thread(
                target=faults_loop, args=(soak, kinds, args.fault_every, until, stop), daemon=True
            ),
            threading.Thread(target=watcher.run, daemon=True),
        ]
        for thread in threads:
            thread.start()
        while time.monotonic() < until:
            time.sleep(5)
            left = until - time.monotonic()
            print(
                f"  [{backend}] {time.monotonic() - began:4.0f} s: {sum(soak.items_in.values())} items in,"
                f" faults {dict(soak.faults)}, {max(0, left):.0f} s left",
                flush=True,
            )
        stop.set()
        for thread in threads[:2]:
            thread.join(60)
        soak.twilio.clear_faults()
        quiet_at = max(soak.last_fault_end, time.monotonic())  # the last input and the last fault are in
        exports: list[tuple[float, str]] = []  # (when, the export then), sampled until it stops changing
        sampling = threading.Event()

        def sample_exports() -> None:
            while not sampling.is_set():
                with contextlib.suppress(RuntimeError):
                    exports.append((time.monotonic(), export(soak, soak.url)))
                sampling.wait(0.5)

        sampler = threading.Thread(target=sample_exports, daemon=True)
        sampler.start()
        # The clean run: one `poll --once` over the same inputs into a fresh database
        clean_url = f"sqlite:///{root / 'clean.db'}"
        env = {**soak.env, "REPLYWATCH_DATABASE_URL": clean_url}
        done = replywatch("--config", str(soak.config), "poll", "--once", env=env, timeout=600)
        if done.returncode:
            raise RuntimeError(f"the clean run failed: {done.stderr}")
        clean = export(soak, clean_url)
        # Quiet: every source polled after this moment, and the export is the clean run's
        quiet_from = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        deadline = time.monotonic() + max(120, 10 * args.interval)
        converged = False
        while time.monotonic() < deadline:
            if quiet_and_converged(soak, quiet_from, clean):
                converged = True
                break
            time.sleep(0.5)
        sampling.set()
        sampler.join(30)
        # Converged: from the first sample after which every sample equals the clean export
        settled = next((i for i in range(len(exports)) if all(e == clean for _, e in exports[i:])), None)
        convergence = exports[settled][0] - quiet_at if converged and settled is not None else None
        watcher.sample()
        watcher.stop.set()
        leases = dead_leases(soak)
        check = replywatch("--config", str(soak.config), "status", "--check", env=soak.env)
        clean_ids, ids = stored_ids(clean_url), stored_ids(url)
        messages = count(url, "SELECT count(*) FROM messages")
        result = {
            "backend": backend,
            "daemons": n_daemons,
            "minutes": args.minutes,
            "interval_s": args.interval,
            "faults": dict(soak.faults),
            "items_in": sum(soak.items_in.values()),
            "items_in_by_source": dict(soak.items_in),
            "traffic_errors": soak.traffic_errors,
            "items_stored": messages,
            "clean_stored": len(clean_ids),
            "lost": len(clean_ids - ids),
            "doubled": messages - len(ids),
            "export_equal": converged,
            "max_unpolled_s": {k: round(v, 1) for k, v in sorted(watcher.longest.items())},
            "unpolled_limit_s": 3 * args.interval,
            "convergence_after_last_fault_s": None
            if convergence is None
            else round(max(0.0, convergence), 1),
            "dead_leases": leases,
            "status_check": check.stdout.strip(),
            "status_check_ok": check.returncode == 0,
        }
        return result
    finally:
        stop.set()
        watcher.stop.set()
        for daemon in soak.daemons:
            daemon.stop()
        twilio.stop()
        if schema:
            engine = create_engine(args.pg)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def dead_leases(soak: Soak) -> list[str]:
    """Leases held now (unexpired) by a process that is not one of the live daemons."""
    live = {str(d.pid) for d in soak.daemons if d.alive()}
    engine = create_engine(soak.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT source, owner, expires_at FROM source_leases")).all()
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    held = []
    for source, owner, expires in rows:
        if owner and aware(expires) > now and owner.split(":")[1] not in live:
            held.append(f"{source} by {owner}")
    return held


def report(result: dict[str, Any]) -> None:
    print(f"\n== {result['backend']}: {result['daemons']} daemons, {result['minutes']} min ==")
    print(f"faults injected:      {result['faults']}")
    print(f"items in:             {result['items_in']} {result['items_in_by_source']}")
    print(f"items stored:         {result['items_stored']} (clean run {result['clean_stored']})")
    print(f"lost / doubled:       {result['lost']} / {result['doubled']}")
    print(f"export = clean run:   {result['export_equal']}")
    print(f"max unpolled (s):     {result['max_unpolled_s']} (limit {result['unpolled_limit_s']})")
    print(f"converged after the last fault and input: {result['convergence_after_last_fault_s']} s")
    print(f"leases of dead daemons: {result['dead_leases'] or 'none'}")
    print(f"status --check:       {result['status_check']}")


def main(
    argv: list[str] | None = None, emit: Callable[[dict[str, Any]], None] = report
) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--interval", type=int, default=5, help="every source's poll interval, seconds")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between stories")
    parser.add_argument("--fault-every", type=float, default=15.0, help="mean seconds between faults")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, inputs)")
    args = parser.parse_args(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    tokens = TokenServer()
    tokens.start()
    results = []
    try:
        for backend in backends:
            root = Path(tempfile.mkdtemp(prefix=f"replywatch-chaos-{backend}-"))
            root.chmod(0o755)
            (root / "dovecot").mkdir()
            dovecot = Dovecot(root / "dovecot", tokens)
            dovecot.start()
            try:
                result = soak_once(args, backend, dovecot, root)
            finally:
                dovecot.stop()
                if args.keep:
                    print(f"  kept {root} (daemon logs d*.log, configuration, inputs)")
                else:
                    subprocess.run(["rm", "-rf", str(root)], check=False)
            emit(result)
            results.append(result)
    finally:
        tokens.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
