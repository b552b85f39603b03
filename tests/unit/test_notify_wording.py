"""What each event says to a person in Slack, Teams and email: a headline of our words, the facts of the
event with its times in the store's time zone."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from replywatch.domain import events
from replywatch.notify.wording import MAX_VALUE, Fact, describe

CHICAGO = ZoneInfo("America/Chicago")
DENVER = ZoneInfo("America/Denver")


def lead_event(kind: str, extra: dict[str, Any] | None = None, **lead: Any) -> dict[str, Any]:
    """A lead of Main Street Honda received at 08:59 Chicago time on Monday 7 Dec 2026."""
    snapshot = {
        "lead_id": "12345",
        "store": "Main Street Honda",
        "source": "cars.com",
        "associate": "Dana Lee",
        "received_at": "2026-12-07T14:59:00Z",
        "first_touch_at": None,
        "contacted": False,
        "contact_at": None,
        "contact_channel": None,
        "time_to_contact_s": None,
        "opted_out": False,
    }
    snapshot.update(lead)
    body = {"id": "ev-1", "type": kind, "occurred_at": "2026-12-07T15:14:00Z", "lead": snapshot}
    return body | (extra or {})


def facts(*pairs: tuple[str, str]) -> tuple[Fact, ...]:
    return tuple(Fact(label, value) for label, value in pairs)


LEAD_FACTS = (
    ("Store", "Main Street Honda"),
    ("Lead", "12345"),
    ("Source", "cars.com"),
    ("Associate", "Dana Lee"),
    ("Received", "Mon 7 Dec 2026 08:59 CST"),
)


def test_an_untouched_lead_says_how_long_it_has_waited_in_open_hours() -> None:
    words = describe(lead_event(events.LEAD_UNTOUCHED, {"waited_minutes": 15}), CHICAGO)
    assert words.headline == "Lead waiting 15 min with no touch"
    assert words.summary == "Lead waiting 15 min with no touch · Main Street Honda · lead 12345"
    assert words.facts == facts(*LEAD_FACTS, ("Waited", "15 min of open hours"))


def test_an_escalation_says_so_first() -> None:
    words = describe(lead_event(events.LEAD_UNTOUCHED_ESCALATED, {"waited_minutes": 65}), CHICAGO)
    assert words.headline == "Escalation: lead waiting 1 h 05 min with no touch"
    assert words.facts[-1] == Fact("Waited", "1 h 05 min of open hours")


def test_a_first_touch_says_how_soon_it_came() -> None:
    words = describe(lead_event(events.LEAD_TOUCHED, first_touch_at="2026-12-07T15:03:00Z"), CHICAGO)
    assert words.headline == "Lead touched 4 min after it arrived"
    assert words.facts == facts(*LEAD_FACTS, ("First touch", "Mon 7 Dec 2026 09:03 CST"))


def test_a_contact_says_when_by_which_channel_and_how_long_it_took() -> None:
    body = lead_event(
        events.LEAD_CONTACTED,
        first_touch_at="2026-12-07T15:03:00Z",
        contacted=True,
        contact_at="2026-12-07T15:20:00Z",
        contact_channel="sms",
        time_to_contact_s=1260,
    )
    words = describe(body, CHICAGO)
    assert words.headline == "Lead contacted 21 min after it arrived"
    assert words.facts == facts(
        *LEAD_FACTS,
        ("Contact", "Mon 7 Dec 2026 09:20 CST"),
        ("Channel", "sms"),
        ("Time to contact", "21 min"),
    )


def test_an_opt_out_says_when() -> None:
    words = describe(lead_event(events.LEAD_OPTED_OUT, opted_out=True), CHICAGO)
    assert words.headline == "Customer opted out"
    assert words.facts == facts(*LEAD_FACTS, ("Opted out", "Mon 7 Dec 2026 09:14 CST"))


def test_a_missed_call_says_when_and_how_it_ended() -> None:
    call = {"at": "2026-12-07T16:02:30Z", "status": "no-answer", "duration_s": 12}
    words = describe(lead_event(events.LEAD_MISSED_CALL, {"call": call}), CHICAGO)
    assert words.headline == "Missed call from the customer"
    assert words.facts == facts(
        *LEAD_FACTS, ("Call", "Mon 7 Dec 2026 10:02 CST"), ("Call status", "no-answer, 12 s")
    )


def test_a_failing_source_names_it_its_error_and_since_when() -> None:
    body = {
        "id": "ev-2",
        "type": events.SOURCE_FAILING,
        "occurred_at": "2026-12-07T14:15:00Z",
        "source": "honda-inbox",
        "error": "IMAP: [AUTHENTICATIONFAILED] Invalid credentials",
        "since": "2026-12-07T14:00:00Z",
    }
    words = describe(body, UTC)
    assert words.summary == "Source failing · honda-inbox"
    assert words.facts == facts(
        ("Source", "honda-inbox"),
        ("Failing since", "Mon 7 Dec 2026 14:00 UTC"),
        ("Error", "IMAP: [AUTHENTICATIONFAILED] Invalid credentials"),
    )


def test_a_recovered_source_says_how_long_it_was_down() -> None:
    body = {
        "id": "ev-3",
        "type": events.SOURCE_RECOVERED,
        "occurred_at": "2026-12-07T15:35:00Z",
        "source": "honda-inbox",
        "error": None,
        "since": "2026-12-07T14:00:00Z",
        "down_minutes": 95,
    }
    words = describe(body, UTC)
    assert words.headline == "Source recovered after 1 h 35 min down"
    assert words.facts == facts(
        ("Source", "honda-inbox"), ("Down since", "Mon 7 Dec 2026 14:00 UTC"), ("Down for", "1 h 35 min")
    )


@pytest.mark.parametrize(("count", "headline"), [(1, "1 review item waiting"), (7, "7 review items waiting")])
def test_a_review_backlog_counts_its_items_and_dates_the_oldest_in_the_stores_zone(
    count: int, headline: str
) -> None:
    body = {
        "id": "ev-4",
        "type": events.REVIEW_BACKLOG,
        "occurred_at": "2026-12-07T15:00:00Z",
        "store": "Mountain Toyota",
        "count": count,
        "oldest_at": "2026-12-05T18:30:00Z",
    }
    words = describe(body, DENVER)
    assert words.summary == f"{headline} · Mountain Toyota"
    assert words.facts == facts(("Store", "Mountain Toyota"), ("Oldest", "Sat 5 Dec 2026 11:30 MST"))


def test_summer_times_are_shown_in_daylight_time() -> None:
    words = describe(lead_event(events.LEAD_UNTOUCHED, received_at="2026-07-07T13:59:00Z"), CHICAGO)
    assert Fact("Received", "Tue 7 Jul 2026 08:59 CDT") in words.facts


def test_what_is_unknown_is_left_out_rather_than_shown_empty() -> None:
    words = describe(lead_event(events.LEAD_UNTOUCHED, associate=None, source=None), CHICAGO)
    assert words.headline == "Lead waiting with no touch"
    assert [f.label for f in words.facts] == ["Store", "Lead", "Received"]


def test_data_is_one_line_of_bounded_length() -> None:
    body = lead_event(events.LEAD_UNTOUCHED, store="Main\r\nStreet\tHonda", lead_id="9" * 1000)
    words = describe(body, CHICAGO)
    assert words.facts[0] == Fact("Store", "Main Street Honda")
    assert len(words.facts[1].value) == MAX_VALUE and words.facts[1].value.endswith("…")


def test_every_event_type_has_its_own_words() -> None:
    for kind in events.EVENT_TYPES:
        assert describe({"type": kind}, UTC).headline != "replywatch event", kind


def test_an_event_type_newer_than_this_code_still_says_what_it_is() -> None:
    words = describe({"type": "lead.sold"}, UTC)
    assert (words.headline, words.facts) == ("replywatch event", (Fact("Type", "lead.sold"),))
