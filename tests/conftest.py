"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL; what is missing, said once.

A test that needs a server (PostgreSQL, Dovecot, Chromium) or the labelled corpus in ../shared/corpus
skips when it is absent, and the run ends with one line naming what was missing and how to get it.
With REPLYWATCH_REQUIRE_SERVERS=1 (CI) such a test fails instead."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from servers.http_receiver import Receiver, start_receiver
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # only the labelled corpus is read from here
DATA = REPO / "tests" / "data"  # the project's own test infrastructure (Dovecot config, Twilio specs)
_MISSING: dict[str, int] = {}  # what a test needed and did not find → how many tests skipped for it
_SLOW_LEFT_OUT = [0]  # tests marked slow that `-m "not slow"` deselected (every xdist worker sees them all)
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
    if _SLOW_LEFT_OUT[0] and config.option.markexpr == "not slow":
        terminalreporter.write_line(
            f"{_SLOW_LEFT_OUT[0]} slow tests left out (-m 'not slow'); `make test SLOW=1` runs them, as CI"
            " does.",
            yellow=True,
        )


@pytest.hookimpl(trylast=True)  # after `-m "not slow"` has deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, each slow test at the head of a different worker's first share.

    `--dist worksteal` (make test) first hands each worker a contiguous share of this list, in order,
    then moves tests from the end of a long queue to an idle worker. Left in place, the slow tests (the
    chaos soak, the install steps: minutes together) can sit in one share and run one after another, or
    start last; at the head of each share they start at once, side by side, and the rest fills in
    around them. Every worker orders the same way, as xdist requires."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    slow = [item for item in items if item.get_closest_marker("slow")]
    if workers < 2 or not slow:
        return
    rest = [item for item in items if not item.get_closest_marker("slow")]
    ordered: list[pytest.Item] = []
    left = len(items)
    for k in range(workers):
        share = left // (workers - k)  # what the scheduler hands the k-th worker (WorkStealingScheduling)
        left -= share
        heads = slow[k::workers]
        take = max(0, share - len(heads))
        ordered += heads + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


def pytest_deselected(items: list[pytest.Item]) -> None:
    _SLOW_LEFT_OUT[0] += sum(1 for item in items if item.get_closest_marker("slow"))


# Under pytest-xdist the tests run (and skip, and are deselected) in worker processes, while the summary
# is written by the controller: each worker hands its counts over as it finishes.
@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the controller: add up what a finished xdist worker found missing and left out."""
    told = getattr(node, "workeroutput", {}) or {}
    for what, n in told.get("replywatch_missing", {}).items():
        _MISSING[what] = _MISSING.get(what, 0) + n
    _SLOW_LEFT_OUT[0] = max(_SLOW_LEFT_OUT[0], told.get("replywatch_slow_left_out", 0))


def pg_url() -> str:
    """The PostgreSQL database this test process uses: the configured one, or under pytest-xdist a
    database of this worker's own, made from it on first use (see `_worker_database`)."""
    base = os.environ.get("REPLYWATCH_TEST_PG_URL") or DEFAULT_PG_URL
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    if base not in _WORKER_DATABASES:
        made = _worker_database(base, worker)
        if made is None:
            return base  # the server is not there: the caller says so (need) when it connects
        _WORKER_DATABASES[base] = made
    return _WORKER_DATABASES[base]


_WORKER_DATABASES: dict[str, str] = {}  # configured URL -> this xdist worker's own database's URL


def _worker_database(base: str, worker: str) -> str | None:
    """A new database for this xdist worker, dropped when its session ends (`pytest_sessionfinish`).

    Advisory locks are per database: replywatch's batch and migration locks (store/db.py BATCH_LOCK,
    migrations/env.py) would otherwise be shared by every worker's tests, each on its own schema of one
    database, so that one test holding the batch lock on purpose (tests/integration/test_batch_serial.py)
    or a stopped daemon holding it would hold up the other worker. Named by the run's id too, so that two
    runs at once on one server never share one. None if the server cannot be reached; the configured
    database itself if this user may not create databases (the tests are correct there, only slower)."""
    u = make_url(base)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    name = f"{u.database}_{worker}_{run}"
    try:
        with psycopg.connect(_libpq_dsn(base), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    except psycopg.errors.InsufficientPrivilege:
        return base
    return u.set(database=name).render_as_string(hide_password=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand the summary's counts to the controller (`pytest_testnodedown`), and drop
    this worker's own PostgreSQL databases (FORCE: a daemon that a failed test left running)."""
    told = getattr(session.config, "workeroutput", None)
    if told is not None:
        told["replywatch_missing"] = dict(_MISSING)
        told["replywatch_slow_left_out"] = _SLOW_LEFT_OUT[0]
    for base, url in _WORKER_DATABASES.items():
        if url == base:
            continue
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(_libpq_dsn(base), autocommit=True, connect_timeout=5) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    _WORKER_DATABASES.clear()


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
        if _own_database(base):
            # What the test left connected (the pools of engines it never disposed, until they are
            # collected) ends here: PostgreSQL's max_connections (100) is shared by every worker.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _own_database(url: str) -> bool:
    """`url` is this xdist worker's own database, which only this worker's tests connect to."""
    return any(own == url != base for base, own in _WORKER_DATABASES.items())


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback that records what it is sent (tests/servers/http_receiver.py)."""
    receiver = start_receiver()
    yield receiver
    receiver.close()
