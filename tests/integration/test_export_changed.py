"""`contacts export --changed-since`, as a nightly CRM import runs it: only the leads whose export row
changed come out, a reply going to review or a review decision changes a lead's row, and the time each
export prints chains to the next without losing a lead, even one a batch commits after the export read
its time. The real pipeline (Maildir source, `poll --once`), the real CLI, both backends."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from clirun import cli as run_cli
from mailbuild import DANA, STORE, Maildir, at, mail, two_john_smiths
from sqlalchemy import Engine, event
from wiring import pipeline

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.clock import now
from replywatch.config import Settings, load_settings
from replywatch.ingest.directory import open_directory
from replywatch.ingest.lead_import import import_leads
from replywatch.parse.types import LeadRecord
from replywatch.sources.factory import build_source
from replywatch.store import Sessions
from replywatch.store.db import batch_transaction, open_database

NEXT = "next: --changed-since "


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_cli(*args, cwd=root)
    assert done.returncode == 0, done.stderr
    return done


def export(root: Path, *args: str) -> tuple[list[dict[str, str]], str]:
    """The CSV rows `contacts export ARGS` printed, and the time it printed to pass next."""
    done = cli(root, "contacts", "export", *args)
    return list(csv.DictReader(io.StringIO(done.stdout))), next_time(done)


def next_time(done: subprocess.CompletedProcess[str]) -> str:
    """The time an export printed on stderr, on its one line; stdout holds the rows alone."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(NEXT), done.stderr
    assert NEXT not in done.stdout
    return lines[0].removeprefix(NEXT)


def ids(rows: list[dict[str, str]]) -> list[str]:
    return sorted(r["lead_id"] for r in rows)


@pytest.fixture
def dealership(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, Maildir]]:
    """Two John Smiths, each followed up by Dana, polled: the root folder and its Maildir."""
    (tmp_path / "replywatch.toml").write_text(
        f"""
[database]
url = "{db_url}"
[[stores]]
name = "{STORE}"
[[associates]]
name = "Dana Lee"
store = "{STORE}"
emails = ["{DANA}"]
[[sources]]
name = "inbox"
type = "maildir"
path = "mail"
""",
        encoding="utf-8",
    )
    box = Maildir(tmp_path / "mail")
    two_john_smiths(box)
    cli(tmp_path, "poll", "--once")
    yield tmp_path, box


@pytest.fixture
def wired(dealership: tuple[Path, Maildir]) -> Iterator[tuple[Settings, Sessions]]:
    """The dealership's settings and a session factory on its database, as a daemon wires them."""
    settings = load_settings(dealership[0] / "replywatch.toml")
    engine, sessions = open_database(settings.database.url)
    yield settings, sessions
    engine.dispose()


def reply(box: Maildir, sender: str, day: int, mid: str) -> None:
    box.add(mail(sender, DANA, "Re: CR-V", "Yes, call me", at(day, 17), mid, "<t1@msh>"), at(day, 17))


def test_only_changed_leads_come_out_and_the_printed_time_chains(dealership: tuple[Path, Maildir]) -> None:
    root, box = dealership
    # Given a first full export: every lead, and the time to pass next
    rows, first = export(root)
    assert ids(rows) == ["S1", "S2"]
    assert first.endswith("Z") and datetime.fromisoformat(first) <= now()
    # When nothing changed, the next export from that time is empty (the header alone)
    assert export(root, "--changed-since", first)[0] == []
    # When S1's customer replies to Dana's follow-up
    reply(box, "jsmith@mail.example", 2, "<r1@x>")
    cli(root, "poll", "--once")
    # Then the export from the printed time has exactly S1, contacted, in CSV and in JSON
    rows, second = export(root, "--changed-since", first)
    assert [(r["lead_id"], r["contacted"]) for r in rows] == [("S1", "Y")]
    as_json = cli(root, "contacts", "export", "--format", "json", "--out", "c.json", "--changed-since", first)
    assert [r["lead_id"] for r in json.loads((root / "c.json").read_text())] == ["S1"]
    assert next_time(as_json) >= second
    # And the time that export printed chains on: nothing has changed since
    assert export(root, "--changed-since", second)[0] == []
    # And a time without a zone is UTC: the same export as with Z
    assert ids(export(root, "--changed-since", first.removesuffix("Z"))[0]) == ["S1"]


def queue_a_reply(root: Path, box: Maildir) -> tuple[str, int, str]:
    """A reply signed John Smith from a third address, which only a person can place, polled after an
    export: (the lead it waits on, its review item, the time that export printed)."""
    _, before = export(root)
    box.add(mail("John Smith <john@plumbing.example>", DANA, "hi", "Call me", at(4, 15), "<r2@x>"), at(4, 15))
    cli(root, "poll", "--once")
    queued = json.loads(cli(root, "review", "list", "--format", "json").stdout)
    assert len(queued) == 1
    # The lead it waits on comes out, pending review, though its contact state did not move
    rows, after = export(root, "--changed-since", before)
    assert [(r["contacted"], r["pending_review"]) for r in rows] == [("N", "Y")]
    return rows[0]["lead_id"], queued[0]["id"], after


