"""PostgreSQL's planner statistics kept in step with a poll that grows the tables (a speed trick)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
GROWING_TABLES = ("messages", "message_keys", "matches", "leads", "lead_identities", "lead_name_keys")
ANALYZE_FROM = 1000  # messages a poll stores before it first refreshes those statistics


class GrowingTables:
    """Keeps PostgreSQL's statistics of the tables a poll grows in step with them.

    PostgreSQL plans each query by its statistics of the tables. A poll that stores many messages into a
    store that had few (the first backfill of a new database) would otherwise go on with plans made for
    nearly empty tables until autovacuum analyses them, a minute or more later (bench/README.md has the
    figures). So a poll analyses them itself each time it has doubled them: a few times in a backfill
    (at 1,000, 2,000, 4,000 … messages), never in a daemon's small polls.
    SQLite is left alone: its queries are written to be led by their indexes without statistics."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        self.enabled = bind is None or bind.dialect.name == "postgresql"
        self.before: int | None = None  # messages stored before the poll, as the statistics knew them
        self.analyzed = 0  # messages the poll had stored when it last analysed

    def grown(self, stored: int) -> None:
        """After a batch: `stored` messages so far in this poll. A failure is logged, never raised."""
        if not self.enabled or stored - self.analyzed < ANALYZE_FROM:
            return
        try:
            with self.sessions() as session, session.begin():
                conn = session.connection()
                if conn.dialect.name != "postgresql":
                    self.enabled = False
                    return
                if self.before is None:
                    # reltuples is -1 for a table never analysed
                    rows = conn.exec_driver_sql(
                        "SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass"
                    )
                    self.before = max(0, int(rows.scalar_one()))
                if stored - self.analyzed < self.before + self.analyzed:
                    return
                conn.exec_driver_sql(f"ANALYZE {', '.join(GROWING_TABLES)}")
        except SQLAlchemyError as exc:  # a slower poll is better than a failed one
            log.warning("could not refresh the database's statistics, the poll goes on: %s", exc)
            self.enabled = False
            return
        self.analyzed = stored
