"""`replywatch run` as a real process: signals, crashes, reloads, logs, two daemons, a dropped database
connection and an SMTP server that is down on Monday morning.

The daemons are real processes; the commands that only read what they stored (`status`, `contacts
export`) run in this process (clirun.cli). Every wait is on a condition, with a timeout."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from clirun import cli, committed_cursors, replywatch
from conftest import _libpq_dsn, pg_url
from daemonrun import DaemonProcess, polled_since
from mailbuild import DANA, STORE, Maildir, at, lead_mail, mail
from servers.smtp import free_port, smtp_server
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from replywatch.clock import iso_z, now
from replywatch.demo import write_sample_dealership

STOP_LIMIT_S = 10.0  # the bound for SIGTERM to exit
# Two sources' batches are stored one after another, each seeing the other's lead or touch; after every
# source has caught up, the run is compared once housekeeping (every 1 s here) has swept, the backstop: a
# generous bound on waiting for that export.
SWEPT_WITHIN_S = 60.0
FAST = ("--interval", "2")  # every source polled again soon: "caught up" is then a poll that began later
MESSAGES = "SELECT count(*) FROM messages"


def _export(config: Path, db_url: str) -> str:
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    return cli("--config", str(config), "contacts", "export", env=env, check=True).stdout


def _daemon_env(db_url: str, **extra: str) -> dict[str, str]:
    # The sample's digest server is down on purpose: sending is not what these tests watch.
    env = {"REPLYWATCH_DATABASE_URL": db_url, "REPLYWATCH_DAEMON_HOUSEKEEPING_SECONDS": "1"}
    env.update(extra)
    return env


class Sample:
    """Twelve weeks of the sample dealership (about 1,600 mails and texts: the mail source alone is three
    batches, so a signal sent when the first batch has committed lands mid-ingest), its clean export and
    how many messages a clean run stores."""

    def __init__(self, root: Path) -> None:
        site = write_sample_dealership(root / "site", seed=11, end=date(2026, 11, 30), weeks=12)
        clean_url = f"sqlite:///{root / 'clean.db'}"
        env = {"REPLYWATCH_DATABASE_URL": clean_url}
        cli("--config", str(site.config_path), "poll", "--once", env=env, check=True)
        self.config, self.export = site.config_path, _export(site.config_path, clean_url)
        self.messages = _count(clean_url, MESSAGES)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return Sample(tmp_path_factory.mktemp("daemon"))


def _wait_first_commit(daemon: DaemonProcess, db_url: str) -> None:
    daemon.wait_until("the first committed batch", lambda: committed_cursors(db_url) > 0, every=0.02)


def _caught_up_and_swept(daemon: DaemonProcess, started: str, sample: Sample, db_url: str) -> None:
    """Every source has finished a poll that began after `started`, and the export (housekeeping has swept
    after it) is the clean run's."""
    daemon.wait_until("every source caught up", lambda: polled_since(daemon.status(), started), 240)
    daemon.wait_until(
        "the clean run's export", lambda: _export(sample.config, db_url) == sample.export, SWEPT_WITHIN_S, 0.5
    )


def _run_to_the_end(sample: Sample, env: dict[str, str]) -> None:
    """A daemon started now, left until every source has caught up and housekeeping has swept after it,
    then stopped."""
    started = iso_z(now())
    daemon = DaemonProcess(sample.config, env, FAST).start()
    try:
        _caught_up_and_swept(daemon, started, sample, env["REPLYWATCH_DATABASE_URL"])
    finally:
        code, _ = daemon.stop()
    assert code == 0, daemon.log()


def test_sigterm_mid_ingest_exits_0_within_10_s_and_loses_nothing(sample: Sample, db_url: str) -> None:
    # Given a daemon ingesting the sample dealership
    daemon = DaemonProcess(sample.config, _daemon_env(db_url), FAST).start()
    try:
        _wait_first_commit(daemon, db_url)
    finally:
        # When it gets SIGTERM midway
        code, took = daemon.stop(signal.SIGTERM)
    # Then it finished the item in hand, committed and exited 0 within the bound
    assert _count(db_url, MESSAGES) < sample.messages, (
        "the daemon finished before the signal: the test needs more data"
    )
    assert code == 0, daemon.log()
    assert took < STOP_LIMIT_S, f"took {took:.1f} s to stop"
    assert "stopping: finishing the items in hand" in daemon.log()
    # And a daemon started again carries on to exactly the export of one clean run
    _run_to_the_end(sample, _daemon_env(db_url))
    assert _export(sample.config, db_url) == sample.export


