"""How the Twilio source talks to the API: credentials, base_url, edge/region, retries, slow pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fakes.twilio_api import ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN, FakeTwilio, running

from replywatch.config import TwilioSourceConfig
from replywatch.errors import PermanentSourceError, TransientSourceError
from replywatch.sources.twilio import TwilioSource
from replywatch.sources.twilio_http import RetryPolicy

OURS, EVA = "+15125550100", "+15125550134"
QUICK = RetryPolicy(attempts=4, initial_s=0.01, max_wait_s=0.1, timeout_s=0.5)


@pytest.fixture(autouse=True)
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("TEST_TWILIO_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TEST_TWILIO_KEY_SECRET", API_KEY_SECRET)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with running() as fake:
        week(fake)
        yield fake


def week(fake: FakeTwilio) -> None:
    start = datetime(2026, 11, 2, 15, tzinfo=UTC)
    for n in range(10):
        fake.add(start + timedelta(hours=13 * n), OURS, EVA, f"text {n}", direction="outbound-api")


def source(fake: FakeTwilio, **keys: object) -> TwilioSource:
    table = {"name": "texts", "type": "twilio", "account_sid": ACCOUNT_SID, "base_url": fake.base_url}
    credentials = {"auth_token_env": "TEST_TWILIO_TOKEN"} if "api_key_sid" not in keys else {}
    return TwilioSource(TwilioSourceConfig.model_validate(table | credentials | keys), QUICK, page_size=3)


def bodies(src: TwilioSource) -> list[str]:
    return [str(item.payload["body"]) for item in src.items({})]


def test_items_come_oldest_first_with_a_day_cursor(fake: FakeTwilio) -> None:
    items = list(source(fake).items({}))
    assert [i.payload["body"] for i in items] == [f"text {n}" for n in range(10)]
    assert items[0].cursor == ("twilio", '{"day":"2026-11-02"}')
    assert items[-1].cursor == ("twilio", '{"day":"2026-11-07"}')


def test_since_bounds_the_first_poll(fake: FakeTwilio) -> None:
    assert bodies(source(fake, since="2026-11-06")) == ["text 7", "text 8", "text 9"]


def test_an_api_key_and_a_path_prefixed_base_url_with_edge_and_region_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a Twilio-compatible provider under a path, an API key, and TWILIO_EDGE/REGION in the environment
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    with running(prefix="/api/laml") as fake:
        week(fake)
        src = source(fake, api_key_sid=API_KEY_SID, api_key_secret_env="TEST_TWILIO_KEY_SECRET")
        # When read three to a page; Then every page is fetched from the provider, under its path
        assert len(bodies(src)) == 10
        assert len(fake.requests) == 4 and all(t.startswith("/api/laml/2010-04-01/") for t in fake.requests)


def test_server_errors_and_a_slow_page_are_retried(fake: FakeTwilio) -> None:
    # Given two 500s and then a page slower than the read timeout
    fake.fail(500, times=2)
    fake.slow(1.0)
    # When read; Then the source retries past them and reads everything
    assert len(bodies(source(fake))) == 10
    assert len(fake.requests) == 4 + 3


def test_a_network_failure_is_transient(fake: FakeTwilio) -> None:
    src = source(fake)
    fake.stop()
    with pytest.raises(TransientSourceError, match="cannot reach Twilio after 4 tries"):
        bodies(src)


def test_a_wait_between_retries_ends_when_the_daemon_stops(fake: FakeTwilio) -> None:
    # Given a source whose retries would wait up to a minute, and the daemon's stop event
    src = TwilioSource(source(fake).cfg, RetryPolicy(attempts=8, initial_s=30, max_wait_s=60, timeout_s=0.5))
    src.interrupt = threading.Event()
    fake.stop()
    # When the daemon stops while the source waits to retry
    threading.Timer(0.3, src.interrupt.set).start()
    # Then the wait ends with a transient error instead of sleeping on
    with pytest.raises(TransientSourceError, match="stopped while waiting to retry"):
        bodies(src)


def test_a_wrong_base_url_is_permanent(fake: FakeTwilio) -> None:
    with pytest.raises(
        PermanentSourceError,
        match=r"no such account or API path \(check account_sid and base_url\): HTTP 404",
    ):
        bodies(source(fake, base_url=f"{fake.base_url}/wrong"))


def test_a_missing_secret_is_permanent(fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_TWILIO_TOKEN")
    with pytest.raises(PermanentSourceError, match="TEST_TWILIO_TOKEN is not set"):
        bodies(source(fake))


def test_unsent_texts_wait_and_a_failed_one_is_read_at_its_creation() -> None:
    # Given a queued text, a canceled scheduled one, and one that failed before Twilio sent it
    with running() as fake:
        fake.add(None, OURS, EVA, "queued", direction="outbound-api", status="queued")
        fake.add(None, OURS, EVA, "canceled", direction="outbound-api", status="canceled")
        failed = fake.add(
            None, OURS, EVA, "failed", direction="outbound-api", status="failed", error_code=30007
        )
        # When read; Then only the failed one comes, with its status and error
        (item,) = source(fake).items({})
        assert (item.external_id, item.payload["status"], item.payload["error_code"]) == (
            failed,
            "failed",
            "30007",
        )
