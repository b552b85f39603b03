"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and the ../shared folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def servers_required() -> bool:
    return os.environ.get("REPLYWATCH_REQUIRE_SERVERS") == "1" or os.environ.get("CI") == "true"


def need(reason: str) -> None:
    """Skip for want of a server or file, unless servers are required (CI): then fail."""
    if servers_required():
        pytest.fail(f"required for this test but missing: {reason}")
    pytest.skip(reason)


def pg_url() -> str:
    return os.environ.get("REPLYWATCH_TEST_PG_URL") or DEFAULT_PG_URL


def _libpq_dsn(url: str) -> str:
    u = make_url(url)
    user = u.username or "postgres"
    return f"host={u.host or '127.0.0.1'} port={u.port or 5432} dbname={u.database} user={user}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'replywatch.db'}"
        return
    yield from _pg_schema()


@pytest.fixture
def pg_db_url() -> Iterator[str]:
    """A fresh schema in the PostgreSQL test database, for what only PostgreSQL does (several daemons)."""
    yield from _pg_schema()


def _pg_schema() -> Iterator[str]:
    base = pg_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(_libpq_dsn(base), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        need(f"PostgreSQL at {base}: {exc}")
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}?options=-csearch_path%3D{schema}"
    with psycopg.connect(_libpq_dsn(base), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        need(f"{SHARED} (the shared folder beside the repository)")
    return SHARED
