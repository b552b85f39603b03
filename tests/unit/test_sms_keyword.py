"""SMS keywords (what sms_body_is compares): the walk over the edges drops what the regex `[\\W_]` drops."""

from __future__ import annotations

import re
import sys

from hypothesis import example, given
from hypothesis import strategies as st

from replywatch.classify.rules import sms_keyword

EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def keyword_by_regex(text: str) -> str:
    """sms_keyword as first written: the edges cut by a regex."""
    return " ".join(EDGES.sub("", text).split()).casefold()


def test_what_isalnum_refuses_is_what_the_regex_calls_an_edge() -> None:
    # Given every character Python knows
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    # Then `[\W_]` matches exactly those str.isalnum() refuses
    edges = {m.start() for m in re.finditer(r"[\W_]", every)}
    assert [i for i, ch in enumerate(every) if (i in edges) == ch.isalnum()] == []


@given(st.text())
@example(" Stop! ")
@example("STOP.\n")
@example("__opt out__")
@example("!!!")
@example("  ¡Alto!  ")
@example("٣ stop ٣")
def test_keywords_are_what_the_regex_made_of_them(text: str) -> None:
    assert sms_keyword(text) == keyword_by_regex(text)
