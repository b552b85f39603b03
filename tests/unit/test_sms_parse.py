"""SMS records from the generic CSV, the Twilio console export and the Twilio API, parsed and classified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from replywatch.classify.classify import classify_sms
from replywatch.classify.rules import RuleSet, default_rules_dir, load_rules
from replywatch.domain.normalize import normalize_phone
from replywatch.domain.vocabulary import Direction
from replywatch.errors import ParseError
from replywatch.parse.sms import csv_dialect, parse_sms_row

# The header of a Twilio console "Export CSV" of the messaging logs, in the console's column order.
CONSOLE_HEADER = (
    "From,To,Body,Status,SentDate,ApiVersion,NumSegments,ErrorCode,AccountSid,Sid,Direction,Price,PriceUnit"
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(default_rules_dir())


def api_record(**fields: str) -> dict[str, str]:
    """A message as the Twilio source hands it to the pipeline."""
    record = {
        "sid": "SM0123",
        "date_sent": "2026-11-05T15:45:00+00:00",
        "from": "+15125550134",
        "to": "+15125550100",
        "body": "sure, call me at 5",
        "direction": "inbound",
        "status": "received",
        "num_media": "0",
    }
    return record | fields


def test_the_console_export_header_is_recognised() -> None:
    # Given the console's header, padded the way a spreadsheet saves it; Then it reads as the Twilio dialect
    assert csv_dialect(CONSOLE_HEADER.split(",")) == "twilio"
    assert csv_dialect([f" {name} " for name in CONSOLE_HEADER.split(",")]) == "twilio"


def test_a_header_without_the_needed_columns_names_them() -> None:
    with pytest.raises(ParseError, match="sent_at"):
        csv_dialect(["id", "from", "to", "body", "direction"])


@pytest.mark.parametrize(
    ("written", "direction"),
    [
        ("inbound", Direction.INBOUND),
        ("outbound-api", Direction.OUTBOUND),
        ("outbound-reply", Direction.OUTBOUND),
        ("outbound-call", Direction.OUTBOUND),
        ("Outbound-API", Direction.OUTBOUND),
        ("Incoming", Direction.INBOUND),
        ("Outgoing API", Direction.OUTBOUND),
        ("Outgoing Reply", Direction.OUTBOUND),
    ],
)
def test_twilio_directions(written: str, direction: str) -> None:
    # Given a record with Twilio's direction; When parsed; Then it is inbound or outbound
    assert parse_sms_row(api_record(direction=written), "twilio-api").direction == direction


def test_an_unknown_direction_names_the_column() -> None:
    with pytest.raises(ParseError, match=r"Direction.*sideways"):
        parse_sms_row({"Sid": "SM1", "SentDate": "2026-11-05", "Direction": "sideways"}, "twilio")


@pytest.mark.parametrize(
    "written",
    [
        "2026-11-05 15:45:00",
        "2026-11-05T15:45:00Z",
        "2026-11-05T15:45:00.000Z",
        "2026-11-05T09:45:00-06:00",
        "2026-11-05 15:45:00 UTC",
        "Thu, 05 Nov 2026 15:45:00 +0000",
        "Thu 05 Nov 2026 15:45:00 +0000",
    ],
)
def test_console_export_times_in_every_seen_form_are_one_instant(written: str) -> None:
    # Given a console export row whose SentDate is written one of the ways exports write it
    row = {"Sid": "SM1", "SentDate": written, "From": "+15125550134", "To": "+15125550100"}
    # When parsed; Then it is the same UTC instant (a naive time is UTC, as Twilio keeps its logs)
    sms = parse_sms_row(row | {"Body": "hi", "Direction": "inbound"}, "twilio")
    assert sms.sent_at == datetime(2026, 11, 5, 15, 45, tzinfo=UTC)


def test_an_unreadable_time_names_the_column() -> None:
    with pytest.raises(ParseError, match="column date_sent: cannot read time 'yesterday'"):
        parse_sms_row(api_record(date_sent="yesterday"), "twilio-api")


def test_an_api_record_keeps_status_and_media() -> None:
    # Given a failed outbound text and a picture-only MMS reply from the API
    failed = parse_sms_row(api_record(direction="outbound-api", status="failed"), "twilio-api")
    mms = parse_sms_row(api_record(sid="MM9", body="", num_media="2"), "twilio-api")
    # Then the failure and the media count survive parsing
    assert (failed.direction, failed.status) == (Direction.OUTBOUND, "failed")
    assert (mms.sid, mms.body, mms.num_media) == ("MM9", "", 2)


def test_a_picture_only_reply_is_a_human_reply(rules: RuleSet) -> None:
    # Given an MMS with media and no text; When classified; Then it is a human reply, not noise
    mms = parse_sms_row(api_record(body="", num_media="1"), "twilio-api")
    assert classify_sms(mms, rules).kind == "human"


@pytest.mark.parametrize(
    ("body", "kind"), [("STOP", "opt_out"), (" stop! ", "opt_out"), ("Stop by at 5?", "human")]
)
def test_opt_out_keywords_from_the_api(rules: RuleSet, body: str, kind: str) -> None:
    assert classify_sms(parse_sms_row(api_record(body=body), "twilio-api"), rules).kind == kind


def test_the_ways_people_write_a_number_are_one_number() -> None:
    written = ["(512) 555-0134", "512.555.0134", "1-512-555-0134", "+1 512 555 0134", "whatsapp:+15125550134"]
    assert {normalize_phone(w, "US") for w in written} == {"+15125550134"}


def test_short_codes_and_sender_names_are_never_numbers() -> None:
    assert normalize_phone("55512", "US") is None
    assert normalize_phone("MainStHonda", "US") is None
