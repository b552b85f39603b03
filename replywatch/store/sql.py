"""Query helpers the repositories share: chunks of values, and one bound list in place of a parameter each."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, String, any_, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

CHUNK = 500
_T = TypeVar("_T")


def chunks(values: Sequence[_T], size: int = CHUNK) -> Iterable[Sequence[_T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def one_of(session: Session | Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` with the values as one parameter, not one parameter each, so that the statement
    is the same text whatever the values, and nothing renders, parses or plans it anew per look-up:
    PostgreSQL `column = ANY(array)`; SQLite `column IN (SELECT value FROM json_each(list as JSON))`,
    both led by the column's index (bench/README.md has the figures)."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded with the dialect; SQLite never needs it

        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return cast("ColumnElement[bool]", column == any_(array))
    listed = bindparam(None, json.dumps(list(values)), type_=String())
    return cast(
        "ColumnElement[bool]", column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
    )


def is_postgres(bind: Session | Connection) -> bool:
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


def insert_missing(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: rows another writer (a daemon starting at the same moment)
    inserted first are left as they are, not an error."""
    if not rows:
        return
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert  # the dialect drags in asyncio: load it when used
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    session.execute(insert(model).values(list(rows)).on_conflict_do_nothing())
