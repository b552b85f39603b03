"""An SMS export read row by row: a bad row (a field too large, an unbalanced quote) is quarantined with its
line while every other text is stored; a last row still being written is left for the next poll; a file
rewritten with a row removed loses none of the rows appended to it. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mailbuild import DANA_PHONE, at, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.ingest.pipeline import Pipeline, PollResult
from replywatch.sources.smscsv import SmsCsvSource
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine

HEADER = "id,sent_at,from,to,body,direction\n"
EVA = "+15125550134"


def text(sid: str, body: str = "Saturday works") -> str:
    return f"{sid},2026-11-05T17:00:00Z,{EVA},{DANA_PHONE},{body},inbound\n"


def open_pipeline(tmp_path: Path, db_url: str) -> Pipeline:
    _, sessions = open_database(db_url)
    return wired_pipeline(sessions, settings(tmp_path, db_url), now=lambda: at(30, 12))


def poll(pipeline: Pipeline, path: Path) -> PollResult:
    return pipeline.poll(SmsCsvSource("texts", path))


def stored(pipeline: Pipeline) -> list[str]:
    with pipeline.sessions() as session:
        return sorted(session.scalars(select(Message.external_id)))


def quarantined(pipeline: Pipeline) -> list[tuple[str, str]]:
    with pipeline.sessions() as session:
        return [(q.position.rsplit(":", 1)[-1], q.error) for q in session.scalars(select(Quarantine))]


def settle(path: Path) -> None:
    """The export finished a minute ago."""
    past = time.time() - 60
    os.utime(path, (past, past))


def test_a_field_too_large_quarantines_its_row_and_the_others_are_stored(tmp_path: Path, db_url: str) -> None:
    # Given an export whose third row carries a 200 kB body (larger than csv's field limit)
    path = tmp_path / "sms.csv"
    rows = [text("t1"), text("t2"), text("t3", "x" * 200_000), text("t4")]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    pipeline = open_pipeline(tmp_path, db_url)
    # When it is polled twice
    first, second = poll(pipeline, path), poll(pipeline, path)
    # Then the other rows are stored, the large one is quarantined with its line, and the second poll is quiet
    assert stored(pipeline) == ["t1", "t2", "t4"]
    [(line, error)] = quarantined(pipeline)
    assert line == "4" and "larger than the limit" in error
    assert (first.stored, first.quarantined, second.stored, second.quarantined) == (3, 1, 0, 0)


def test_an_unbalanced_quote_quarantines_its_row_not_the_rows_after_it(tmp_path: Path, db_url: str) -> None:
    # Given an export where one body opens a quote it never closes, and a later body quotes properly
    path = tmp_path / "sms.csv"
    rows = [text("t1"), text("t2", '"Hi there'), text("t3"), text("t4"), text("t5", '"yes, Saturday"')]
    path.write_text(HEADER + "".join(rows) + text("t6"), encoding="utf-8")
    settle(path)
    pipeline = open_pipeline(tmp_path, db_url)
    # When it is polled
    result = poll(pipeline, path)
    # Then only the broken row is quarantined, named by its line, and every other text is stored
    assert stored(pipeline) == ["t1", "t3", "t4", "t5", "t6"]
    [(line, error)] = quarantined(pipeline)
    assert line == "3" and "unbalanced quote" in error
    assert (result.stored, result.quarantined) == (5, 1)


def test_a_quoted_body_over_several_lines_is_one_text(tmp_path: Path, db_url: str) -> None:
    # Given a body with line breaks and an escaped quote, as spreadsheets write it
    path = tmp_path / "sms.csv"
    path.write_bytes((HEADER + text("t1", '"Yes,\r\nSaturday ""10am""\r\nworks"') + text("t2")).encode())
    pipeline = open_pipeline(tmp_path, db_url)
    # When it is polled
    poll(pipeline, path)
    # Then both texts are stored, the first with its whole body
    assert stored(pipeline) == ["t1", "t2"] and quarantined(pipeline) == []


def test_a_half_written_last_row_waits_for_the_rest(tmp_path: Path, db_url: str) -> None:
    # Given an export still being appended to: its last row is cut short, mid-quote and mid-line
    path = tmp_path / "sms.csv"
    complete = text("t2", '"see you, Dana"')
    path.write_text(HEADER + text("t1") + complete[:60], encoding="utf-8")
    pipeline = open_pipeline(tmp_path, db_url)
    # When it is polled, then the row is finished and it is polled again
    first = poll(pipeline, path)
    path.write_text(HEADER + text("t1") + complete, encoding="utf-8")
    second = poll(pipeline, path)
    # Then the finished row is stored, and nothing was ever quarantined
    assert stored(pipeline) == ["t1", "t2"]
    assert quarantined(pipeline) == []
    assert (first.stored, second.stored) == (1, 1)


def test_a_settled_export_without_a_final_line_ending_is_read_whole(tmp_path: Path, db_url: str) -> None:
    # Given a finished export whose last row has no line ending
    path = tmp_path / "sms.csv"
    path.write_text(HEADER + text("t1") + text("t2").rstrip("\n"), encoding="utf-8")
    settle(path)
    pipeline = open_pipeline(tmp_path, db_url)
    # When it is polled
    poll(pipeline, path)
    # Then both rows are stored
    assert stored(pipeline) == ["t1", "t2"]


def test_a_rewritten_export_with_a_row_removed_loses_no_new_row(tmp_path: Path, db_url: str) -> None:
    # Given an export of forty texts, polled
    path = tmp_path / "sms.csv"
    sids = [f"t{n:02}" for n in range(40)]
    path.write_text(HEADER + "".join(text(s) for s in sids), encoding="utf-8")
    pipeline = open_pipeline(tmp_path, db_url)
    poll(pipeline, path)
    # When the platform rewrites it without a middle row and with two new rows, and it is polled again
    kept = [s for s in sids if s != "t35"] + ["t40", "t41"]
    path.write_text(HEADER + "".join(text(s) for s in kept), encoding="utf-8")
    result = poll(pipeline, path)
    # Then both new rows are stored, and nothing twice
    assert stored(pipeline) == [*sids, "t40", "t41"]
    assert result.stored == 2


def test_an_appended_export_is_read_from_where_the_last_poll_stopped(tmp_path: Path, db_url: str) -> None:
    # Given an export polled once, then grown by two rows
    path = tmp_path / "sms.csv"
    path.write_text(HEADER + text("t1") + text("t2"), encoding="utf-8")
    pipeline = open_pipeline(tmp_path, db_url)
    poll(pipeline, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text("t3") + text("t4"))
    # When it is polled again
    result = poll(pipeline, path)
    # Then only the two new rows are read
    assert (result.seen, result.stored) == (2, 2)


def test_rows_without_an_id_are_told_apart_by_their_content(tmp_path: Path, db_url: str) -> None:
    # Given an export whose rows carry no id, polled; then a row removed at the top and one appended
    path = tmp_path / "sms.csv"
    path.write_text(HEADER + text("", "one") + text("", "two"), encoding="utf-8")
    pipeline = open_pipeline(tmp_path, db_url)
    poll(pipeline, path)
    path.write_text(HEADER + text("", "two") + text("", "three"), encoding="utf-8")
    # When it is polled again
    poll(pipeline, path)
    # Then each distinct row is kept once (quarantined: a text needs its id), whatever its position
    assert len(quarantined(pipeline)) == 3
