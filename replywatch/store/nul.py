"""NUL characters out of every text value sent to the database, on both backends.

PostgreSQL refuses NUL in text (a reply would be quarantined there with a DataError) while SQLite keeps
it; dropping it at the one place every statement passes keeps the two stores alike. Bytes are left alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def strip_nuls_on(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _before_cursor_execute, retval=True)


def _before_cursor_execute(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
) -> tuple[str, Any]:
    if executemany and isinstance(parameters, list):
        return statement, [without_nuls(p) for p in parameters]
    return statement, without_nuls(parameters)


def without_nuls(parameters: Any) -> Any:
    """A statement's parameters (a dict or a sequence), copied only when a text value holds a NUL."""
    if isinstance(parameters, dict):
        if any(_has_nul(v) for v in parameters.values()):
            return {k: _value(v) for k, v in parameters.items()}
    elif isinstance(parameters, list | tuple) and any(_has_nul(v) for v in parameters):
        return type(parameters)(_value(v) for v in parameters)
    return parameters


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list | tuple) and any(_has_nul(v) for v in value)


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list | tuple):
        return type(value)(_value(v) for v in value)
    return value
