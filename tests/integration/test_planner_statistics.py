"""PostgreSQL's statistics of the tables a poll grows are refreshed while a big poll grows them, and only
then (store.statistics.GrowingTables)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from mailbuild import DANA_PHONE, at, settings
from sqlalchemy import text
from wiring import pipeline as wired_pipeline

from replywatch.ingest import pipeline as pipeline_module
from replywatch.ingest.pipeline import Pipeline
from replywatch.sources.factory import build_source
from replywatch.store import statistics as statistics_module
from replywatch.store.db import open_database
from replywatch.store.statistics import GROWING_TABLES


def poll_texts(tmp_path: Path, url: str, count: int) -> Pipeline:
    with (tmp_path / "sms.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        for i in range(count):
            customer = f"+1512555{1000 + i:04d}"
            writer.writerow(
                [f"SM{i}", f"2026-11-05T15:{i % 60:02d}:00Z", customer, DANA_PHONE, "hi", "inbound"]
            )
    cfg = settings(tmp_path, url, texts="sms-csv:sms.csv")
    _, sessions = open_database(url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    pipeline.poll(build_source(cfg.sources[0]))
    return pipeline


def row_estimates(pipeline: Pipeline) -> dict[str, float]:
    """The planner's row count of each growing table (-1: never analysed)."""
    with pipeline.sessions() as session:
        query = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)")
        return {name: session.execute(query, {"name": name}).scalar_one() for name in GROWING_TABLES}


def test_a_poll_that_grows_the_tables_refreshes_their_statistics(
    tmp_path: Path, pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a poll of 40 texts in batches of 5, statistics refreshed from 10 messages on
    monkeypatch.setattr(pipeline_module, "BATCH_SIZE", 5)
    monkeypatch.setattr(statistics_module, "ANALYZE_FROM", 10)
    # When it runs on a new database
    pipeline = poll_texts(tmp_path, pg_db_url, 40)
    # Then the planner knows the tables as the poll left them: analysed last at 40 (10, 20, 40)
    estimates = row_estimates(pipeline)
    assert (estimates["messages"], estimates["message_keys"], estimates["matches"]) == (40, 80, 40)


def test_a_small_poll_leaves_the_statistics_alone(tmp_path: Path, pg_db_url: str) -> None:
    # Given a poll of fewer texts than the statistics are refreshed from
    pipeline = poll_texts(tmp_path, pg_db_url, 20)
    # Then no table was analysed
    assert set(row_estimates(pipeline).values()) == {-1}
