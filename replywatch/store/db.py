"""Engine and sessions: SQLite pragmas, PostgreSQL as is, and Alembic migrations run on first use."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from replywatch.domain.vocabulary import Channel, Direction, Kind, MatchStatus
from replywatch.errors import ConfigError, ReplywatchError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
# The revisions a current schema is at; a test checks this equals Alembic's heads. Knowing them without
# Alembic keeps it out of every command's start (status --check runs every minute as a health check).
SCHEMA_HEADS = frozenset({"0010_i17"})
BATCH_LOCK = 0x7277_6261  # "rwba": the advisory lock key a pipeline batch holds on PostgreSQL
# The tables a poll grows, whose PostgreSQL statistics choose the plans of every batch's look-ups.
log = logging.getLogger(__name__)


# The database itself failed (down, connection lost, out of disk): not an item's fault. Work since the last
# commit is rolled back and read again; nothing is quarantined for it.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def database_error_reason(exc: Exception) -> str:
    """The first line of the driver's own words for a DATABASE_ERRORS exception."""
    orig = getattr(exc, "orig", None)
    return str(orig).strip().splitlines()[0] if orig else type(exc).__name__


def redact_url(url: str) -> str:
    """The database URL with its password hidden, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def url_password(url: str) -> str | None:
    """The password a database URL carries, if any (for the log filter that keeps secrets out)."""
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the pragmas replywatch relies on."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: not a database URL: {redact_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(f"database.url: use sqlite:/// or postgresql+psycopg://, not {parsed.drivername}")


def _sqlite_engine(url: str) -> Engine:
    for vocabulary in (Channel, Direction, Kind, MatchStatus):
        # The driver binds a str subclass through its slow adaptation path (0.4 µs a value, several a
        # message); registered, a member is bound as the plain string it is.
        sqlite3.register_adapter(vocabulary, str.__str__)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        try:  # look-ups by many values pass them as one JSON list (store.sql.one_of)
            cur.execute("SELECT count(*) FROM json_each('[]')")
        except sqlite3.OperationalError:
            raise ConfigError(
                f"SQLite {sqlite3.sqlite_version} has no JSON functions (json_each); replywatch needs a"
                " SQLite with them (built in since 3.38, in most builds since 3.9)"
            ) from None
        cur.close()

    return engine


@contextmanager
def batch_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in the transaction that stores one batch, begun only once every batch begun before it has
    committed, so that what it reads (a lead, our touch) includes what they stored, by any daemon."""
    with sessions() as session, session.begin():
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # pysqlite would begin at the first write: reads before it could predate another batch's commit.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            # Under READ COMMITTED each statement after the lock sees what the previous holder committed.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BATCH_LOCK})
        yield session


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> set[str]:
    """The revisions a current schema is at, as Alembic reads them from the migration scripts."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a new database), read from alembic_version."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return {str(v) for v in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()}


@contextmanager
def reachable(engine: Engine) -> Iterator[None]:
    """A database that cannot be reached is one line naming it, password hidden."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        url = engine.url.render_as_string(hide_password=True)
        raise ReplywatchError(f"cannot open database {url}: {reason}") from None


def upgrade(engine: Engine) -> None:
    """Alembic upgrade to head (`replywatch db upgrade`)."""
    from alembic import command

    with reachable(engine):
        command.upgrade(alembic_config(engine), "heads")


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, bring an empty or older database up to the current schema, hand back a session factory."""
    engine = make_engine(url)
    with reachable(engine):
        if current_revisions(engine) != SCHEMA_HEADS:
            # Two processes starting on a new database (`run` and `status`): one migrates, the other waits
            # and then finds nothing to do. PostgreSQL: an advisory lock in the migration environment.
            with _sqlite_migration_lock(engine):
                if current_revisions(engine) != SCHEMA_HEADS:
                    upgrade(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.migrate.lock` beside a SQLite file while its schema is upgraded."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