def test_sigkill_mid_ingest_then_restart_equals_an_uninterrupted_run(sample: Sample, db_url: str) -> None:
    # Given a daemon ingesting the sample dealership
    env = _daemon_env(db_url, REPLYWATCH_DAEMON_LEASE_SECONDS="3")  # the shortest lease allowed
    daemon = DaemonProcess(sample.config, env, FAST).start()
    try:
        _wait_first_commit(daemon, db_url)
    finally:
        # When it is killed outright (no chance to commit or release its leases)
        daemon.kill()
    assert _count(db_url, MESSAGES) < sample.messages, (
        "the daemon finished before the kill: the test needs more data"
    )
    # And a new daemon is started; it takes the sources over once their leases expire
    _run_to_the_end(sample, env)
    # Then the export equals an uninterrupted run's
    assert _export(sample.config, db_url) == sample.export


def test_a_dropped_postgresql_connection_is_retried_and_nothing_is_lost(
    sample: Sample, pg_db_url: str
) -> None:
    # Given a daemon on PostgreSQL whose connections can be told apart by application_name (its own, so
    # that another test run on the same server is left alone)
    name = f"rw-daemon-{uuid.uuid4().hex[:12]}"
    url = f"{pg_db_url}&application_name={name}"
    daemon = DaemonProcess(sample.config, _daemon_env(url), FAST).start()
    try:
        _wait_first_commit(daemon, url)
        # When its connections are terminated by the server, again and again, while it ingests: each
        # round as soon as the daemon holds a connection again
        drops: list[int] = []
        with psycopg.connect(_libpq_dsn(pg_url()), autocommit=True) as admin:

            def drop() -> bool:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (name,),
                ).fetchone()
                drops.append(int(killed[0]) if killed else 0)
                return drops[-1] > 0

            for _ in range(12):
                daemon.wait_until("a connection of the daemon to drop", drop, 60, every=0.05)
        # Then it reports the failures, retries, and ends with exactly a clean run's export
        _caught_up_and_swept(daemon, iso_z(now()), sample, url)
    finally:
        code, _ = daemon.stop()
    assert code == 0, daemon.log()
    assert sum(drops) > 0
    assert "database" in daemon.log().lower()
    assert _export(sample.config, url) == sample.export


def _small_dealership(root: Path, db_url: str, sources: int, extra: str = "") -> Path:
    """One store and `sources` Maildir sources polled every second."""
    tables = "".join(
        f'\n[[sources]]\nname = "inbox-{i}"\ntype = "maildir"\npath = "mail-{i}"\ninterval = 1\n'
        for i in range(sources)
    )
    config = root / "replywatch.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        f'[[stores]]\nname = "{STORE}"\ntimezone = "America/Chicago"\nregion = "US"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "{STORE}"\nemails = ["{DANA}"]\n'
        f"{tables}{extra}"
    )
    for i in range(sources):
        Maildir(root / f"mail-{i}")
    return config


def _lead_and_reply(box: Maildir, key: str, day: int) -> None:
    email = f"{key}@customer.example"
    box.add(lead_mail(key, "Pat", f"Shopper{key}", email, None, at(day, 9)), at(day, 9))
    box.add(
        mail(email, DANA, "Re: your CR-V", "Yes, Saturday works.", at(day, 11), f"<{key}-r@c.example>"),
        at(day, 11),
    )


