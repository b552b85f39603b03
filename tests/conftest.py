"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL; what is missing, said once.

A test that needs a server (PostgreSQL, Dovecot, Chromium) or the labelled corpus in ../shared/corpus
skips when it is absent, and the run ends with one line naming what was missing and how to get it.
With REPLYWATCH_REQUIRE_SERVERS=1 (CI) such a test fails instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from servers.http_receiver import Receiver, start_receiver
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # only the labelled corpus is read from here
DATA = REPO / "tests" / "data"  # the project's own test infrastructure (Dovecot config, Twilio specs)
_MISSING: dict[str, int] = {}  # what a test needed and did not find → how many tests skipped for it
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def servers_required() -> bool:
    return os.environ.get("REPLYWATCH_REQUIRE_SERVERS") == "1" or os.environ.get("CI") == "true"


def need(reason: str, what: str) -> None:
    """Skip for want of a server or file (`what`, with how to get it), unless servers are required (CI):
    then fail."""
    if servers_required():
        pytest.fail(f"required for this test but missing: {reason}")
    _MISSING[what] = _MISSING.get(what, 0) + 1
    pytest.skip(reason)


# Wraps pytest's own summary (tryfirst: the outermost), so these are the last lines above the counts.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> Iterator[None]:
    """One line at the end: which servers or files were missing, so skipped tests are never silent; and
    one when `make test` left the slow tests out."""
    yield
    if _MISSING:
        listed = "; ".join(f"{what} ({n} tests)" for what, n in sorted(_MISSING.items()))
        terminalreporter.write_line(
            f"missing, so skipped: {listed}. See README, Development; `bash .ci/run` installs them.",
            yellow=True,
        )
    slow = [t for t in terminalreporter.stats.get("deselected", []) if t.get_closest_marker("slow")]
    if slow and config.option.markexpr == "not slow":
        terminalreporter.write_line(
            f"{len(slow)} slow tests left out (-m 'not slow'); `make test SLOW=1` runs them, as CI does.",
            yellow=True,
        )


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
        u = make_url(base)
        need(f"PostgreSQL at {base}: {exc}", f"PostgreSQL at {u.host}:{u.port or 5432} ({u.database})")
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}?options=-csearch_path%3D{schema}"
    with psycopg.connect(_libpq_dsn(base), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback that records what it is sent (tests/servers/http_receiver.py)."""
    receiver = start_receiver()
    yield receiver
    receiver.close()
