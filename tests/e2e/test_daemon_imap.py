"""`replywatch run` against a real Dovecot, as real processes: IDLE, a server restart, a lease takeover.

Each daemon reads one IMAP lead inbox. A lead notice goes in first; a reply from the lead's address is
what the daemon must store (the lead shows contacted) at the moment the test says it must. The commands
that only read the store (`status`, `contacts export`) run in this process (clirun.cli).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from clirun import cli
from daemonrun import DaemonProcess
from mailbuild import DANA, STORE, lead_mail, mail
from sqlalchemy import text

from replywatch.clock import iso_z, now
from replywatch.store.db import open_database

if TYPE_CHECKING:
    from servers.dovecot import Account, Dovecot

pytest_plugins = ["servers.dovecot"]
STORED_WITHIN_S = 60.0  # a functional bound for "stored by IDLE, not by the 300 s poll"; not a speed test


def daemon_config(root: Path, account: Account, **source: Any) -> Path:
    """One store with Dana, reading `account` over IMAP; the database comes from the environment."""
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in account.source(**source).items())
    config = root / "replywatch.toml"
    config.write_text(
        f'[[stores]]\nname = "{STORE}"\ntimezone = "America/Chicago"\nregion = "US"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "{STORE}"\nemails = ["{DANA}"]\n\n'
        f"[[sources]]\n{table}\n"
    )
    return config


class Customer:
    """A lead (its ADF notice) and, later, the customer's reply to our follow-up."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.lead_id = f"L-{tag}-{uuid.uuid4().hex[:8]}"
        self.email = f"{self.lead_id.lower()}@example.com"

    def notice(self) -> bytes:
        when = datetime.now(UTC) - timedelta(minutes=30)
        return lead_mail(self.lead_id, "Pat", self.tag.title(), self.email, None, when)

    def reply(self) -> bytes:
        return mail(
            self.email,
            DANA,
            "Re: Your Honda CR-V inquiry",
            "Yes, Saturday morning works. Is the blue one still there?",
            datetime.now(UTC),
            f"<reply-{self.lead_id}@example.com>",
            in_reply_to=f"<followup-{self.lead_id}@mainstreethonda.example>",
        )


class Database:
    """The daemon's database, read directly. Its schema is made here, before any daemon or `status` runs:
    on SQLite two processes migrating one new file at once collide (`table … already exists`)."""

    def __init__(self, url: str) -> None:
        self.engine, _sessions = open_database(url)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def lead_stored(self, customer: Customer) -> bool:
        return bool(self.scalar("SELECT count(*) FROM leads WHERE external_id = :x", x=customer.lead_id))

    def contacted(self, customer: Customer) -> bool:
        found = self.scalar(
            "SELECT count(*) FROM leads WHERE external_id = :x AND contact_at IS NOT NULL", x=customer.lead_id
        )
        return bool(found)

    def duplicated_messages(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT external_id, count(*) FROM messages GROUP BY external_id HAVING count(*) > 1")
            ).all()
        return [(str(r[0]), int(r[1])) for r in rows]

    def message_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM messages"))

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.close()


def imap_pids(dovecot: Dovecot, user: str) -> list[int]:
    """The imap processes serving `user`'s connections now, as Dovecot itself lists them."""
    rows = [line.split() for line in dovecot.doveadm("who", "-1", user).splitlines()[1:]]
    return [int(row[2]) for row in rows if len(row) >= 3 and row[0] == user]


def sessions_shut_down(dovecot: Dovecot, user: str) -> int:
    """How many of `user`'s IMAP sessions Dovecot has ended because it was shutting down."""
    log = dovecot.log_path.read_text(errors="replace") if dovecot.log_path.exists() else ""
    return sum(1 for line in log.splitlines() if f"imap({user})" in line and "Server shutting down" in line)


def settled_in_idle(daemon: DaemonProcess, dovecot: Dovecot, account: Account) -> None:
    """The daemon has finished its first poll and holds the connection it waits on in IDLE."""
    daemon.wait_until("the first poll", lambda: _succeeded(daemon.status()))
    daemon.wait_until("the IDLE connection", lambda: idling(dovecot, account.user))


def idling(dovecot: Dovecot, user: str) -> bool:
    """`user` has one IMAP session, and it is in IDLE (its imap process's title names the command)."""
    pids = imap_pids(dovecot, user)
    return len(pids) == 1 and dovecot.command(pids[0]).rstrip().endswith(" IDLE]")


