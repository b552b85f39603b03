"""The fake Twilio Calls API held to Twilio's OpenAPI spec and read by the real SDK, so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, list_pages, parse_target, running
from fakes.twilio_spec import list_validator
from mailbuild import at
from openapi_schema_validator import OAS30Validator
from twilio.rest import Client

OURS, EVA, GIL, DANA_CELL = "+15125550100", "+15125550134", "+15125550177", "+15125550101"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running() as fake:
        yield fake


@pytest.fixture(scope="module")
def validator() -> OAS30Validator:
    return list_validator("twilio-calls-openapi.json", "Calls", "api.v2010.account.call")


def call_log(fake: FakeTwilio) -> dict[str, str]:
    """Every shape of call: ours answered by a person and by a machine, a missed one, a forwarded one
    (parent and child leg), one still ringing, one queued."""
    sids = {"dana": fake.add_call(at(5, 15, 10), OURS, EVA, "outbound-api", "completed", 95, "human")}
    sids["voicemail"] = fake.add_call(
        at(5, 16), OURS, GIL, "outbound-api", "completed", 40, "machine_end_beep"
    )
    sids["missed"] = fake.add_call(at(5, 23, 59) + timedelta(seconds=59), GIL, OURS, "inbound", "no-answer")
    sids["parent"] = fake.add_call(at(6, 9, 30), EVA, OURS, "inbound", "completed", 130)
    sids["child"] = fake.add_call(
        at(6, 9, 30) + timedelta(seconds=4),
        OURS,
        DANA_CELL,
        "outbound-dial",
        "completed",
        120,
        parent=sids["parent"],
    )
    sids["ringing"] = fake.add_call(at(6, 10), GIL, OURS, "inbound", "ringing")
    sids["queued"] = fake.add_call(None, OURS, GIL, "outbound-api", "queued")
    return sids


def pages(fake: FakeTwilio, query: str) -> Iterator[dict[str, Any]]:
    return list_pages(fake, "Calls", query)


@pytest.mark.parametrize(
    "query",
    [
        "PageSize=2",
        "To=%2B15125550100&PageSize=1",
        "StartTime%3E=2026-11-06&PageSize=2",
        "StartTime%3C=2026-11-05&PageSize=1000",
        "Status=completed",
        "ParentCallSid=CA00000000000000000000000000000004",
    ],
)
def test_every_page_matches_the_spec(fake: FakeTwilio, validator: OAS30Validator, query: str) -> None:
    # Given a call log with every shape of call
    call_log(fake)
    listed = 0
    # When a listing is paged through to its end
    for body in pages(fake, query):
        # Then each page validates against Twilio's schema, strictly, and its links are relative
        validator.validate(body)
        assert body["first_page_uri"].startswith("/2010-04-01/Accounts/")
        listed += len(body["calls"])
    assert listed >= 1


def test_the_sdk_lists_calls_newest_first_with_their_legs(fake: FakeTwilio) -> None:
    # Given a call log, one of whose calls was forwarded to Dana's mobile
    sids = call_log(fake)
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    # When the SDK lists them two a page, and the forwarded call's legs by parent
    listed = list(client.api.account.calls.stream(page_size=2))
    legs = client.api.account.calls.list(parent_call_sid=sids["parent"])
    # Then each call is seen once, the queued one (no start time) on top, then newest first
    assert len({c.sid for c in listed}) == 7 and listed[0].sid == sids["queued"]
    assert [c.start_time for c in listed[1:]] == sorted((c.start_time for c in listed[1:]), reverse=True)
    # And durations are strings only once a call ended, and a child leg names its parent
    by_sid = {c.sid: c for c in listed}
    assert by_sid[sids["dana"]].duration == "95" and by_sid[sids["ringing"]].duration is None
    assert by_sid[sids["missed"]].duration == "0"
    assert [(c.sid, c.parent_call_sid, c.to) for c in legs] == [(sids["child"], sids["parent"], DANA_CELL)]
    tokens = [parse_target(t)[1].get("PageToken") for t in fake.requests[:-1]]
    assert tokens[0] is None and all(t and t.startswith("PA") for t in tokens[1:]) and len(tokens) == 4


def test_start_time_filters_take_whole_gmt_days(fake: FakeTwilio) -> None:
    call_log(fake)
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    calls = client.api.account.calls
    on_6th = {c.status for c in calls.list(start_time_after=datetime(2026, 11, 6, 18, tzinfo=UTC))}
    up_to_5th = {c.answered_by for c in calls.list(start_time_before=datetime(2026, 11, 5, tzinfo=UTC))}
    assert on_6th == {"completed", "ringing"}
    assert up_to_5th == {"human", "machine_end_beep", None}


def test_a_call_ends_while_it_is_listed(fake: FakeTwilio) -> None:
    # Given a call still ringing; When it ends; Then the next listing shows how it ended
    sids = call_log(fake)
    fake.end_call(sids["ringing"], "completed", 42)
    record = fake.calls.records[sids["ringing"]]
    assert (record["status"], record["duration"]) == ("completed", "42")
    response = requests.get(
        f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json?Status=ringing",
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=10,
    )
    assert response.json()["calls"] == []
