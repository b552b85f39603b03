"""Leads CSV import: the whole file is validated, and errors name the line and column."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from replywatch.errors import LeadFileError, ParseError
from replywatch.parse.leads_csv import parse_leads_csv, read_leads_file

HEADER = "lead_id,received_at,first_name,last_name,email,phone,source,associate,store"


def csv_text(*rows: str, header: str = HEADER, newline: str = "\n") -> str:
    return newline.join([header, *rows]) + newline


def test_rows_become_leads_with_every_column() -> None:
    # Given a CRM export with two leads
    text = csv_text(
        "L-1,2024-03-04T10:15:00,Maria,Gonzalez,maria@example.com,512-555-0142,"
        "AutoTrader,Dana Lee,Main Street Honda",
        "L-2,2024-03-04T11:00:00-06:00,,,,,Cars.com,,",
    )

    # When parsed
    first, second = parse_leads_csv(text)

    # Then every column lands in the lead, and empty optional cells are None / empty
    assert first.external_id == "L-1"
    assert first.received_at == datetime(2024, 3, 4, 10, 15)
    assert (first.first_name, first.last_name) == ("Maria", "Gonzalez")
    assert first.emails == ("maria@example.com",)
    assert first.phones == ("512-555-0142",)
    assert (first.source, first.associate, first.store) == ("AutoTrader", "Dana Lee", "Main Street Honda")
    assert first.line == 2
    assert (second.first_name, second.last_name, second.associate, second.store) == (None, None, None, None)
    assert (second.emails, second.phones) == ((), ())
    assert second.line == 3


def test_naive_received_at_stays_naive_and_offsets_are_kept() -> None:
    # Given one store-local time and one with an offset
    text = csv_text("A,2024-03-04 10:15:00,,,,,web,,", "B,2024-03-04T10:15:00-06:00,,,,,web,,")
    # When parsed, Then store-local stays naive (the store's zone is applied later) and the offset is kept
    naive, aware = parse_leads_csv(text)
    assert naive.received_at == datetime(2024, 3, 4, 10, 15)
    assert naive.received_at is not None and naive.received_at.tzinfo is None
    assert aware.received_at == datetime(2024, 3, 4, 10, 15, tzinfo=timezone(timedelta(hours=-6)))


def test_several_emails_and_phones_separated_by_semicolons() -> None:
    text = csv_text(
        "L-1,2024-03-04T10:15:00,,,a@example.com; b@example.com ;,512-555-0001;;+15125550002,web,,"
    )
    [lead] = parse_leads_csv(text)
    assert lead.emails == ("a@example.com", "b@example.com")
    assert lead.phones == ("512-555-0001", "+15125550002")


def test_unknown_columns_are_ignored_and_column_order_is_free() -> None:
    # Given a file with extra CRM columns, reordered and with odd header spacing/case
    text = csv_text(
        "web,Vehicle of interest,L-9,2024-03-04T10:15:00", header="Source, vehicle ,LEAD_ID,received_at"
    )
    [lead] = parse_leads_csv(text)
    assert (lead.external_id, lead.source, lead.emails) == ("L-9", "web", ())


def test_bom_and_crlf_are_handled() -> None:
    text = "\ufeff" + csv_text(
        "L-1,2024-03-04T10:15:00,Ann,Lee,,,web,,", "L-2,2024-03-04T10:16:00,,,,,web,,", newline="\r\n"
    )
    leads = parse_leads_csv(text)
    assert [(lead.external_id, lead.line) for lead in leads] == [("L-1", 2), ("L-2", 3)]
    assert leads[0].last_name == "Lee"


def test_quoted_field_with_embedded_newline_keeps_line_numbers_right() -> None:
    # Given a store name spanning two physical lines inside quotes
    text = csv_text(
        'L-1,2024-03-04T10:15:00,,,,,web,,"Main Street\r\nHonda"',
        "L-2,2024-03-04T10:16:00,,,,,web,,",
        newline="\r\n",
    )
    first, second = parse_leads_csv(text)
    assert first.store == "Main Street\r\nHonda"
    assert (first.line, second.line) == (2, 4)


def test_error_after_a_multiline_field_names_the_physical_line() -> None:
    text = csv_text('L-1,2024-03-04T10:15:00,"Mary\nAnn",,,,web,,', "L-2,yesterday,,,,,web,,")
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(text, path="leads.csv")
    assert (raised.value.line, raised.value.column) == (4, "received_at")


def test_blank_lines_are_skipped_without_shifting_line_numbers() -> None:
    text = csv_text("", "L-1,2024-03-04T10:15:00,,,,,web,,", ",,,,,,,,", "L-2,2024-03-04T10:16:00,,,,,web,,")
    assert [lead.line for lead in parse_leads_csv(text)] == [3, 5]


@pytest.mark.parametrize("missing", ["lead_id", "received_at", "source"])
def test_header_without_a_required_column_is_refused_on_line_1(missing: str) -> None:
    header = ",".join(name for name in HEADER.split(",") if name != missing)
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(csv_text(header=header), path="leads.csv")
    assert (raised.value.line, raised.value.column) == (1, missing)
    found = header.replace(",", ", ")
    assert str(raised.value) == (
        f"leads.csv:1 column {missing!r}: the header lacks the required column {missing!r}"
        f" (headers found: {found})"
    )


def test_empty_file_is_refused() -> None:
    with pytest.raises(LeadFileError, match=r"leads.csv:1: the file is empty"):
        parse_leads_csv("", path="leads.csv")


def test_empty_lead_id_names_line_and_column() -> None:
    text = csv_text("L-1,2024-03-04T10:15:00,,,,,web,,", " ,2024-03-04T10:16:00,Ann,,,,web,,")
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(text, path="march.csv")
    assert str(raised.value) == "march.csv:3 column 'lead_id': lead_id is empty"


@pytest.mark.parametrize(
    "written", ["13/30/2024 10:15", "yesterday", "2024-13-01T00:00:00", "", "9999-12-31T23:59:59", "2/3/1900"]
)
def test_unparseable_received_at_names_line_and_column(written: str) -> None:
    text = csv_text(
        "L-1,2024-03-04T10:15:00,,,,,web,,", "L-2,2024-03-04T10:16:00,,,,,web,,", f"L-3,{written},,,,,web,,"
    )
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(text, path="march.csv")
    assert (raised.value.line, raised.value.column) == (4, "received_at")
    assert str(raised.value).startswith("march.csv:4 column 'received_at': received_at ")


def test_empty_source_names_line_and_column() -> None:
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(csv_text("L-1,2024-03-04T10:15:00,,,,,,,"))
    assert (raised.value.line, raised.value.column) == (2, "source")


def test_duplicate_lead_id_and_source_is_refused_naming_both_lines() -> None:
    text = csv_text(
        "L-1,2024-03-04T10:15:00,,,,,web,,",
        "L-1,2024-03-04T10:15:00,,,,,AutoTrader,,",
        "L-1,2024-03-05T09:00:00,,,,,web,,",
    )
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(text, path="march.csv")
    assert (
        str(raised.value)
        == "march.csv:4 column 'lead_id': duplicate lead_id 'L-1' for source 'web' (first on line 2)"
    )


def test_same_lead_id_from_different_sources_is_fine() -> None:
    text = csv_text("L-1,2024-03-04T10:15:00,,,,,web,,", "L-1,2024-03-04T10:15:00,,,,,AutoTrader,,")
    assert [lead.source for lead in parse_leads_csv(text)] == ["web", "AutoTrader"]


def test_a_stray_quote_is_refused_rather_than_swallowing_the_rest() -> None:
    # Given a row whose name opens a quote that never closes
    text = csv_text('L-1,2024-03-04T10:15:00,"Bob,,,,web,,', "L-2,2024-03-04T10:16:00,,,,,web,,")
    with pytest.raises(LeadFileError, match=r"leads.csv:2: unreadable CSV record"):
        parse_leads_csv(text, path="leads.csv")


def test_short_rows_read_missing_cells_as_empty() -> None:
    [lead] = parse_leads_csv(
        csv_text("L-1,2024-03-04T10:15:00,web", header="lead_id,received_at,source,email")
    )
    assert lead.emails == ()


def test_read_leads_file_accepts_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text("L-1,2024-03-04T10:15:00,José,Núñez,,,web,,").encode("utf-8"))
    [lead] = read_leads_file(path)
    assert (lead.first_name, lead.last_name, lead.line) == ("José", "Núñez", 2)


def test_read_leads_file_falls_back_to_windows_1252(tmp_path: Path) -> None:
    # Given a file saved by Excel on Windows
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_text("L-1,2024-03-04T10:15:00,Renée,Côté,,,web,,", newline="\r\n").encode("cp1252"))
    [lead] = read_leads_file(path)
    assert (lead.first_name, lead.last_name) == ("Renée", "Côté")


def test_read_leads_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(csv_text("L-1,not a date,,,,,web,,"), encoding="utf-8")
    with pytest.raises(LeadFileError, match=rf"^{path}:2 column 'received_at'"):
        read_leads_file(path)


def test_read_leads_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read leads file"):
        read_leads_file(tmp_path / "missing.csv")


def test_an_excel_shaped_file_is_read_semicolons_people_headers_and_us_dates() -> None:
    # Given what Excel saves where the decimal mark is a comma: `;`, headers for people, US dates
    text = (
        "Lead ID;Received;First Name;Last Name;E-mail;Phone Number;Lead Source;Salesperson;Dealership\r\n"
        "L-1;11/30/2026 2:05 PM;Maria;Gonzalez;maria@example.com;(512) 555-0142;AutoTrader;Dana;Main\r\n"
        "L-2;12/1/26 12:10 AM;;;;;Cars.com;;\r\n"
    )
    # When parsed
    first, second = parse_leads_csv(text)
    # Then every column is found and the dates read month first
    assert (first.external_id, first.first_name, first.emails, first.phones) == (
        "L-1",
        "Maria",
        ("maria@example.com",),
        ("(512) 555-0142",),
    )
    assert (first.source, first.associate, first.store) == ("AutoTrader", "Dana", "Main")
    assert first.received_at == datetime(2026, 11, 30, 14, 5)
    assert second.received_at == datetime(2026, 12, 1, 0, 10)


def test_slashed_dates_follow_the_region_of_the_rows_store() -> None:
    # Given a US store and a UK store in one file
    text = csv_text("A,03/04/2026 10:15,,,,,web,,Austin", "B,03/04/2026 10:15,,,,,web,,Leeds")
    # When parsed with each store's order
    us, uk = parse_leads_csv(text, month_first=lambda store: store == "Austin")
    # Then the US row is March 4th and the UK row 3 April
    assert (us.received_at, uk.received_at) == (datetime(2026, 3, 4, 10, 15), datetime(2026, 4, 3, 10, 15))


def test_a_nul_byte_names_its_line_and_shows_no_data() -> None:
    text = csv_text(
        "L-1,2024-03-04T10:15:00,Maria,Gonzalez,maria@example.com,,web,,", "L-2,2024-03-04,Jo\x00e,,,,web,,"
    )
    with pytest.raises(LeadFileError) as raised:
        parse_leads_csv(text, path="leads.csv")
    said = str(raised.value)
    assert said.startswith("leads.csv:3: holds a NUL byte") and "Maria" not in said and "Jo" not in said


def test_a_utf16_file_from_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_text("L-1,2024-03-04T10:15:00,José,,,,web,,").encode("utf-16"))
    assert [lead.first_name for lead in read_leads_file(path)] == ["José"]
