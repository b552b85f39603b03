"""The fake Twilio Messages API held to Twilio's OpenAPI spec and read by the real SDK, so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fakes.twilio_api import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    FakeTwilio,
    list_pages,
    parse_target,
    running,
)
from fakes.twilio_spec import list_validator
from openapi_schema_validator import OAS30Validator
from twilio.rest import Client

OURS, EVA, GIL = "+15125550100", "+15125550134", "+15125550177"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running() as fake:
        yield fake


@pytest.fixture(scope="module")
def validator() -> OAS30Validator:
    return list_validator("twilio-messages-openapi.json", "Messages", "api.v2010.account.message")


def conversation(fake: FakeTwilio) -> None:
    """Every shape of record: inbound, delivered and failed outbound, MMS, queued, a long text."""
    fake.add(at(5, 15, 10), OURS, EVA, "Hi Eva, Dana here", direction="outbound-api")
    fake.add(at(5, 15, 45), EVA, OURS, "sure, call me at 5")
    fake.add(
        at(5, 23, 59, 59), OURS, GIL, "Hi Gil", direction="outbound-api", status="failed", error_code=30006
    )
    fake.add(at(6, 0, 0), GIL, OURS, "", num_media=2)
    fake.add(at(6, 9, 30), OURS, GIL, "Sorry, " + "long text " * 40, direction="outbound-reply")
    fake.add(None, OURS, EVA, "Saturday?", direction="outbound-api", status="queued")


def get(fake: FakeTwilio, uri: str, auth: tuple[str, str] = (ACCOUNT_SID, AUTH_TOKEN)) -> requests.Response:
    return requests.get(f"{fake.base_url}{uri}", auth=auth, timeout=10)


def pages(fake: FakeTwilio, query: str) -> Iterator[dict[str, Any]]:
    return list_pages(fake, "Messages", query)


@pytest.mark.parametrize(
    "query",
    [
        "PageSize=2",
        "To=%2B15125550100&PageSize=1",
        "From=%2B15125550100&DateSent%3E=2026-11-05&PageSize=2",
        "DateSent%3C=2026-11-05&PageSize=1000",
        "DateSent=2026-11-06",
        "To=%2B19995550000",
    ],
)
def test_every_page_matches_the_spec(fake: FakeTwilio, validator: OAS30Validator, query: str) -> None:
    # Given a conversation with every shape of record
    conversation(fake)
    # When a listing is paged through to its end
    for body in pages(fake, query):
        # Then each page validates against Twilio's schema, strictly
        validator.validate(body)
        # And page links are relative, carry a PageToken, and dates are RFC 2822, counts strings
        assert body["first_page_uri"].startswith("/2010-04-01/Accounts/")
        if body["next_page_uri"]:
            assert (
                body["next_page_uri"].startswith("/2010-04-01/") and "PageToken=PA" in body["next_page_uri"]
            )
        for message in body["messages"]:
            assert isinstance(message["num_media"], str) and isinstance(message["num_segments"], str)


def test_the_sdk_follows_next_page_uri_newest_first(fake: FakeTwilio) -> None:
    # Given six messages
    conversation(fake)
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    # When the SDK streams them two per page
    listed = list(client.api.account.messages.stream(page_size=2))
    # Then it sees each once, newest first (the queued one, undated, on top), over three requests
    assert [m.body for m in listed][:2] == ["Saturday?", "Sorry, " + "long text " * 40]
    assert len({m.sid for m in listed}) == 6
    assert [m.date_sent for m in listed[1:]] == sorted((m.date_sent for m in listed[1:]), reverse=True)
    tokens = [parse_target(t)[1].get("PageToken") for t in fake.requests]
    assert tokens[0] is None and all(t and t.startswith("PA") for t in tokens[1:]) and len(tokens) == 3


def test_day_filters_take_whole_gmt_days(fake: FakeTwilio) -> None:
    # Given messages at the last second of the 5th and the first second of the 6th (GMT)
    conversation(fake)
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    messages = client.api.account.messages
    # When filtered by day, as the SDK sends a date or a datetime
    on_6th = {m.body for m in messages.list(date_sent_after="2026-11-06")}
    up_to_5th = {m.body for m in messages.list(date_sent_before=datetime(2026, 11, 5, 12, tzinfo=UTC))}
    # Then a day means the whole GMT day, both ends included, and undated messages are left out
    assert on_6th == {"", "Sorry, " + "long text " * 40}
    assert up_to_5th == {"Hi Eva, Dana here", "sure, call me at 5", "Hi Gil"}


def test_a_previous_page_link_leads_back(fake: FakeTwilio) -> None:
    conversation(fake)
    first, second = list(pages(fake, "PageSize=2"))[:2]
    back = get(fake, second["previous_page_uri"]).json()
    assert [m["sid"] for m in back["messages"]] == [m["sid"] for m in first["messages"]]


def test_paging_by_number_without_the_token_is_refused(fake: FakeTwilio) -> None:
    # Given a client that builds page URLs itself instead of following next_page_uri; Then Twilio says no
    response = get(fake, f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=2&Page=1")
    assert response.status_code == 400 and response.json()["code"] == 20001


def test_credentials(fake: FakeTwilio) -> None:
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert get(fake, uri, auth=(API_KEY_SID, API_KEY_SECRET)).status_code == 200
    refused = get(fake, uri, auth=(ACCOUNT_SID, "wrong"))
    assert refused.status_code == 401
    assert refused.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_faults_and_arrivals_are_served_in_order(fake: FakeTwilio) -> None:
    # Given a 429 with Retry-After, then a 500, then a listing during which a message arrives
    conversation(fake)
    fake.fail(429, retry_after="2")
    fake.fail(500)

    def arrive(page: int) -> None:
        if page == 1 and len(fake) == 6:
            fake.add(at(7, 8), EVA, OURS, "new")

    fake.on_page = arrive
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=3"
    throttled = get(fake, uri)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    assert get(fake, uri).status_code == 500
    # Then the listing in progress goes on below its token, and the newcomer heads the next listing
    bodies = [m["body"] for page in pages(fake, "PageSize=3") for m in page["messages"]]
    assert "new" not in bodies and len(bodies) == 6
    assert [m["body"] for m in next(pages(fake, "PageSize=2"))["messages"]] == ["Saturday?", "new"]


def test_a_slow_page_is_slow(fake: FakeTwilio) -> None:
    fake.slow(0.3)
    started = datetime.now(UTC)
    assert get(fake, f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json").status_code == 200
    assert datetime.now(UTC) - started >= timedelta(seconds=0.3)
