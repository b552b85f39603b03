"""The digest by mail through a real SMTP server: once per scope and week, retried when the server fails."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from digestbuild import (
    GROUP_RECIPIENTS,
    HONDA,
    RECIPIENTS,
    TOYOTA,
    ZONES,
    add_lead,
    close,
    dealership,
    expected,
    local,
    open_dealership,
    sentences,
    week_rows,
)
from servers.smtp import PASSWORD, USER, free_port, self_signed, smtp_server
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import Settings, SmtpConfig
from replywatch.digest.schedule import send_due_digests
from replywatch.digest.send import send_mail
from replywatch.errors import ReplywatchError
from replywatch.reports.digests import digest_status
from replywatch.reports.export import contact_rows
from replywatch.store.db import open_database
from replywatch.store.models import DigestRun

WEEK = date(2026, 11, 16)
SEND_AT = datetime(2026, 11, 23, 13, tzinfo=UTC)  # Monday 07:00 in Chicago (and 06:00 in Denver)
DENVER_SEND_AT = SEND_AT + timedelta(hours=1)


def _plain(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "starttls": False, "sender": "replywatch@group.example"}


def _dealership(db_url: str, port: int) -> tuple[Settings, sessionmaker[Session]]:
    """Two stores with a week of leads: fast, slow and silent ones."""
    settings = dealership(db_url, smtp=_plain(port))
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        for day, store in enumerate([HONDA, HONDA, TOYOTA, HONDA, TOYOTA, HONDA]):
            when = local(store, WEEK + timedelta(days=day), 9 + day)
            contact = [300, 5400, 86400 + 60, None, 200_000, 40][day]
            add_lead(s, store, when, associate="Dana Lee" if store == HONDA else None, contact_after=contact)
        add_lead(s, HONDA, local(HONDA, WEEK - timedelta(days=3), 12), contact_after=60)
    return settings, sessions


def _html_and_chart(message: EmailMessage) -> tuple[str, bytes, str]:
    html = message.get_body(("html",))
    assert html is not None
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    return str(html.get_content()), images[0].get_content(), images[0]["Content-ID"].strip("<>")


def test_the_monday_digest_arrives_once_per_scope_with_the_figures_of_contacts_export(db_url: str) -> None:
    with smtp_server() as (server, port):
        # Given a dealership with a week of leads and a real SMTP server
        settings, sessions = _dealership(db_url, port)
        # When the daemon's hook runs before 07:00 Chicago, at 07:00, at Denver's 07:00 and later that day
        assert send_due_digests(sessions, settings, SEND_AT - timedelta(minutes=1)) == []
        first = send_due_digests(sessions, settings, SEND_AT)
        later = send_due_digests(sessions, settings, DENVER_SEND_AT)
        again = send_due_digests(sessions, settings, SEND_AT + timedelta(hours=5))
        # Then Chicago's store and the group go at 07:00 Chicago, Denver's at 07:00 Denver, each once
        assert {(o.scope, o.status) for o in first} == {("group", "sent"), (HONDA, "sent")}
        assert [(o.scope, o.status) for o in later] == [(TOYOTA, "sent")]
        assert again == []
        got = {m.message["X-Replywatch-Digest"]: m for m in server.received}
        assert len(server.received) == 3
        honda = got[f"main-street-honda {WEEK.isoformat()}"]
        assert sorted(honda.recipients) == sorted(RECIPIENTS[HONDA])
        assert got[f"group {WEEK.isoformat()}"].recipients == GROUP_RECIPIENTS
    # And the mail has a text part, an HTML part and the chart it shows by Content-ID
    html, png, cid = _html_and_chart(honda.message)
    assert png.startswith(b"\x89PNG") and f'src="cid:{cid}"' in html
    assert honda.message["Auto-Submitted"] == "auto-generated"
    # And its figures are those an independent reading of `contacts export` gives
    with sessions() as session:
        rows = list(contact_rows(session))
    for key, stores in ((f"main-street-honda {WEEK}", {HONDA: ZONES[HONDA]}), (f"group {WEEK}", ZONES)):
        text = got[key].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        # the headline is the week before (the latest matured one); the week just ended shows so far
        _assert_figures(
            sentences(text),
            expected(week_rows(rows, stores, WEEK - timedelta(days=7)), SEND_AT),
            expected(week_rows(rows, stores, WEEK), SEND_AT),
        )


def _assert_figures(shown: dict[str, Any], matured: dict[str, Any], so_far: dict[str, Any]) -> None:
    assert shown["7d"] == matured["7d"] and matured["7d"][1] == matured["leads"] > 0
    assert close(shown["median_ttc_min"], matured["median_ttc_min"])
    assert shown["so_far"] == so_far["contacted"] and so_far["leads"] > 0


def test_two_daemons_at_once_send_each_digest_once(db_url: str) -> None:
    with smtp_server() as (server, port):
        # Given two daemons waking at the same moment on one database
        settings, sessions = _dealership(db_url, port)
        start = threading.Barrier(2)
        outcomes: list[Any] = []

        def daemon(name: str) -> None:
            start.wait()
            outcomes.extend(send_due_digests(sessions, settings, DENVER_SEND_AT, worker=name))

        threads = [threading.Thread(target=daemon, args=(f"daemon-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Then each of the three digests went exactly once
    assert sorted(m.message["X-Replywatch-Digest"] for m in server.received) == sorted(
        f"{s} {WEEK}" for s in ("group", "lakeside-toyota", "main-street-honda")
    )
    assert sum(o.status == "sent" for o in outcomes) == 3
    with sessions() as session:
        runs = session.scalars(select(DigestRun)).all()
    assert sorted((r.status, r.attempts) for r in runs) == [("sent", 1)] * 3


def test_an_smtp_failure_is_shown_retried_with_backoff_and_never_sent_twice(db_url: str) -> None:
    with smtp_server() as (server, port):
        # Given a server that answers "try again later"
        settings, sessions = _dealership(db_url, port)
        server.fail_with = "451 4.3.0 Mail server temporarily rejected message"
        # When the digests are due
        outcomes = send_due_digests(sessions, settings, SEND_AT)
        # Then they fail, and `status` shows why and when the next attempt is
        assert {o.status for o in outcomes} == {"failed"}
        with sessions() as session:
            status = {r["scope"]: r for r in digest_status(session, SEND_AT)}
        assert "451" in status[HONDA]["last_error"]
        assert status[HONDA]["next_attempt_at"] == "2026-11-23T13:01:00Z"
        # And nothing is tried again before the backoff has passed
        assert send_due_digests(sessions, settings, SEND_AT + timedelta(seconds=30)) == []
        # When the server recovers and the backoff has passed
        server.fail_with = None
        retried = send_due_digests(sessions, settings, SEND_AT + timedelta(minutes=2))
        # Then each digest goes once, on its second attempt
        assert {(o.scope, o.status) for o in retried} == {("group", "sent"), (HONDA, "sent")}
        assert send_due_digests(sessions, settings, SEND_AT + timedelta(minutes=20)) == []
    assert len(server.received) == 2
    with sessions() as session:
        status = {r["scope"]: r for r in digest_status(session, SEND_AT)}
    assert (status[HONDA]["status"], status[HONDA]["attempts"]) == ("sent", 2)


def test_a_server_that_is_down_and_a_sender_that_died_are_both_retried(db_url: str) -> None:
    # Given nothing listening on the configured port
    settings, sessions = _dealership(db_url, free_port())
    outcomes = send_due_digests(sessions, settings, SEND_AT)
    assert {o.status for o in outcomes} == {"failed"}
    assert all("SMTP 127.0.0.1" in o.detail for o in outcomes)
    # And Denver's digest claimed by a daemon that died while sending it
    died_at = DENVER_SEND_AT - timedelta(minutes=5)
    with sessions() as s, s.begin():
        s.add(
            DigestRun(scope=TOYOTA, week_start=WEEK, status="sending", claimed_by="dead", claimed_at=died_at)
        )
    with smtp_server() as (server, port):
        settings = settings.model_copy(
            update={"digest": settings.digest.model_copy(update={"smtp": SmtpConfig(**_plain(port))})}
        )
        # When the daemon looks again within the abandoned claim's lease, and after it
        soon = send_due_digests(sessions, settings, DENVER_SEND_AT)
        late = send_due_digests(sessions, settings, died_at + timedelta(minutes=31))
    # Then the failed digests go as soon as their backoff allows, the abandoned one after its lease
    assert {o.scope for o in soon} == {"group", HONDA}
    assert [o.scope for o in late] == [TOYOTA]
    assert len(server.received) == 3


# With implicit TLS the whole session is encrypted; aiosmtpd warns all the same.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_with_auth_and_implicit_tls(tmp_path: Path) -> None:
    certs = self_signed(tmp_path)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = USER, "gm@honda.example", "digest"
    message.set_content("figures")
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    wrong = tmp_path / "wrong-password"
    wrong.write_text("guess\n")
    for mode, port_key in (("starttls", {"starttls": True}), ("ssl", {"ssl": True, "starttls": False})):
        with smtp_server(mode, certs) as (server, port):
            # Given a server that wants TLS and a login, and a CA file that trusts its certificate
            cfg = SmtpConfig(
                host="127.0.0.1",
                port=port,
                ca_file=str(certs[0]),
                username=USER,
                password_file=str(secret),
                **port_key,
            )
            # When the digest is sent, Then it arrives
            assert send_mail(cfg, message) == {}
            assert len(server.received) == 1
            # And a wrong password is a one-line error naming the server
            bad = cfg.model_copy(update={"password_file": str(wrong)})
            with pytest.raises(ReplywatchError, match=rf"SMTP 127\.0\.0\.1:{port}: 535"):
                send_mail(bad, message)
    # And a certificate nobody trusts is refused
    with (
        smtp_server("starttls", certs) as (_, port),
        pytest.raises(ReplywatchError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        send_mail(SmtpConfig(host="127.0.0.1", port=port, username=USER, password_file=str(secret)), message)


def test_a_digest_due_before_anything_was_stored_goes_out_with_zeros(db_url: str) -> None:
    # Found running the daemon: its first housekeeping round came before any poll had stored a store row,
    # and the week index became a CASE without WHEN, which SQLite refuses
    with smtp_server() as (server, port):
        settings = dealership(db_url, smtp=_plain(port))
        _, sessions = open_database(settings.database.url)
        # When the digest falls due on an empty database
        outcomes = send_due_digests(sessions, settings, SEND_AT)
        # Then it is sent, not failed
        assert {o.status for o in outcomes} == {"sent"} and len(server.received) == len(outcomes)


def test_starttls_against_a_server_without_it_says_the_fix() -> None:
    # Given a plain-text SMTP server that offers no STARTTLS, and a config that asks for it
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = USER, "gm@honda.example", "digest"
    message.set_content("figures")
    with smtp_server("plain") as (_, port):
        cfg = SmtpConfig(host="127.0.0.1", port=port, starttls=True, sender=USER)
        # When the digest is sent, Then the error says what to change, on one line
        with pytest.raises(ReplywatchError) as refused:
            send_mail(cfg, message)
    said = str(refused.value)
    assert "STARTTLS extension not supported" in said and "starttls = false" in said and "\n" not in said
