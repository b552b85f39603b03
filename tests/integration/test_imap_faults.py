"""The IMAP source when things break: the server stops mid-poll, is unreachable, refuses the login."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest
from mailbuild import DANA, STORE, at, mail
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.config import ImapSourceConfig, Settings, settings_from_dict
from replywatch.errors import PermanentSourceError, TransientSourceError
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.status import source_health
from replywatch.sources.base import RawItem, Source
from replywatch.sources.imap import ImapSource
from replywatch.sources.imap_connect import Backoff, Connection
from replywatch.store.db import open_database
from replywatch.store.models import Message

if TYPE_CHECKING:
    from servers.dovecot import Account, Dovecot

pytest_plugins = ["servers.dovecot"]
FAST = Backoff(attempts=3, first=0.05, most=0.2)


def dealership(db_url: str, source: dict[str, Any]) -> Settings:
    return settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [{"name": STORE, "timezone": "America/Chicago"}],
            "associates": [{"name": "Dana Lee", "store": STORE, "emails": [DANA]}],
            "sources": [source],
        }
    )


def pipeline(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    return wired_pipeline(sessions, cfg, now=lambda: at(30, 12))


def health(cfg: Settings) -> dict[str, Any]:
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        report = source_health(session, [s.name for s in cfg.sources], at(30, 12))
    return dict(report["sources"][0])


class StopsTheServerMidway:
    """The IMAP source as is, but Dovecot is stopped after the 25th item and started a second later."""

    def __init__(self, source: Source, dovecot: Dovecot) -> None:
        self.name, self.source, self.dovecot = source.name, source, dovecot
        self.restarter: threading.Timer | None = None

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        for count, item in enumerate(self.source.items(cursors), start=1):
            if count == 25:
                self.dovecot.stop()
                self.restarter = threading.Timer(1.0, self.dovecot.start)
                self.restarter.start()
            yield item


def test_server_stopped_mid_poll_and_restarted_loses_and_repeats_nothing(
    account: Account, dovecot: Dovecot, db_url: str
) -> None:
    # Given 60 replies, read ten per FETCH
    account.save_many(
        mail(f"c{i}@example.com", DANA, "Hi", "hello", at(3, 9, i), f"<m{i}@x>") for i in range(60)
    )
    cfg = dealership(db_url, account.source())
    imap = ImapSource(ImapSourceConfig.model_validate(cfg.sources[0].model_dump()), batch_size=10)
    # When Dovecot is stopped midway through the poll and comes back a second later
    source = StopsTheServerMidway(imap, dovecot)
    try:
        result = pipeline(cfg).poll(source)
    finally:
        if source.restarter:
            source.restarter.join()
    # Then the poll reconnected and finished: every reply once, in UID order
    assert result.stored == 60
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        ids = list(session.scalars(select(Message.external_id).order_by(Message.id)))
    assert [i.split("#")[0] for i in ids] == [f"<m{i}@x>" for i in range(60)]
    assert health(cfg)["consecutive_failures"] == 0


def test_an_unreachable_server_is_a_transient_failure_shown_in_status(dovecot: Dovecot, db_url: str) -> None:
    # Given an IMAP source pointing at a port where nothing listens
    account = dovecot.account()
    cfg = dealership(db_url, account.source(port=1))
    source = ImapSource(ImapSourceConfig.model_validate(cfg.sources[0].model_dump()), backoff=FAST)
    # When it is polled
    with pytest.raises(TransientSourceError, match=r"3 attempts failed"):
        pipeline(cfg).poll(source)
    # Then status shows the source failing, with why
    state = health(cfg)
    assert state["consecutive_failures"] == 1 and "connection lost" in state["last_error"]


def test_a_refused_password_is_a_permanent_failure_with_the_reason(account: Account, db_url: str) -> None:
    # Given a password file with the wrong password in it
    wrong = account.server.root / f"{account.user}.wrong"
    wrong.write_text("not-the-password")
    cfg = dealership(db_url, account.source(password_file=str(wrong)))
    # When the source is polled
    with pytest.raises(PermanentSourceError):
        pipeline(cfg).poll(ImapSource(ImapSourceConfig.model_validate(cfg.sources[0].model_dump())))
    # Then status names the account and the server's answer
    error = health(cfg)["last_error"]
    assert account.user in error and "login refused" in error and "AUTHENTICATIONFAILED" in error


def test_a_refused_login_says_which_secret_to_check_without_a_bytes_repr(account: Account) -> None:
    # Given a password file with the wrong password in it
    wrong = account.server.root / f"{account.user}.wrong"
    wrong.write_text("not-the-password")
    cfg = ImapSourceConfig.model_validate(account.source(password_file=str(wrong)))
    # When the source connects
    with pytest.raises(PermanentSourceError) as refused:
        Connection(cfg, FAST).call(lambda c: c.capabilities())
    # Then the server's words read as text, and the error names the file to fix (never its content)
    said = str(refused.value)
    assert "[AUTHENTICATIONFAILED]" in said and "b'" not in said and 'b"' not in said
    assert str(wrong) in said and "not-the-password" not in said


def test_tls_against_a_plain_text_port_fails_at_once_and_suggests_starttls(account: Account) -> None:
    # Given `tls = true` pointed at Dovecot's plain-text port, with reconnects that would take minutes
    patient = Backoff(attempts=6, first=30, most=30)
    cfg = ImapSourceConfig.model_validate(account.source(tls=True, insecure=True))
    # When the source connects, Then it fails at once (no reconnect wait) as a configuration error
    with pytest.raises(PermanentSourceError) as refused:
        Connection(cfg, patient).call(lambda c: c.capabilities())
    said = str(refused.value)
    assert "starttls = true" in said and "993" in said and str(account.server.port) in said


def test_a_host_that_does_not_resolve_is_a_configuration_error() -> None:
    # Given a host name that no DNS knows (.invalid is reserved for that)
    cfg = ImapSourceConfig.model_validate(
        {"name": "inbox", "type": "imap", "host": "imap.dealer.invalid", "username": "u", "password_env": "X"}
    )
    # When the source connects, Then it fails at once, naming the host key
    with pytest.raises(PermanentSourceError, match=r"imap\.dealer\.invalid: no such host .*check the host"):
        Connection(cfg, Backoff(attempts=6, first=30, most=30)).call(lambda c: c.capabilities())
