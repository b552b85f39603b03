"""Fuzzing the CSV readers with hypothesis, on a fixed budget (derandomized, bounded examples, so CI runs
the same cases every time): the SMS export reader never raises, never loses or reorders a row, never
consumes a row still being written; an SMS row reads to a text or a ParseError; the leads CSV reads to
leads or one LeadFileError."""

from __future__ import annotations

import csv
import io

from hypothesis import example, given, settings
from hypothesis import strategies as st

from replywatch.errors import LeadFileError, ParseError
from replywatch.parse.leads_csv import parse_leads_csv
from replywatch.parse.sms import GENERIC, TWILIO_CSV, parse_sms_row
from replywatch.sources.csvlog import read_rows

BUDGET = settings(max_examples=200, derandomize=True, deadline=None)  # CI: the same cases every run
# Text as exports hold it: CSV's own characters, line endings of every kind, NUL, non-ASCII.
FIELD = st.text(
    alphabet=st.sampled_from(list('ab ,"\r\n\t\x00é=+-@0129:TZ')) | st.characters(exclude_categories=("Cs",)),
    max_size=40,
)


def csv_bytes(rows: list[list[str]], terminator: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows(rows)
    return out.getvalue().encode("utf-8")


@BUDGET
@given(st.binary(max_size=600), st.booleans())
def test_any_bytes_read_to_rows_that_cover_the_file_in_order(data: bytes, settled: bool) -> None:
    # Given any bytes; When read; Then no exception, and each row is the bytes just before its end, in order
    previous = 0
    for row in read_rows(data, 0, width=3, settled=settled):
        assert previous < row.end <= len(data)
        assert data[row.end - len(row.raw) : row.end] == row.raw
        assert (row.values is None) != (row.error is None)
        assert data[previous : row.end - len(row.raw)].strip() == b""  # only blank lines are skipped
        previous = row.end
    if settled:
        assert data[previous:].strip() == b""  # a settled file is read to its end


@BUDGET
@given(st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=8))
def test_rows_written_by_a_csv_writer_read_back_exactly(rows: list[list[str]]) -> None:
    # Given rows a spreadsheet or csv.writer wrote (quotes, commas, line breaks inside fields; CRLF, which
    # makes the writer quote a lone CR too)
    data = csv_bytes(rows, "\r\n")
    # When read; Then the same rows come back, each whole
    assert [r.values for r in read_rows(data, 0, width=3, settled=False)] == rows


@BUDGET
@given(st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=8), st.data())
def test_a_file_cut_anywhere_yields_only_rows_the_whole_file_has(
    rows: list[list[str]], data: st.DataObject
) -> None:
    # Given an export cut at any byte (the exporter still writing)
    whole = csv_bytes(rows, "\r\n")
    cut = data.draw(st.integers(0, len(whole)))
    # When the cut file is read; Then every row it gives is one the whole file gives, at the same line
    complete = [(r.line, r.values) for r in read_rows(whole, 0, width=3, settled=False)]
    partial = [(r.line, r.values) for r in read_rows(whole[:cut], 0, width=3, settled=False)]
    assert partial == complete[: len(partial)]


@BUDGET
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "sent_at",
                "from",
                "to",
                "body",
                "direction",
                "Status",
                "NumMedia",
                "Sid",
                "SentDate",
                "From",
                "To",
                "Body",
                "Direction",
            ]
        ),
        FIELD,
    ),
    st.sampled_from([GENERIC, TWILIO_CSV]),
)
@example({"id": "x", "sent_at": "9999-12-31T23:59:59-01:00", "direction": "inbound"}, GENERIC)
@example({"Sid": "x", "SentDate": "Fri, 31 Dec 9999 23:59:59 -0100", "Direction": "inbound"}, TWILIO_CSV)
def test_an_sms_row_reads_to_a_text_or_a_parse_error(row: dict[str, str], dialect: str) -> None:
    # Given any row; When parsed; Then it is a text, or a ParseError naming why (never another exception)
    try:
        parse_sms_row(row, dialect)
    except ParseError as exc:
        assert str(exc)


LEAD_HEADER = "lead_id,received_at,first_name,last_name,email,phone,source,associate,store"


@BUDGET
@given(st.lists(st.lists(FIELD, min_size=9, max_size=9), max_size=5), st.sampled_from(["\n", "\r\n"]))
def test_a_leads_csv_reads_to_leads_or_one_error(rows: list[list[str]], terminator: str) -> None:
    # Given a leads file with any text in its cells; When parsed; Then leads, or one ParseError naming a line
    text = LEAD_HEADER + terminator + csv_bytes(rows, terminator).decode("utf-8")
    try:
        parse_leads_csv(text)
    except (LeadFileError, ParseError) as exc:
        assert str(exc)