def _succeeded(report: dict[str, Any]) -> bool:
    source = report["sources"][0]
    return bool(source["last_success_at"]) and not source["consecutive_failures"]


def exported(config: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """`replywatch contacts export`, row by lead id."""
    done = cli("--config", str(config), "contacts", "export", env=env, check=True)
    return {row["lead_id"]: row for row in csv.DictReader(io.StringIO(done.stdout))}


def test_dovecot_restarted_while_the_daemon_idles_it_reconnects_and_stores_the_reply(
    tmp_path: Path, dovecot: Dovecot, account: Account, db_url: str, database: Database
) -> None:
    # Given a daemon that has read a lead from the inbox and now waits in IDLE (polls only every 300 s)
    pat, sam = Customer("restart"), Customer("later")
    account.append(pat.notice())
    config = daemon_config(tmp_path, account, interval=300)
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    daemon = DaemonProcess(config, env).start()
    try:
        settled_in_idle(daemon, dovecot, account)
        assert database.lead_stored(pat) and not database.contacted(pat)
        # When Dovecot is stopped and started again under it, and the old IDLE session is ended (Dovecot's
        # imap process outlives its master by about ten seconds, IDLE still working, then says BYE; here
        # it is sent the SIGTERM that brings that BYE at once)
        ended = sessions_shut_down(dovecot, account.user)
        old = dovecot.sessions()
        dovecot.stop()
        dovecot.start()
        dovecot.end(old)
        daemon.wait_until(
            "Dovecot to end the old session",
            lambda: sessions_shut_down(dovecot, account.user) > ended,
            timeout=STORED_WITHIN_S,
        )
        # And the lead's reply arrives afterwards
        account.append(pat.reply())
        # Then the daemon reconnects and stores it (the dropped IDLE, not the 300 s interval, woke it)
        daemon.wait_until("the reply after the restart", lambda: database.contacted(pat), STORED_WITHIN_S)
        row = exported(config, env)[pat.lead_id]
        assert row["contacted"] == "Y" and row["contact_channel"] == "email"
        # And it is back in IDLE: the next lead and reply are stored as they come, healthy
        account.append(sam.notice())
        account.append(sam.reply())
        daemon.wait_until("mail after the reconnect", lambda: database.contacted(sam), STORED_WITHIN_S)
        assert _succeeded(daemon.status())
        code, _seconds = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()
    assert database.duplicated_messages() == []
    assert database.message_count() == 4


def test_dovecot_down_longer_than_the_reconnect_attempts_the_daemon_retries_soon_after_it_is_back(
    tmp_path: Path, dovecot: Dovecot, account: Account, db_url: str, database: Database
) -> None:
    # Given a daemon waiting in IDLE on an inbox it polls every 300 s
    pat = Customer("outage")
    account.append(pat.notice())
    # (reconnecting twice, 0.2 s apart: the default six attempts would only make the outage longer)
    config = daemon_config(tmp_path, account, interval=300, reconnect_attempts=2, reconnect_first_seconds=0.2)
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    daemon = DaemonProcess(config, env).start()
    try:
        settled_in_idle(daemon, dovecot, account)
        # When Dovecot stays down until the poll has given up reconnecting (a failure is recorded); its
        # sessions end as it stops (each says BYE at once)
        dovecot.stop(end_sessions=True)
        try:
            daemon.wait_until(
                "a failed poll", lambda: daemon.status()["sources"][0]["consecutive_failures"] > 0
            )
        finally:
            dovecot.start()
        # And the reply arrives once it is back
        account.append(pat.reply())
        # Then the daemon tries again after its failure backoff, not after the 300 s interval
        daemon.wait_until("the reply after the outage", lambda: database.contacted(pat), STORED_WITHIN_S)
        daemon.wait_until("a healthy source", lambda: _succeeded(daemon.status()))
        code, _seconds = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()


def test_the_idle_link_cut_without_a_bye_the_daemon_reconnects_at_once(
    tmp_path: Path, dovecot: Dovecot, account: Account, db_url: str, database: Database
) -> None:
    # Given a daemon waiting in IDLE on an inbox it polls every 300 s
    pat = Customer("cut")
    account.append(pat.notice())
    config = daemon_config(tmp_path, account, interval=300)
    daemon = DaemonProcess(config, {"REPLYWATCH_DATABASE_URL": db_url}).start()
    try:
        settled_in_idle(daemon, dovecot, account)
        # When the server process of its IDLE session dies without a word (no BYE: the socket just closes)
        (pid,) = imap_pids(dovecot, account.user)
        os.kill(pid, signal.SIGKILL)
        # And the lead's reply arrives
        account.append(pat.reply())
        # Then the daemon noticed the closed link, reconnected and stored it, long before its interval
        daemon.wait_until("the reply after the cut", lambda: database.contacted(pat), STORED_WITHIN_S)
        code, _seconds = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()


def test_the_lease_holder_killed_the_other_daemon_takes_the_source_over(
    tmp_path: Path, dovecot: Dovecot, account: Account, pg_db_url: str
) -> None:
    # Given two daemons on one PostgreSQL and one inbox (polled every 300 s, else IDLE), with a 3 s lease,
    # and a lead already read by one of them
    database = Database(pg_db_url)
    first = Customer("takeover")
    account.append(first.notice())
    config = daemon_config(tmp_path, account, interval=300)
    env = {"REPLYWATCH_DATABASE_URL": pg_db_url, "REPLYWATCH_DAEMON_LEASE_SECONDS": "3"}
    a = DaemonProcess(config, env, log_path=tmp_path / "a.log").start()
    b = DaemonProcess(config, env, log_path=tmp_path / "b.log").start()
    daemons = {a.pid: a, b.pid: b}
    try:
        a.wait_until("a lead read by one of them", lambda: database.lead_stored(first))
        a.wait_until("a lease owner", lambda: holder(a) is not None)
        owner = holder(a)
        assert owner is not None and owner in daemons, owner
        victim = daemons.pop(owner)
        (survivor,) = daemons.values()
        # When the daemon holding the source is killed outright (no release: its lease must expire)
        victim.stop(signal.SIGKILL)
        # And mail arrives while nobody reads the inbox
        second = Customer("after-kill")
        account.append(second.notice())
        account.append(second.reply())
        account.append(first.reply())
        # Then the other daemon takes the source over once the lease expires (not at its 300 s interval)
        # and stores it
        survivor.wait_until("the takeover", lambda: holder(survivor) == survivor.pid, STORED_WITHIN_S)
        survivor.wait_until(
            "both replies stored",
            lambda: database.contacted(second) and database.contacted(first),
            STORED_WITHIN_S,
        )
        assert "took over source lead-inbox" in survivor.log()
        # And nothing was stored twice: the inbox's four messages are four rows
        assert database.duplicated_messages() == []
        assert database.message_count() == 4
        code, _seconds = survivor.stop(signal.SIGTERM)
        assert code == 0, survivor.log()[-3000:]
    finally:
        a.kill()
        b.kill()
        database.close()


def holder(daemon: DaemonProcess) -> int | None:
    """The pid of the daemon holding the inbox's lease (owners read host:pid:nonce), if any holds it."""
    owner = daemon.status()["sources"][0]["lease_owner"]
    return int(owner.split(":")[-2]) if owner else None


def test_a_message_appended_after_the_first_poll_is_stored_by_idle_not_by_the_interval(
    tmp_path: Path, dovecot: Dovecot, account: Account, db_url: str, database: Database
) -> None:
    # Given a daemon whose inbox is polled every 300 s, past its first poll and waiting in IDLE
    pat = Customer("idle")
    account.append(pat.notice())
    config = daemon_config(tmp_path, account, interval=300)
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    daemon = DaemonProcess(config, env).start()
    try:
        settled_in_idle(daemon, dovecot, account)
        polled = daemon.status()["sources"][0]["last_attempt_at"]
        # (status shows whole seconds: a poll woken now must be seen to come after that one)
        daemon.wait_until("the second after the first poll", lambda: iso_z(now()) > polled)
        # When the lead's reply is appended
        appended = time.monotonic()
        account.append(pat.reply())
        # Then it is stored long before the next scheduled poll: IDLE woke the daemon
        daemon.wait_until("the reply", lambda: database.contacted(pat), timeout=STORED_WITHIN_S)
        assert time.monotonic() - appended < STORED_WITHIN_S
        assert daemon.status()["sources"][0]["last_attempt_at"] > polled
        code, _seconds = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()
