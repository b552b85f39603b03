"""`replywatch purge` as a user runs it: counts first, the export unchanged, clear errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clirun import cli
from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch import clock
from replywatch.config import load_settings
from replywatch.demo import write_sample_dealership
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine

DAYS = 10


def _sample(tmp_path: Path, db_url: str) -> tuple[Path, dict[str, str]]:
    """Three weeks of the sample dealership up to this Monday, polled 30 days ago (so its one
    quarantined mail is past retention as well)."""
    sample = write_sample_dealership(tmp_path / "demo", seed=11, weeks=3)
    (sample.maildir / "new" / "1790000000.1.bad").write_bytes(b"card 4417123456789113\nnot a mail\n")
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    settings = load_settings(sample.config_path, environ=env)
    _, sessions = open_database(settings.database.url)
    then = clock.now() - timedelta(days=30)
    pipeline = wired_pipeline(sessions, settings, now=lambda: then)
    for cfg in settings.sources:
        pipeline.poll(build_source(cfg))
    return sample.config_path, env


def _report(output: str) -> tuple[datetime, int, int]:
    """(the cutoff, messages, quarantined items with raw content) as the command printed them."""
    cutoff = re.search(r"\(before (\S+)Z\):", output)
    messages = re.search(r"messages: (\d+) ", output)
    raw = re.search(r"quarantined items: (\d+) raw", output)
    assert cutoff and messages and raw, output
    # The cutoff is printed in whole seconds; message times are whole seconds too.
    at = datetime.fromisoformat(cutoff[1]).replace(tzinfo=UTC) + timedelta(seconds=1)
    return at, int(messages[1]), int(raw[1])


def _content(db_url: str, cutoff: datetime) -> tuple[int, int, int]:
    """(messages with text, of which sent after the cutoff, quarantined items with raw content)."""
    engine, sessions = open_database(db_url)
    has = Message.snippet.is_not(None) | Message.subject.is_not(None) | Message.sender_name.is_not(None)
    with_text = select(func.count()).where(has)
    with sessions() as s:
        found = (
            s.scalar(with_text) or 0,
            s.scalar(with_text.where(Message.sent_at >= cutoff)) or 0,
            s.scalar(select(func.count()).where(Quarantine.raw.is_not(None))) or 0,
        )
    engine.dispose()
    return found


def test_purge_counts_then_removes_and_the_export_does_not_change(tmp_path: Path, db_url: str) -> None:
    # Given a dealership's three weeks in the database, and its contacts export
    config, env = _sample(tmp_path, db_url)
    export = cli("--config", str(config), "contacts", "export", env=env, check=True).stdout
    assert export.count("\n") > 100
    # When a dry run is asked for content older than DAYS
    dry = cli("--config", str(config), "purge", "--older-than", str(DAYS), "--dry-run", env=env)
    # Then it names what it would remove and changes nothing
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"would remove content older than {DAYS} days (before 20")
    assert "dry run: nothing was changed" in dry.stdout
    cutoff, messages, raw = _report(dry.stdout)
    texts, recent, raw_kept = _content(db_url, cutoff)
    assert texts > recent > 0 and raw_kept == 1
    assert (messages, raw) == (texts - recent, 1)
    # When it is run for real
    done = cli("--config", str(config), "purge", "--older-than", str(DAYS), env=env)
    # Then what it counted is removed: only the later messages keep their text, the raw mail is gone
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"removed content older than {DAYS} days")
    cutoff, messages, raw = _report(done.stdout)
    texts_after, recent_after, raw_after = _content(db_url, cutoff)
    assert (texts_after, raw_after) == (recent_after, 0) and messages == texts - texts_after > 0
    assert raw == 1
    # And the contacts export is byte for byte what it was
    assert cli("--config", str(config), "contacts", "export", env=env, check=True).stdout == export
    # And a second run has nothing left to remove
    again = cli("--config", str(config), "purge", "--older-than", str(DAYS), env=env)
    assert _report(again.stdout)[1:] == (0, 0)


@pytest.mark.parametrize("days", ["0", "-5", "30d", "2.5"])
def test_days_that_are_not_a_positive_whole_number_are_one_line_and_exit_1(tmp_path: Path, days: str) -> None:
    # Given no configuration at all (the argument is checked first); When DAYS is not a positive integer
    result = cli("purge", f"--older-than={days}", cwd=tmp_path)
    # Then one line says what DAYS must be
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --older-than: DAYS must be a positive whole number of days, not {days!r}"
    ]
