"""The bulk writer: a batch's rows in one statement per table (SQLite multi-row VALUES, PostgreSQL COPY).

A speed trick kept in one place: every other write goes through ordinary SQLAlchemy. Its figures are in
bench/ (ingest_sms.py, ingest_local.py); what it stores is checked by bench/store_digest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from replywatch.store.models import Base, UTCDateTime
from replywatch.store.nul import without_nuls
from replywatch.store.sql import is_postgres

if TYPE_CHECKING:
    import psycopg


# Bound parameters in one statement: SQLite allows 32,766.
_MAX_PARAMS = 30_000


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows (each with the same columns) into a model's table in one go: Core's executemany builds and
    processes parameters per row in Python, which costs more than the insert. SQLite: the driver's
    executemany; PostgreSQL: COPY, which the driver formats in C."""
    if not rows:
        return
    table = _table(model)
    conn = session.connection()
    columns = list(rows[0])
    params = _params(conn, table, columns, rows)
    if is_postgres(conn):
        _copy(conn, _quote(conn, table.name), columns, params)
    else:
        conn.exec_driver_sql(_values_sql(conn, table, columns, 1), params)


def insert_new_rows(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows into a model's table, except those whose `unique` columns a row already stored holds (a
    concurrent writer's, say): INSERT … ON CONFLICT DO NOTHING. Returns (*unique, id) of those inserted."""
    if not rows:
        return []
    table = _table(model)
    conn = session.connection()
    columns = list(rows[0])
    params = _params(conn, table, columns, rows)
    on_conflict = (
        f"ON CONFLICT ({', '.join(_quote(conn, c) for c in unique)}) DO NOTHING "
        f"RETURNING {', '.join(_quote(conn, c) for c in (*unique, 'id'))}"
    )
    if is_postgres(conn):
        return _copy_new(conn, table, columns, params, on_conflict)
    per_statement = max(1, _MAX_PARAMS // len(columns))
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(params), per_statement):
        part = params[start : start + per_statement]
        sql = f"{_values_sql(conn, table, columns, len(part))} {on_conflict}"
        inserted.extend(tuple(r) for r in conn.exec_driver_sql(sql, tuple(v for p in part for v in p)))
    return inserted


def _copy(conn: Connection, target: str, columns: Sequence[str], params: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows into `target` (a quoted table name) by COPY, in the connection's transaction."""
    names = ", ".join(_quote(conn, c) for c in columns)
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in params:
            copy.write_row(without_nuls(row))  # COPY bypasses the engine's statement hook


def _copy_new(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    params: Sequence[tuple[Any, ...]],
    on_conflict: str,
) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows by COPY into a temporary table shaped like `table` (columns and types only:
    no defaults, so no ids drawn), then INSERT … SELECT from it with `on_conflict`, and the temporary
    table emptied (a failure rolls its rows back with the rest). It is created in the transaction when
    missing, so it works behind any pooler."""
    name, staging = _quote(conn, table.name), _quote(conn, f"replywatch_new_{table.name}")
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} AS SELECT * FROM {name} WITH NO DATA"
    conn.exec_driver_sql(create)
    _copy(conn, staging, columns, params)
    names = ", ".join(_quote(conn, c) for c in columns)
    sql = f"INSERT INTO {name} ({names}) SELECT {names} FROM {staging} {on_conflict}"
    inserted = [tuple(r) for r in conn.exec_driver_sql(sql)]
    conn.exec_driver_sql(f"DELETE FROM {staging}")
    return inserted


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _values_sql(conn: Connection, table: Table, columns: Sequence[str], rows: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * len(columns))})"
    names = ", ".join(_quote(conn, c) for c in columns)
    return f"INSERT INTO {_quote(conn, table.name)} ({names}) VALUES {', '.join([one] * rows)}"


def _params(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values in column order, through the column types' bind processing (UTC times, JSON)."""
    processed = [(i, p) for i, c in enumerate(columns) if (p := _processor(conn, table.c[c].type))]
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    if not processed:
        return [values(row) for row in rows]
    params = []
    for row in rows:
        line = list(values(row))
        for i, process in processed:
            line[i] = process(line[i])
        params.append(tuple(line))
    return params


def _processor(conn: Connection, column_type: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """The column type's bind processor; a UTC time on SQLite written directly in the text form SQLAlchemy
    stores, without its processor's generality. Remembered per value, but for JSON (unhashable)."""
    if isinstance(column_type, UTCDateTime) and conn.dialect.name == "sqlite":
        return _remembering(_sqlite_utc)
    processor = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if processor is None or isinstance(column_type, JSON):
        return processor
    return _remembering(processor)


def _sqlite_utc(value: datetime | None) -> str | None:
    """An aware time as SQLite's DATETIME text of its UTC: `2026-10-01 13:00:00.000000`."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _remembering(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The processor with the values it saw remembered: a batch repeats some (its `now`, True, None)."""
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = found = processor(value)
            return found
        except TypeError:  # unhashable (a JSON list)
            return processor(value)

    return process
