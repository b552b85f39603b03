"""What a call means for contact, and call log rows (generic, CallRail) as read."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from replywatch.config import TwilioCallsSourceConfig, load_settings, settings_from_dict
from replywatch.domain.calls import CallOutcome, is_machine
from replywatch.domain.contact import ContactState, MessageFact, contact_state
from replywatch.errors import ConfigError, ParseError
from replywatch.ingest.calls import CallParties, call_parties
from replywatch.ingest.directory import Directory
from replywatch.parse.calls import CALLRAIL, GENERIC, call_csv_dialect, column_key, parse_call_row
from replywatch.parse.types import ParsedCall

RECEIVED = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")
_ids = itertools.count(1)


def call(
    minutes: float, direction: str, status: str, seconds: int, answered_by: str | None = None
) -> MessageFact:
    outcome = CallOutcome(status, seconds, answered_by)
    return MessageFact(
        next(_ids),
        RECEIVED + timedelta(minutes=minutes),
        direction,
        "human",
        "call",
        counts_as_touch=status not in ("failed", "undelivered"),
        conversation=outcome.is_conversation(30),
    )


def text(minutes: float, direction: str) -> MessageFact:
    return MessageFact(next(_ids), RECEIVED + timedelta(minutes=minutes), direction, "human", "sms")


def state(*messages: MessageFact) -> ContactState:
    return contact_state(RECEIVED, messages, None)


@pytest.mark.parametrize(
    ("seconds", "answered_by", "conversation"),
    [
        (29, "human", False),  # one second short of the minimum
        (30, "human", True),  # at the threshold
        (30, None, True),  # nobody says who answered: a person, as most logs leave it empty
        (30, "unknown", True),
        (600, "machine_end_beep", False),  # a voicemail, however long
        (600, "machine_start", False),
        (600, "fax", False),
        (600, "machine", False),
    ],
)
def test_voicemail_versus_conversation_at_the_threshold(
    seconds: int, answered_by: str | None, conversation: bool
) -> None:
    assert CallOutcome("completed", seconds, answered_by).is_conversation(30) is conversation


def test_only_a_completed_call_is_a_conversation() -> None:
    for status in ("no-answer", "busy", "failed", "canceled"):
        assert not CallOutcome(status, 300, "human").is_conversation(30)
    assert is_machine("machine_end_other") and not is_machine("human") and not is_machine(None)


def test_a_connected_call_of_ours_is_first_touch_and_contact_at_its_start() -> None:
    # Given only our call, answered and two minutes long, 20 minutes after the lead
    result = state(call(20, "outbound", "completed", 120, "human"))
    # Then it is both the first touch and contact, by call, at the call's start
    assert (result.first_touch_at, result.contact_at) == (RECEIVED + timedelta(minutes=20),) * 2
    assert result.contact_channel == "call" and result.time_to_contact_s == 1200


def test_a_customer_call_we_answer_is_contact_without_an_earlier_touch() -> None:
    result = state(call(5, "inbound", "completed", 45))
    assert result.contacted and result.first_touch_at == result.contact_at


def test_voicemail_is_a_touch_and_never_contact() -> None:
    # Given our call that reached voicemail, three minutes long
    result = state(call(10, "outbound", "completed", 180, "machine_end_beep"))
    # Then it is a touch (an attempt) but no contact
    assert result.first_touch_at == RECEIVED + timedelta(minutes=10) and not result.contacted


def test_every_outbound_call_is_a_touch_whatever_its_outcome() -> None:
    for status in ("no-answer", "busy", "failed", "canceled"):
        result = state(call(10, "outbound", status, 0))
        assert result.first_touch_at == RECEIVED + timedelta(minutes=10) and not result.contacted


def test_a_missed_or_short_inbound_call_is_recorded_but_neither_touch_nor_contact() -> None:
    # Given our text, then the customer calling back and nobody answering, then a 10-second call
    result = state(
        text(5, "outbound"), call(30, "inbound", "no-answer", 0), call(40, "inbound", "completed", 10)
    )
    # Then the lead has its touch and no contact: the customer reached out, nobody talked
    assert result.first_touch_at == RECEIVED + timedelta(minutes=5) and not result.contacted


def test_a_later_text_reply_still_counts_after_a_voicemail() -> None:
    result = state(call(10, "outbound", "completed", 45, "machine_start"), text(50, "inbound"))
    assert result.contact_channel == "sms" and result.time_to_contact_s == 3000


def test_describe_names_length_outcome_and_voicemail() -> None:
    assert CallOutcome("completed", 95, "human").describe() == "call 1 min 35 s, completed (human)"
    assert CallOutcome("completed", 40, "machine_end_beep").describe() == "call 40 s, completed (voicemail)"
    assert CallOutcome("no-answer", 0, None).describe() == "call, no-answer"


# -- call log rows -------------------------------------------------------------------------------------

GENERIC_ROW = {
    "id": "c-1",
    "started_at": "2026-11-05T15:10:00Z",
    "from": "(512) 555-0134",
    "to": "+15125550100",
    "direction": "inbound",
    "duration_s": "95",
    "status": "completed",
    "answered_by": "",
}


def test_a_generic_row_reads_with_its_offset() -> None:
    parsed = parse_call_row(GENERIC_ROW, GENERIC, "US", CHICAGO)
    assert parsed.started_at == datetime(2026, 11, 5, 15, 10, tzinfo=UTC)
    assert (parsed.direction, parsed.duration_s, parsed.status, parsed.answered_by) == (
        "inbound",
        95,
        "completed",
        None,
    )


@pytest.mark.parametrize(
    ("written", "region", "expected"),
    [
        ("2026-11-05 09:10", "US", datetime(2026, 11, 5, 15, 10, tzinfo=UTC)),  # naive: store time
        ("11/05/2026 9:10 AM", "US", datetime(2026, 11, 5, 15, 10, tzinfo=UTC)),
        ("11/05/26 09:10:00", "US", datetime(2026, 11, 5, 15, 10, tzinfo=UTC)),
        ("05/11/2026 09:10", "GB", datetime(2026, 11, 5, 15, 10, tzinfo=UTC)),
        ("05.11.2026 09:10", "DE", datetime(2026, 11, 5, 15, 10, tzinfo=UTC)),
    ],
)
def test_times_in_the_regions_usual_formats_are_store_local(
    written: str, region: str, expected: datetime
) -> None:
    parsed = parse_call_row(GENERIC_ROW | {"started_at": written}, GENERIC, region, CHICAGO)
    assert parsed.started_at == expected


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        ("status", "ringing", "column status: 'ringing' is not a finished call's status"),
        ("direction", "sideways", "column direction: 'sideways' is neither inbound nor outbound"),
        ("duration_s", "long", "column duration_s: cannot read duration 'long'"),
        ("duration_s", "999999:00:00", "column duration_s: duration '999999:00:00' is out of range"),
        ("duration_s", "nan", "column duration_s: duration 'nan' is out of range"),
        ("duration_s", "-5", "column duration_s: duration '-5' is out of range"),
        ("started_at", "yesterday", "column started_at: cannot read time 'yesterday'"),
        ("id", " ", "column id: empty call id"),
    ],
)
def test_a_bad_cell_names_its_column(column: str, value: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_call_row(GENERIC_ROW | {column: value}, GENERIC, "US", CHICAGO)


def test_durations_as_clocks_and_statuses_as_words() -> None:
    row = GENERIC_ROW | {"duration_s": "1:02:03", "status": "No Answer"}
    parsed = parse_call_row(row, GENERIC, "US", CHICAGO)
    assert (parsed.duration_s, parsed.status) == (3723, "no-answer")


CALLRAIL_HEADER = [
    "Id",
    "Start Time",
    "Customer Phone Number",
    "Tracking Phone Number",
    "Business Phone Number",
]
CALLRAIL_HEADER += ["Direction", "Duration", "Answered", "Voicemail", "Call Type"]


def callrail(*values: str) -> dict[str, str]:
    return dict(zip(map(column_key, CALLRAIL_HEADER), values, strict=True))


def test_callrail_headers_are_recognised_in_any_case() -> None:
    assert call_csv_dialect([column_key(h) for h in CALLRAIL_HEADER]) == CALLRAIL
    assert (
        call_csv_dialect(
            [column_key(h) for h in ("ID", "started_at", "From", "To")]
            + ["direction", "duration_s", "status", "answered_by"]
        )
        == GENERIC
    )
    with pytest.raises(ParseError, match="lacks column"):
        call_csv_dialect(["id", "when"])


def test_callrail_rows_read_customer_tracking_number_and_outcome() -> None:
    # Given an answered inbound call forwarded to Dana, a voicemail left for us, an unanswered outbound call
    answered = callrail(
        "CAL1",
        "2026-11-05 09:10",
        "512-555-0134",
        "512-555-0100",
        "512-555-0101",
        "inbound",
        "95",
        "true",
        "false",
        "answered",
    )
    voicemail = callrail(
        "CAL2",
        "2026-11-05 10:00",
        "512-555-0177",
        "512-555-0100",
        "",
        "inbound",
        "62",
        "false",
        "true",
        "voicemail",
    )
    unanswered = callrail(
        "CAL3",
        "2026-11-05 11:00",
        "512-555-0188",
        "512-555-0100",
        "",
        "outbound",
        "0",
        "false",
        "false",
        "outbound",
    )
    first, second, third = (
        parse_call_row(r, CALLRAIL, "US", CHICAGO) for r in (answered, voicemail, unanswered)
    )
    # Then the customer is the sender inbound and the recipient outbound; the forwarded number was dialed
    assert (first.sender, first.recipient, first.dialed) == ("512-555-0134", "512-555-0100", "512-555-0101")
    assert CallOutcome(first.status, first.duration_s, first.answered_by).is_conversation(30)
    # And a voicemail is completed by a machine; an unanswered call of ours is no-answer
    assert (second.status, second.answered_by) == ("completed", "machine")
    assert not CallOutcome(second.status, second.duration_s, second.answered_by).is_conversation(30)
    assert (third.recipient, third.status, third.direction) == ("512-555-0188", "no-answer", "outbound")


def test_a_call_between_associates_is_neither_touch_nor_contact() -> None:
    internal = MessageFact(
        next(_ids), RECEIVED + timedelta(minutes=5), "outbound", "internal", "call", conversation=True
    )
    result = state(internal)
    assert (result.first_touch_at, result.contacted) == (None, False)


# -- who is on a call ----------------------------------------------------------------------------------

DESK, MOBILE, MAIN, EVA = "+15125550101", "+15125559101", "+15125550100", "+15125550134"
WHO = Directory(
    stores={},
    associate_store={7: 1},
    associate_names={"dana lee": 7},
    identities={("phone", DESK): [7], ("phone", MOBILE): [7]},
    default_store=None,
    by_id={},
)


def parties(sender: str, recipient: str, direction: str, dialed: str | None = None) -> CallParties:
    call = ParsedCall("c", RECEIVED, sender, recipient, dialed, direction, 60, "completed", None)
    return call_parties(call, WHO, "US")


def test_a_forwarded_call_is_the_customers_with_the_associate_it_rang() -> None:
    found = parties("(512) 555-0134", MAIN, "inbound", dialed=MOBILE)
    assert (found.direction, found.customer, found.associate_id, found.kind) == ("inbound", EVA, 7, "human")
    assert found.keys() == {"from": [EVA], "to": [MOBILE]}


def test_click_to_call_rings_the_associate_first_then_dials_the_customer() -> None:
    # Twilio calls Dana's desk (the parent leg), then <Dial>s Eva (the child leg)
    found = parties(MAIN, DESK, "outbound-api", dialed=EVA)
    assert (found.direction, found.customer, found.sender) == ("outbound", EVA, DESK)
    assert found.keys() == {"from": [DESK], "to": [EVA]}


def test_a_softphone_call_is_ours_and_a_hidden_number_is_nobodys() -> None:
    softphone = parties("client:dana", MAIN, "inbound", dialed=EVA)
    assert (softphone.direction, softphone.customer) == ("outbound", EVA)
    hidden = parties("Anonymous", MAIN, "inbound")
    assert (hidden.direction, hidden.customer, hidden.keys()) == ("inbound", None, {"from": [], "to": []})


def test_a_call_between_our_own_phones_is_internal() -> None:
    assert parties(DESK, MOBILE, "outbound").kind == "internal"


# -- configuration -------------------------------------------------------------------------------------


def test_twilio_calls_is_its_own_source_type_with_the_twilio_keys() -> None:
    table = {"name": "calls", "type": "twilio-calls", "account_sid": "AC" + "5e" * 16}
    found = settings_from_dict(
        {"sources": [table | {"auth_token_env": "T", "numbers": ["+1 (512) 555-0100"]}]}
    )
    (calls,) = found.sources
    assert isinstance(calls, TwilioCallsSourceConfig) and calls.numbers == ["+15125550100"]
    with pytest.raises(ConfigError, match="give auth_token_env/_file, or api_key_sid"):
        settings_from_dict({"sources": [table]})


def test_min_call_seconds_defaults_to_30_and_is_read_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert settings_from_dict({}).contact.min_call_seconds == 30
    path = tmp_path / "replywatch.toml"
    path.write_text("[contact]\nmin_call_seconds = 45\n", encoding="utf-8")
    assert load_settings(path, environ={}).contact.min_call_seconds == 45
    overridden = load_settings(path, environ={"REPLYWATCH_CONTACT_MIN_CALL_SECONDS": "20"})
    assert overridden.contact.min_call_seconds == 20
    with pytest.raises(
        ConfigError, match=r"contact\.min_call_seconds: Input should be greater than or equal"
    ):
        settings_from_dict({"contact": {"min_call_seconds": -1}})
