"""Contact rules for one lead: touches, replies, implied touches, opt-outs, noise and durations."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from replywatch.config import StoreConfig
from replywatch.domain.business_hours import BusinessHours
from replywatch.domain.contact import ContactState, MessageFact, contact_state
from replywatch.domain.vocabulary import NOISE_KINDS

RECEIVED = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
_ids = itertools.count(1)


def at(minutes: float) -> datetime:
    return RECEIVED + timedelta(minutes=minutes)


def outbound(
    minutes: float, channel: str = "email", *, kind: str = "human", delivered: bool = True
) -> MessageFact:
    return MessageFact(next(_ids), at(minutes), "outbound", kind, channel, counts_as_touch=delivered)


def inbound(
    minutes: float, kind: str = "human", channel: str = "email", *, is_reply: bool = False
) -> MessageFact:
    return MessageFact(next(_ids), at(minutes), "inbound", kind, channel, is_reply=is_reply)


def state(*messages: MessageFact, hours: BusinessHours | None = None) -> ContactState:
    return contact_state(RECEIVED, messages, hours)


def test_touch_then_reply_is_contact_with_both_durations() -> None:
    # Given our email 10 minutes after the lead and the customer's answer 90 minutes after it
    reply = inbound(90)
    # When the contact state is decided
    result = state(outbound(10), reply)
    # Then the lead is contacted by email with both durations measured from received_at
    assert result.first_touch_at == at(10)
    assert result.contact_at == at(90)
    assert result.contact_channel == "email"
    assert result.contact_message_id == reply.id
    assert (result.first_response_s, result.time_to_contact_s) == (600, 5400)
    assert result.opted_out_at is None


def test_without_hours_business_durations_equal_wall_clock() -> None:
    result = state(outbound(10), inbound(90))
    assert result.first_response_business_s == 600
    assert result.time_to_contact_business_s == 5400


def test_business_durations_use_the_stores_hours() -> None:
    # Given a store open 09:00-20:00 in Chicago, closed Sunday, and a Friday 19:00 lead answered Monday 10:00
    open_days = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat"), "09:00-20:00")
    hours = BusinessHours.from_store(
        StoreConfig(name="Main Street Honda", hours={**open_days, "sun": "closed"})
    )
    received = datetime(2026, 1, 9, 19, tzinfo=ZoneInfo("America/Chicago"))
    touch = MessageFact(1, received + timedelta(minutes=30), "outbound", "human", "sms")
    reply = MessageFact(2, received + timedelta(days=2, hours=15), "inbound", "human", "sms")
    # When the contact state is decided
    result = contact_state(received, [touch, reply], hours)
    # Then the business-hours time to contact skips the closed night and Sunday
    assert result.time_to_contact_s == (2 * 24 + 15) * 3600
    assert result.time_to_contact_business_s == (1 + 11 + 1) * 3600
    assert result.first_response_business_s == 30 * 60


def test_no_messages_means_not_contacted() -> None:
    result = state()
    assert result.contact_at is None and result.first_touch_at is None
    assert result.time_to_contact_s is None and result.time_to_contact_business_s is None
    assert result.first_response_s is None and result.first_response_business_s is None


def test_reply_to_a_follow_up_we_cannot_see_is_contact_without_a_touch() -> None:
    # Given only an inbound that carries reply headers (our follow-up went out from a CRM)
    result = state(inbound(45, is_reply=True))
    # Then the lead is contacted and first_touch_at stays empty
    assert result.contact_at == at(45)
    assert result.first_touch_at is None
    assert result.first_response_s is None
    assert result.time_to_contact_s == 45 * 60


def test_implied_touch_keeps_the_later_visible_touch_as_first_touch() -> None:
    # Given a reply-headed inbound before the first touch we can see
    result = state(inbound(20, is_reply=True), outbound(60))
    # Then contact is the reply and first_touch_at is the visible touch
    assert result.contact_at == at(20)
    assert result.first_touch_at == at(60)


def test_customer_writing_twice_before_a_touch_is_not_contact() -> None:
    # Given two plain inbound messages and no touch yet
    result = state(inbound(5), inbound(30))
    # Then there is no contact
    assert result.contact_at is None
    assert result.contact_message_id is None


def test_contact_is_the_first_reply_after_the_touch() -> None:
    # Given the customer writing twice, then our touch, then two more replies
    first_after = inbound(120, channel="sms")
    result = state(inbound(5), inbound(30), outbound(100), first_after, inbound(200))
    # Then contact is the first reply after the touch
    assert result.contact_at == at(120)
    assert result.contact_message_id == first_after.id


def test_reply_at_the_same_instant_as_the_touch_is_contact() -> None:
    assert state(outbound(10), inbound(10)).contact_at == at(10)


def test_opt_out_is_never_contact_and_is_recorded_apart() -> None:
    # Given our touch and an SMS STOP
    result = state(outbound(10, "sms"), inbound(20, "opt_out", "sms"))
    # Then the lead is opted out, not contacted
    assert result.opted_out_at == at(20)
    assert result.contact_at is None


def test_opt_out_after_contact_keeps_the_contact() -> None:
    result = state(outbound(10, "sms"), inbound(20, channel="sms"), inbound(30, "opt_out", "sms"))
    assert result.contact_at == at(20)
    assert result.opted_out_at == at(30)


def test_opt_in_clears_an_earlier_opt_out() -> None:
    result = state(outbound(10, "sms"), inbound(20, "opt_out", "sms"), inbound(40, "opt_in", "sms"))
    assert result.opted_out_at is None


def test_yes_to_our_text_is_contact() -> None:
    # Given our text "still interested?" and the customer's "YES", which the rules call opt_in
    answer = inbound(30, "opt_in", "sms")
    # When decided
    result = state(outbound(10, "sms"), answer)
    # Then it is a person answering: contact by SMS
    assert (result.contact_message_id, result.contact_channel) == (answer.id, "sms")


def test_opt_out_after_opt_in_counts_again_with_the_latest_time() -> None:
    messages = (inbound(20, "opt_out", "sms"), inbound(40, "opt_in", "sms"), inbound(60, "opt_out", "sms"))
    assert state(*messages).opted_out_at == at(60)


def test_outbound_opt_in_does_not_clear_an_opt_out() -> None:
    result = state(inbound(20, "opt_out", "sms"), outbound(40, "sms", kind="opt_in"))
    assert result.opted_out_at == at(20)


def test_auto_reply_after_a_touch_is_not_contact() -> None:
    # Given an out-of-office answer to our touch, then a real reply
    result = state(outbound(10), inbound(11, "auto_reply", is_reply=True), inbound(300))
    # Then contact is the real reply
    assert result.contact_at == at(300)


def test_noise_never_counts_as_touch_or_contact() -> None:
    noise = sorted(NOISE_KINDS | {"lead"})
    messages = [outbound(i, kind=k) for i, k in enumerate(noise)]
    messages += [inbound(100 + i, k, is_reply=True) for i, k in enumerate(noise)]
    result = state(*messages)
    assert result.first_touch_at is None
    assert result.contact_at is None


def test_failed_outbound_is_not_a_touch() -> None:
    # Given an SMS that never reached the customer, a plain inbound, then a delivered email
    result = state(
        outbound(10, "sms", delivered=False), inbound(20, channel="sms"), outbound(50), inbound(70)
    )
    # Then the first touch is the delivered email and contact the reply after it
    assert result.first_touch_at == at(50)
    assert result.contact_at == at(70)
    assert result.contact_channel == "email"


def test_sms_contact_reports_the_sms_channel() -> None:
    result = state(outbound(10, "email"), inbound(15, channel="sms"))
    assert result.contact_channel == "sms"


def test_messages_in_any_order_give_the_same_state() -> None:
    # Given the same messages shuffled
    messages = [inbound(5), outbound(100), inbound(120, channel="sms"), inbound(30, "opt_out")]
    # When decided in two orders
    forward, backward = state(*messages), state(*reversed(messages))
    # Then the outcome is the same
    assert forward == backward
    assert forward.contact_at == at(120)
    assert forward.first_touch_at == at(100)


def test_same_instant_ties_are_broken_by_message_id() -> None:
    # Given an opt-out and an opt-in at the same instant, the opt-in stored later
    stop = MessageFact(1, at(20), "inbound", "opt_out", "sms")
    start = MessageFact(2, at(20), "inbound", "opt_in", "sms")
    # Then the opt-in wins whatever the input order
    assert state(start, stop).opted_out_at is None


def test_touch_before_received_at_clamps_durations_to_zero() -> None:
    # Given a touch and reply timestamped before the lead (clock skew between systems)
    result = state(outbound(-10), inbound(-5))
    assert (result.first_response_s, result.time_to_contact_s) == (0, 0)
    assert (result.first_response_business_s, result.time_to_contact_business_s) == (0, 0)


def test_durations_floor_to_whole_seconds() -> None:
    result = state(outbound(10), inbound(10 + 59.9 / 60))
    assert result.time_to_contact_s == 600 + 59
