"""Bulk inserts write a UTC time on SQLite directly: the text must be SQLAlchemy's, byte for byte, since
range queries compare it as text with what SQLAlchemy writes elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from replywatch.store.bulk import _sqlite_utc
from replywatch.store.models import UTCDateTime

_DIALECT = sqlite.dialect()
_SQLALCHEMY = UTCDateTime().dialect_impl(_DIALECT).bind_processor(_DIALECT)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-6)), timezone(timedelta(hours=5, minutes=30))])


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30), timezones=_ZONES))
def test_the_same_text_as_sqlalchemy(value: datetime) -> None:
    assert _SQLALCHEMY is not None
    assert _sqlite_utc(value) == _SQLALCHEMY(value)


def test_none_and_naive() -> None:
    assert _sqlite_utc(None) is None
    with pytest.raises(ValueError, match="naive"):
        _sqlite_utc(datetime(2026, 10, 1, 13))
