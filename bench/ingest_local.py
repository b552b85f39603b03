"""Benchmark: local ingest rate (items/s) of the sample dealership on SQLite and PostgreSQL, side by side.

    .venv/bin/python bench/ingest_local.py [--weeks 20] [--runs 3] [--pg postgresql+psycopg://…/test]

Prints the median of the runs per backend and the ratio PostgreSQL / SQLite. Not a test: no
figure is asserted; timings on shared machines are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.config import load_settings
from replywatch.demo import write_sample_dealership
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database


def ingest_once(config: Path, url: str) -> tuple[int, float]:
    settings = load_settings(config, environ={"REPLYWATCH_DATABASE_URL": url})
    _, sessions = open_database(settings.database.url)
    pipeline = Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings)
    )
    began = time.perf_counter()
    items = sum(pipeline.poll(build_source(cfg)).stored for cfg in settings.sources)
    return items, time.perf_counter() - began


def pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    u = make_url(base)
    with psycopg.connect(host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    u = make_url(base)
    with psycopg.connect(host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = write_sample_dealership(Path(tmp) / "site", seed=3, end=date(2026, 11, 30), weeks=args.weeks)
        rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
        for run in range(args.runs):
            items, secs = ingest_once(sample.config_path, f"sqlite:///{tmp}/run{run}.db")
            rates["sqlite"].append(items / secs)
            url, schema = pg_schema_url(args.pg)
            try:
                items, secs = ingest_once(sample.config_path, url)
            finally:
                drop_schema(args.pg, schema)
            rates["postgresql"].append(items / secs)
    print(f"sample: {args.weeks} weeks, {sample.leads} leads, {items} items; {args.runs} runs each")
    for backend, values in rates.items():
        print(
            f"{backend:>10}: median {statistics.median(values):7.1f} items/s  (runs: "
            + ", ".join(f"{v:.1f}" for v in values)
            + ")"
        )
    ratio = statistics.median(rates["postgresql"]) / statistics.median(rates["sqlite"])
    print(f"postgresql / sqlite: {ratio:.2f}")


if __name__ == "__main__":
    main()
