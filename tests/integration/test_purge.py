"""Purge past retention: the text of messages and quarantined mail goes, every contact figure stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from wiring import pipeline as wired_pipeline

from replywatch.clock import now
from replywatch.config import Settings, load_settings
from replywatch.demo import write_sample_dealership
from replywatch.digest.build import Digest, build_digest
from replywatch.digest.render import render
from replywatch.digest.scope import scopes
from replywatch.errors import ReplywatchError
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.reports.export import contact_rows
from replywatch.reports.status import source_health
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Message, Quarantine
from replywatch.store.purge import parse_days, purge, redact_error

END = date(2026, 11, 30)  # the sample's weeks are the five before this Monday
WEEKS = [END - timedelta(weeks=n) for n in range(5, 0, -1)]
INGESTED = datetime(2026, 12, 1, 6, tzinfo=UTC)  # when the sample is polled (the quarantine's time)
NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
RAW_SECRET = "Routing 021000021 account 4417123456789113"
ERROR_SECRET = "SSN-078-05-1120"


@dataclass
class Dealership:
    settings: Settings
    sessions: sessionmaker[Session]


def _dealership(tmp_path: Path, db_url: str) -> Dealership:
    """The sample dealership polled into the database, with a mail file and an SMS row to quarantine."""
    sample = write_sample_dealership(tmp_path / "demo", seed=7, end=END)
    (sample.maildir / "new" / "1790000000.1.bad").write_bytes(f"{RAW_SECRET}\nnot a mail\n".encode())
    with sample.sms_csv.open("a", encoding="utf-8") as fh:
        fh.write(f"SMbad,2026-11-20T15:00:00Z,+15125550199,+15125550100,{RAW_SECRET},{ERROR_SECRET}\n")
    settings = load_settings(sample.config_path, environ={"REPLYWATCH_DATABASE_URL": db_url})
    _, sessions = open_database(settings.database.url)
    pipeline = wired_pipeline(sessions, settings, now=lambda: INGESTED)
    for cfg in settings.sources:
        pipeline.poll(build_source(cfg))
    return Dealership(settings, sessions)


def _figures(d: Dealership) -> tuple[list[dict[str, str]], list[Digest], list[str], dict[str, int]]:
    """Everything a manager sees: the export, every week's digest of every scope, the latest rendered."""
    with d.sessions() as session:
        export = list(contact_rows(session))
        found = scopes(session, d.settings)
        weeks = d.settings.digest.baseline_weeks
        digests = [build_digest(session, scope, week, NOW, weeks) for scope in found for week in WEEKS]
        health = source_health(session, [s.name for s in d.settings.sources], NOW)
    rendered = [render(x).text for x in digests[-len(WEEKS) :]]
    counts = {k: health[k] for k in ("leads", "contacted", "review_backlog", "quarantined")}
    return export, digests, rendered, counts


def _with_content(session: Session, before: datetime | None = None) -> int:
    has = Message.snippet.is_not(None) | Message.subject.is_not(None) | Message.sender_name.is_not(None)
    stmt = select(func.count()).select_from(Message).where(has)
    if before is not None:
        stmt = stmt.where(Message.sent_at < before)
    return session.scalar(stmt) or 0


def _sqlite_bytes(db_url: str) -> bytes:
    path = Path(make_url(db_url).database or "")
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def test_purge_keeps_every_figure_and_removes_the_content(tmp_path: Path, db_url: str) -> None:
    # Given five weeks of the sample dealership, with one bad mail and one bad SMS row in quarantine
    d = _dealership(tmp_path, db_url)
    before = _figures(d)
    with d.sessions() as session:
        assert before[3]["contacted"] > 100 and before[3]["quarantined"] == 2
        messages = session.scalar(select(func.count()).select_from(Message))
        texts = {
            t for t in session.scalars(select(Message.snippet).where(Message.direction == "inbound")) if t
        }
    replies = [t.encode() for t in texts if len(t) > 40]  # long enough to be found nowhere else
    assert len(replies) > 50
    sqlite = db_url.startswith("sqlite")
    if sqlite:
        raw = _sqlite_bytes(db_url)
        assert all(r in raw for r in replies) and RAW_SECRET.encode() in raw

    # When a dry run counts the messages of the first two weeks
    middle = datetime(2026, 11, 9, tzinfo=UTC)
    dry = purge(d.sessions, (NOW - middle).days, NOW, dry_run=True)
    # Then it counts them and changes nothing
    with d.sessions() as session:
        assert dry.messages == _with_content(session, before=dry.cutoff) > 50
        assert _with_content(session) == messages
    assert (dry.quarantine_raw, dry.quarantine_errors) == (0, 0)  # quarantined on 1 December

    # When those are purged for real
    done = purge(d.sessions, (NOW - middle).days, NOW)
    # Then exactly the older messages lost their text, the later ones keep it, and the figures are unchanged
    assert done.messages == dry.messages
    with d.sessions() as session:
        assert _with_content(session, before=done.cutoff) == 0
        assert _with_content(session) == messages - done.messages
    assert _figures(d) == before

    # When everything past one day is purged
    full = purge(d.sessions, 1, NOW)
    # Then no message keeps a snippet, subject or sender name, but every row is still there
    with d.sessions() as session:
        assert _with_content(session) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == messages
        assert session.scalar(select(func.count()).where(Message.sender.is_not(None))) == messages
        # And the quarantined items lost their raw content; each error keeps its line, quoted values blanked
        items = session.scalars(select(Quarantine).order_by(Quarantine.id)).all()
    assert (full.quarantine_raw, full.quarantine_errors) == (2, 1)
    assert [q.raw for q in items] == [None, None]
    errors = sorted(q.error for q in items)
    assert errors[0] == "column direction: '…' is neither inbound nor outbound"
    assert errors[1].startswith("not an email")
    assert not any(ERROR_SECRET in e or RAW_SECRET in e for e in errors)
    # And the export, every digest, the rendered digest and the status counts are what they were
    assert _figures(d) == before
    # And the text is gone from the database file itself, not only from its rows
    if sqlite:
        raw = _sqlite_bytes(db_url)
        assert [r for r in replies if r in raw] == []
        assert RAW_SECRET.encode() not in raw and ERROR_SECRET.encode() not in raw

    # When contact is recomputed from the purged messages (as a review decision does)
    with d.sessions() as session, session.begin():
        refresh_contacts(
            session, Directory.load(session, d.settings), session.scalars(select(Lead.id)).all(), now=now()
        )
    # Then it comes out the same: contact never depended on the text
    assert _figures(d) == before
    # And a second purge finds nothing left to remove
    again = purge(d.sessions, 1, NOW)
    assert (again.messages, again.quarantine_raw, again.quarantine_errors) == (0, 0, 0)


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "abc", "", "٣"])
def test_days_must_be_a_positive_whole_number(text: str) -> None:
    with pytest.raises(ReplywatchError, match="positive whole number of days"):
        parse_days(text)


def test_days_are_read() -> None:
    assert parse_days("90") == 90 and parse_days(" 7 ") == 7


def test_an_error_keeps_its_first_line_without_quoted_values() -> None:
    assert redact_error("column body: 'Call me at 555-0100' is bad\nTraceback ...") == (
        "column body: '…' is bad"
    )
    assert redact_error('ValueError: b"\\x00secret" and "x \\" y"') == "ValueError: '…' and '…'"
    assert redact_error("not an email: no From, Date, Message-ID or Received header") == (
        "not an email: no From, Date, Message-ID or Received header"
    )
    assert redact_error(redact_error("a 'b' c")) == redact_error("a 'b' c")
