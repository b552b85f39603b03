"""Engine and sessions: SQLite pragmas, PostgreSQL as is, and Alembic migrations run on first use."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import SecretMixin, Settings
from replywatch.domain.vocabulary import Channel, Direction, Kind, MatchStatus
from replywatch.errors import ConfigError, ReplywatchError
from replywatch.private_files import private_touch
from replywatch.store.nul import strip_nuls_on

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
# The revisions a current schema is at; a test checks this equals Alembic's heads. Knowing them without
# Alembic keeps it out of every command's start (status --check runs every minute as a health check).
SCHEMA_HEADS = frozenset({"0013"})
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


# Every place a database URL can carry a credential: the user info (up to the last `@` of the URL, since
# a password may hold an unencoded `@`) and query parameters such as `?password=` or `&sslpassword=`.
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s]*@", re.IGNORECASE)
_URL_QUERY_SECRET = re.compile(r"([?&][a-z_]*(?:password|passwd|secret|token)[a-z_]*=)[^&\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A database URL, or any text holding one, with every credential hidden, for messages and logs."""
    return _URL_QUERY_SECRET.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", url))


def hide_secrets(text: str, secrets: Iterable[str]) -> str:
    """Text for a log line, an error or an event with every one of these secrets replaced by `***`
    (longest first: one may hold another) and any credential a URL in it carries hidden (redact_url)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return redact_url(text)


def url_password(url: str) -> str | None:
    """The password a database URL carries, if any (for the log filter that keeps secrets out): its
    user info's, read up to the last `@`, else a `password` query parameter."""
    found = re.match(r"[a-z][a-z0-9+.-]*://[^\s:/@]*:([^\s]*)@", url, re.IGNORECASE)
    if found and found[1]:
        return found[1]
    try:
        password = make_url(url).query.get("password")
    except ArgumentError:
        return None
    return password if isinstance(password, str) and password else None


_MIN_SECRET = 4  # shorter values would blank ordinary words


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the configuration points at: `*_env` variables, `*_file` contents, and the
    password in the database URL. Unreadable ones are skipped (the source reports those itself)."""
    found: set[str] = set()
    for model in (*settings.sources, settings.digest.smtp, *settings.notify):
        if isinstance(model, SecretMixin):
            found.update(s for s in model.secret_values() if not s.startswith("unreadable: "))
    password = url_password(settings.database.url)  # None for an unparsable URL: reported elsewhere
    if password:
        found.add(str(password))
    return sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True)


def _encoded_userinfo(url: str) -> str:
    """The URL with its password percent-encoded when it holds an `@` as written: SQLAlchemy would take
    the text after that `@` for the host (and a driver's error would show it)."""
    found = re.match(r"([a-z][a-z0-9+.-]*://[^\s:/@]*:)([^\s]*@[^\s]*)@", url, re.IGNORECASE)
    if not found:
        return url
    return f"{found[1]}{quote(found[2], safe='')}@{url[found.end() :]}"


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the pragmas replywatch relies on."""
    url = _encoded_userinfo(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: not a database URL: {redact_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True)
        strip_nuls_on(engine)
        return engine
    raise ConfigError(f"database.url: use sqlite:/// or postgresql+psycopg://, not {parsed.drivername}")


def _sqlite_engine(url: str) -> Engine:
    for vocabulary in (Channel, Direction, Kind, MatchStatus):
        # The driver binds a str subclass through its slow adaptation path (0.4 µs a value, several a
        # message); registered, a member is bound as the plain string it is.
        sqlite3.register_adapter(vocabulary, str.__str__)
    database = make_url(url).database
    if database and database != ":memory:":
        private_touch(Path(database))  # customers' data: 0600 (SQLite gives its WAL the same mode)
    engine = create_engine(url, connect_args={"timeout": 30})
    strip_nuls_on(engine)

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
        url = redact_url(engine.url.render_as_string(hide_password=False))
        if engine.url.password:
            reason = reason.replace(str(engine.url.password), "***")
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

    private_touch(Path(f"{database}.migrate.lock"))
    with open(f"{database}.migrate.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