def test_a_reply_going_to_review_and_its_decisions_change_the_lead(dealership: tuple[Path, Maildir]) -> None:
    root, box = dealership
    # Given a reply waiting for review on a lead, which came out of the export for it
    waiting, item, after_review = queue_a_reply(root, box)
    # When the reviewer rejects it
    cli(root, "review", "reject", str(item), "--by", "dana")
    # Then that lead comes out again, no longer pending, and no other
    rows, after_reject = export(root, "--changed-since", after_review)
    assert [(r["lead_id"], r["pending_review"]) for r in rows] == [(waiting, "N")]
    # And when the decision is taken back, the reply waits again: the lead comes out pending
    cli(root, "review", "undo", str(item), "--by", "dana")
    rows, _ = export(root, "--changed-since", after_reject)
    assert [(r["lead_id"], r["pending_review"]) for r in rows] == [(waiting, "Y")]


def test_a_reply_matched_again_out_of_review_changes_the_lead_it_waited_on(
    dealership: tuple[Path, Maildir],
) -> None:
    root, box = dealership
    waiting, _, after_review = queue_a_reply(root, box)
    other = "S1" if waiting == "S2" else "S2"
    # When a corrected lead file gives the other John Smith the reply's address
    email = "jsmith@mail.example" if other == "S1" else "john.smith77@example.net"
    received = "2026-11-02T15:00:00Z" if other == "S1" else "2026-11-03T15:00:00Z"
    (root / "leads.csv").write_text(
        "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n"
        f"{other},{received},John,Smith,{email};john@plumbing.example,,AutoTrader,,{STORE}\n"
    )
    cli(root, "leads", "import", "leads.csv")
    # Then the reply is matched to it, and the lead it waited on comes out too, no longer pending
    assert json.loads(cli(root, "review", "list", "--format", "json").stdout) == []
    rows, _ = export(root, "--changed-since", after_review)
    assert sorted((r["lead_id"], r["pending_review"]) for r in rows) == sorted([(other, "N"), (waiting, "N")])


def test_a_batch_that_read_its_clock_before_the_export_is_not_lost(
    dealership: tuple[Path, Maildir], wired: tuple[Settings, Sessions]
) -> None:
    root, box = dealership
    settings, sessions = wired
    # Given a daemon whose batch read the time before the export did (it waited for its turn, or its
    # host's clock is behind), and commits after the export
    late = now()
    _, printed = export(root)
    reply(box, "jsmith@mail.example", 2, "<r1@x>")
    pipeline(sessions, settings, lambda: late).poll(build_source(settings.sources[0]))
    # Then the next export from the printed time still has its lead
    rows, _ = export(root, "--changed-since", printed)
    assert [(r["lead_id"], r["contacted"]) for r in rows] == [("S1", "Y")]


def test_an_export_asked_for_during_a_batch_misses_none_of_it(
    dealership: tuple[Path, Maildir], wired: tuple[Settings, Sessions]
) -> None:
    root, _ = dealership
    settings, sessions = wired
    _, first = export(root)
    directory, policy = open_directory(sessions, settings), load_rules(default_rules_dir()).policy
    exported: list[subprocess.CompletedProcess[str]] = []
    exporting = threading.Thread(target=lambda: exported.append(run_cli("contacts", "export", cwd=root)))
    # Given a lead import in its batch turn, as `leads import` runs it, when an export asks for the turn
    asking = threading.Event()
    with batch_transaction(sessions) as session:
        import_leads(session, directory, settings, [LeadRecord("N1", "Website", now())], now(), policy)
        with WatchingTheTurn(asking):
            exporting.start()
            assert asking.wait(30)
    exporting.join(60)
    # Then the export, which waited for that batch, has its lead
    assert "N1" in ids(list(csv.DictReader(io.StringIO(exported[0].stdout))))
    # And the time it printed chains on without repeating it; the first export's time finds it too
    assert export(root, "--changed-since", next_time(exported[0]))[0] == []
    assert ids(export(root, "--changed-since", first)[0]) == ["N1"]


class WatchingTheTurn:
    """Sets `asking` when a connection of another thread asks for the batch turn (SQLite's BEGIN
    IMMEDIATE, PostgreSQL's advisory lock): that thread then waits for the turn this one holds."""

    def __init__(self, asking: threading.Event) -> None:
        self.asking, self.owner = asking, threading.get_ident()

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        asks = "BEGIN IMMEDIATE" in statement or "pg_advisory_xact_lock" in statement
        if asks and threading.get_ident() != self.owner:
            self.asking.set()

    def __enter__(self) -> None:
        event.listen(Engine, "before_cursor_execute", self._seen)

    def __exit__(self, *_: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


def test_a_bad_time_is_one_line_and_exit_1(dealership: tuple[Path, Maildir]) -> None:
    root, _ = dealership
    done = run_cli("contacts", "export", "--changed-since", "yesterday", cwd=root)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --changed-since: not an ISO 8601 time: 'yesterday' (e.g. 2026-12-07T14:03:11Z)"
    ]
    assert done.stdout == ""