def _count(db_url: str, sql: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _stored_at_least(db_url: str, n: int) -> Callable[[], bool]:
    """Whether `n` messages are stored yet (none before a daemon has made the schema)."""

    def check() -> bool:
        try:
            return _count(db_url, MESSAGES) >= n
        except DBAPIError:
            return False

    return check


def test_two_daemons_on_postgresql_share_the_sources_and_store_each_message_once(
    tmp_path: Path, pg_db_url: str
) -> None:
    # Given four sources and two daemons on one PostgreSQL
    sources, waves = 4, 6
    config = _small_dealership(tmp_path, pg_db_url, sources)
    env = {"REPLYWATCH_DAEMON_LEASE_SECONDS": "5"}
    first = DaemonProcess(config, env, log_path=tmp_path / "first.log").start()
    second = DaemonProcess(config, env, log_path=tmp_path / "second.log").start()
    try:
        # When mail keeps arriving in every source, wave after wave (the next once the last is stored)
        expected = 0
        for wave in range(waves):
            for i in range(sources):
                _lead_and_reply(Maildir(tmp_path / f"mail-{i}"), f"w{wave}s{i}", 2 + wave)
            expected += sources * 2
            first.wait_until(f"wave {wave + 1} stored", _stored_at_least(pg_db_url, expected), 120)
        # And every source is polled again for a few more rounds (1 s apart), in which nothing may be
        # stored twice
        later = iso_z(now() + timedelta(seconds=2))
        first.wait_until("more rounds of every source", lambda: polled_since(first.status(), later), 60)
    finally:
        codes = [first.stop()[0], second.stop()[0]]
    # Then each message is stored once, every lead is contacted, and both daemons did some of the work
    assert codes == [0, 0]
    assert _count(pg_db_url, MESSAGES) == expected
    distinct = "SELECT count(*) FROM (SELECT DISTINCT source, external_id FROM messages) AS d"
    assert _count(pg_db_url, distinct) == expected
    assert _count(pg_db_url, "SELECT count(*) FROM quarantine") == 0
    assert _count(pg_db_url, "SELECT count(*) FROM leads WHERE contact_at IS NOT NULL") == sources * waves
    for daemon in (first, second):
        assert "new item" in daemon.log(), f"{daemon.log_path.name} did no work:\n{daemon.log()}"


def test_two_daemons_started_together_on_a_fresh_database_equal_a_clean_run_without_the_sweep(
    sample: Sample, db_url: str
) -> None:
    # Given two daemons started at the same instant on an empty database, with the re-matching sweep
    # (the safety net) left out: housekeeping runs once at the start and then not for an hour
    env = _daemon_env(
        db_url, REPLYWATCH_DAEMON_HOUSEKEEPING_SECONDS="3600", REPLYWATCH_DAEMON_LEASE_SECONDS="5"
    )
    started = iso_z(now())
    daemons = [
        DaemonProcess(sample.config, env, FAST, log_path=sample.config.parent / f"{n}.log") for n in "ab"
    ]
    for daemon in daemons:
        daemon.start()
    first = daemons[0]
    try:
        # When every source has been polled after the start, and then once more (the first quiet moment)
        first.wait_until("every source caught up", lambda: polled_since(first.status(), started), 240)
        quiet = iso_z(now() + timedelta(seconds=1))
        first.wait_until("another round of every source", lambda: polled_since(first.status(), quiet), 60)
        # Then the export is the clean run's at once: no batch missed another's lead or touch
        assert _export(sample.config, db_url) == sample.export
    finally:
        codes = [daemon.stop()[0] for daemon in daemons]
    # And both ran cleanly: one migrated and synced the directory, neither failed, nothing was swept
    assert codes == [0, 0]
    assert _count(db_url, MESSAGES) == sample.messages
    for daemon in daemons:
        log = daemon.log()
        assert "replywatch running" in log and "Traceback" not in log, log[-3000:]
        assert "the sweep changed" not in log and "ERROR" not in log, log[-3000:]


def test_sighup_reloads_the_configuration_and_refuses_an_invalid_one(tmp_path: Path, db_url: str) -> None:
    # Given a daemon reading one source
    config = _small_dealership(tmp_path, db_url, 1)
    _lead_and_reply(Maildir(tmp_path / "mail-0"), "a1", 3)
    daemon = DaemonProcess(config, {}).start()
    try:
        started = iso_z(now())
        daemon.wait_until("the first source polled", lambda: polled_since(daemon.status(), started))
        # When a second source is added to the file and SIGHUP sent
        _small_dealership(tmp_path, db_url, 2)
        _lead_and_reply(Maildir(tmp_path / "mail-1"), "b1", 3)
        daemon.send(signal.SIGHUP)
        # Then the second source is read too
        daemon.wait_until(
            "the added source polled",
            lambda: any(s["name"] == "inbox-1" and s["items_total"] == 2 for s in daemon.status()["sources"]),
        )
        # When the file is broken and SIGHUP sent again
        good = config.read_text()
        config.write_text(good + "\n[[sources]]\nname = \n")
        daemon.send(signal.SIGHUP)
        # Then the reload is refused with the reason, and the daemon keeps running what it had
        daemon.wait_until("the refusal logged", lambda: "reload refused" in daemon.log())
        assert daemon.alive()
        config.write_text(good)
    finally:
        code, _ = daemon.stop()
    assert code == 0


def test_json_logs_carry_context_and_no_secret_appears_anywhere(tmp_path: Path, db_url: str) -> None:
    # Given secrets: the database password (PostgreSQL trusts this machine, so any password connects), a
    # Twilio token and an SMTP password, both read from the environment
    secrets = {"token": "tw-TOKEN-8f3a9c2e71", "smtp": "smtp-PW-4b7d1e9a55", "db": "db-PW-c0ffee1234"}
    url = db_url.replace("postgres@", f"postgres:{secrets['db']}@") if "postgres@" in db_url else db_url
    dead = free_port()
    extra = (
        f'\n[[sources]]\nname = "texts"\ntype = "twilio"\naccount_sid = "AC{"0" * 32}"\n'
        f'auth_token_env = "RW_TEST_TWILIO_TOKEN"\nbase_url = "http://127.0.0.1:{dead}"\ninterval = 1\n'
        f'\n[digest]\nsend_at = "MON 00:00"\n'
        f'[digest.smtp]\nhost = "127.0.0.1"\nport = {dead}\nusername = "digest@dealer.example"\n'
        f'password_env = "RW_TEST_SMTP_PASSWORD"\nstarttls = false\nsender = "replywatch@dealer.example"\n'
    )
    config = _small_dealership(tmp_path, url, 1, extra)
    config.write_text(
        config.read_text().replace(
            "[[associates]]", 'digest_recipients = ["gm@x.example"]\n\n[[associates]]', 1
        )
    )
    _lead_and_reply(Maildir(tmp_path / "mail-0"), "c1", 3)
    env = {"RW_TEST_TWILIO_TOKEN": secrets["token"], "RW_TEST_SMTP_PASSWORD": secrets["smtp"]}
    # When the daemon runs with JSON logs at debug level while a source and the digest fail
    daemon = DaemonProcess(config, env, run_args=("--log-format", "json"), global_args=("--debug",)).start()
    try:
        daemon.wait_until("the Twilio failure logged", lambda: "texts: network error" in daemon.log())
        daemon.wait_until("the reply logged with its lead", lambda: '"lead": ' in daemon.log())
        daemon.wait_until("the digest failure logged", lambda: '"digest": ' in daemon.log())
    finally:
        code, _ = daemon.stop()
    assert code == 0
    # Then every line is a JSON object with time, level and message, and items carry their context
    entries = [json.loads(line) for line in daemon.log().splitlines() if line.strip()]
    assert entries and all({"ts", "level", "msg"} <= e.keys() for e in entries)
    assert any(e.get("source") == "inbox-0" and e.get("lead") and e.get("item") for e in entries)
    # And no secret appears in the log, in status (table and JSON), or in a command's error
    shown = daemon.log()
    shown += cli("--config", str(config), "status", env=env).stdout
    shown += cli("--config", str(config), "status", "--format", "json", env=env).stdout
    unreachable = f"postgresql+psycopg://postgres:{secrets['db']}@127.0.0.1:{dead}/test"
    failed = cli("--config", str(config), "status", env={**env, "REPLYWATCH_DATABASE_URL": unreachable})
    shown += failed.stdout + failed.stderr
    assert failed.returncode == 1 and "cannot open database" in failed.stderr
    for name, secret in secrets.items():
        assert secret not in shown, f"the {name} secret leaked"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    yield free_port()


def test_smtp_down_on_monday_morning_the_digest_goes_once_when_it_is_back(
    tmp_path: Path, db_url: str, smtp_port: int
) -> None:
    # Given a digest that is due (send_at Monday 00:00: last week's digest is due whatever day it is) and
    # a mail server that is down
    extra = (
        f'\n[digest]\nsend_at = "MON 00:00"\nretry_seconds = 1\n'
        f'[digest.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nstarttls = false\n'
        f'sender = "replywatch@dealer.example"\n'
    )
    config = _small_dealership(tmp_path, db_url, 1, extra)
    config.write_text(
        config.read_text().replace(
            "[[associates]]", 'digest_recipients = ["gm@x.example"]\n\n[[associates]]', 1
        )
    )
    daemon = DaemonProcess(config, {"REPLYWATCH_DAEMON_HOUSEKEEPING_SECONDS": "1"}).start()
    try:
        # When the daemon has tried and failed
        daemon.wait_until(
            "a failed digest in status",
            lambda: any(d["status"] == "failed" for d in daemon.status()["digests"]),
        )
        # And the server comes back
        with smtp_server(port=smtp_port) as (server, _):
            daemon.wait_until("the digest delivered", lambda: len(server.received) >= 1, 120)
            daemon.holds("one delivery, three more housekeeping rounds", lambda: len(server.received) == 1, 3)
            received = list(server.received)
    finally:
        code, _ = daemon.stop()
    # Then it went exactly once, and status shows it sent
    assert code == 0
    assert len(received) == 1
    assert received[0].recipients == ["gm@x.example"]
    assert any(d["status"] == "sent" for d in daemon.status()["digests"])


def test_status_check_is_a_health_check(tmp_path: Path, db_url: str) -> None:
    # Given a configuration whose source has never been polled
    config = _small_dealership(tmp_path, db_url, 1)
    # Then the health check fails, saying why
    before = replywatch("--config", str(config), "status", "--check")
    assert before.returncode == 1 and "inbox-0 not polled lately" in before.stdout
    # When a poll has run
    cli("--config", str(config), "poll", "--once", check=True)
    # Then it passes with one line
    after = replywatch("--config", str(config), "status", "--check")
    assert after.returncode == 0 and after.stdout.startswith("ok:")
