"""The digest compares like with like: matured weeks only, the week just ended at equal age, a baseline
that says it is forming; and it lists what waits (untouched leads, replies no lead claims)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from digestbuild import HONDA, add_lead, dealership, local, open_dealership
from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.digest.build import build_digest
from replywatch.digest.render import render
from replywatch.digest.report import report
from replywatch.digest.scope import scope_named, scopes
from replywatch.store.models import Lead, Match, Message, Store

DAY = 86400
W1, W2, W3 = date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)  # Mondays (Chicago is on CST)


def monday_morning(week_after: date) -> datetime:
    """07:00 in Chicago on that Monday: when the digest goes."""
    return local(HONDA, week_after, 7)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_new_installs_first_digest_says_the_baseline_is_forming(db_url: str) -> None:
    # Given a store whose first leads arrived last week
    settings = dealership(db_url)
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        for day in range(3):
            add_lead(
                s, HONDA, local(HONDA, W1 + timedelta(days=day), 10), touch_after=600, contact_after=3600
            )
    # When its first digest is built on the Monday that week ended
    with sessions() as s:
        honda = scope_named(scopes(s, settings), HONDA)
        first = build_digest(s, honda, W1, monday_morning(W2), 4)
        # And again a week later, when that first week has matured
        second = build_digest(s, honda, W2, monday_morning(W3), 4)
    rendered = render(first)
    text = _flat(rendered.text)
    # Then no week is compared with itself, and no 7-day rate is claimed yet
    assert first.headline is None and first.trend == []
    assert rendered.subject == "Contact: no week 7 days old yet · Main Street Honda · week of 2 Nov"
    assert "baseline forming (0 of 4 weeks)" in text
    assert "weeks of" not in text and "pts" not in text.split("so far")[0]
    # And a week later the first matured week is the headline, with the baseline still forming
    assert second.headline_week == W1 and second.headline and second.headline.contact_rate_7d == 1.0
    again = render(second)
    assert (
        again.subject == "Contact 100% (baseline forming, 1 of 4 weeks) · Main Street Honda · week of 2 Nov"
    )
    sentence = _flat(again.text).split("Contact: ", 1)[1].split(".", 1)[0]
    assert sentence.endswith("baseline forming (1 of 4 weeks)") and "pts" not in sentence


def test_the_week_just_ended_is_compared_at_equal_age(db_url: str) -> None:
    # Given two leads in each of two weeks: last week's answered after 1 day; the week before's after
    # 2 days and after 9 days
    settings = dealership(db_url)
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        add_lead(s, HONDA, local(HONDA, W1, 10), contact_after=2 * DAY)
        add_lead(s, HONDA, local(HONDA, W1 + timedelta(days=3), 10), contact_after=9 * DAY)
        for day in (1, 2):
            add_lead(s, HONDA, local(HONDA, W2 + timedelta(days=day), 10), contact_after=DAY)
    # When last week's digest is built on Monday
    with sessions() as s:
        digest = build_digest(s, scopes(s, settings)[0], W2, monday_morning(W3), 4)
    # Then the week before is read as it stood 7 days ago: its 9-day contact had not happened yet
    assert (digest.so_far.contacted, digest.so_far.leads) == (2, 2)
    assert (digest.so_far_before.contacted, digest.so_far_before.leads) == (1, 2)
    assert (
        "The week of 9 Nov so far: 100% · 2 of 2 answered; the week before at the same age: 50% · 1 of 2, "
        "+50 pts." in _flat(render(digest).text)
    )


def _message(
    s: Session, store: str | None, at: datetime, *, lead: Lead | None, sender: str, channel: str
) -> None:
    store_id = s.scalar(select(Store.id).where(Store.name == store)) if store else None
    msg = Message(
        source="inbox", external_id=f"M-{sender}-{at.isoformat()}", channel=channel, direction="inbound",
        kind="human", sent_at=at, ingested_at=at, sender=sender, store_id=store_id,
    )  # fmt: skip
    s.add(msg)
    s.flush()
    if lead is not None:
        s.add(
            Match(message_id=msg.id, lead_id=lead.id, status="matched", score=1.0, reasons=[], decided_at=at)
        )


def test_waiting_leads_unplaced_replies_and_channels_show(db_url: str) -> None:
    # Given last week's leads: one never touched, one touched; a reply matched and one that matched nothing;
    # and the week before, leads answered by email, by text and by phone
    settings = dealership(db_url)
    sessions = open_dealership(settings)
    long_source = "Dealer Website (lead form, trade-in appraisal and finance pre-approval request)"
    with sessions() as s, s.begin():
        for channel in ("email", "sms", "call"):
            lead = add_lead(s, HONDA, local(HONDA, W1, 10), source=long_source, contact_after=3600)
            lead.contact_channel = channel
        add_lead(s, HONDA, local(HONDA, W1, 11), source=long_source)
        waiting = add_lead(s, HONDA, local(HONDA, W2 + timedelta(days=4), 9), associate="Dana Lee")
        waiting.full_name = "Jane Waits"
        touched = add_lead(s, HONDA, local(HONDA, W2 + timedelta(days=4), 10), touch_after=60)
        friday = W2 + timedelta(days=5)
        for hour, lead, sender, channel in (
            (9, touched, "t@x.example", "email"),
            (12, None, "+15125550199", "sms"),
        ):
            _message(s, HONDA, local(HONDA, friday, hour), lead=lead, sender=sender, channel=channel)
        # and a reply that no store claims (it matched no lead, so it has none of a lead's store)
        _message(s, None, local(HONDA, friday, 13), lead=None, sender="who@x.example", channel="email")
    # When last week's digest is built on Monday
    with sessions() as s:
        digest = build_digest(s, scopes(s, settings)[0], W2, monday_morning(W3), 4)
        group = build_digest(s, scope_named(scopes(s, settings), "group"), W2, monday_morning(W3), 4)
    rendered = render(digest)
    # Then the untouched lead waits, named with its source and associate
    assert digest.waiting.total == 1 and digest.waiting.first[0].name == "Jane Waits"
    assert "Fri 13 Nov 9:00 · Jane Waits · AutoTrader · Dana Lee" in rendered.html
    # And the reply that matched nothing is listed; the matched one is not
    assert digest.unplaced.total == 1 and digest.unplaced.first[0].sender == "+15125550199"
    assert "Text from +15125550199" in rendered.html
    # And the reply no store claims shows in the group's digest, which covers every store
    assert group.unplaced.total == 2 and "Email from who@x.example" in render(group).text
    # And contact by channel lists email, text and call, each over every lead of the week
    assert [(f.group, f.contacted, f.leads) for f in digest.by_channel] == [
        ("email", 1, 4),
        ("sms", 1, 4),
        ("call", 1, 4),
    ]
    assert "Call" in rendered.text
    # And the plain text stays within 78 characters a line, long names cut rather than overflowing
    assert max(len(line) for line in rendered.text.splitlines()) <= 78
    assert "Dealer Website (lead form" in rendered.text


def test_report_gives_the_figures_as_they_stood_at_a_moment(db_url: str) -> None:
    # Given a lead answered after 2 days and one answered after 10 days, in one week
    settings = dealership(db_url)
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        add_lead(s, HONDA, local(HONDA, W1, 10), associate="Dana Lee", contact_after=2 * DAY)
        add_lead(s, HONDA, local(HONDA, W1 + timedelta(days=1), 10), contact_after=10 * DAY)
        add_lead(s, HONDA, local(HONDA, W2, 0, 0), contact_after=60)  # the next week: outside [W1, W2)
    with sessions() as s:
        honda = scopes(s, settings)[0]

        def week(as_of: datetime) -> dict[str, object]:
            rows = [f.as_json() for f in report(s, honda, "week", W1, W2, as_of)]
            assert len(rows) == 1
            return rows[0]

        # When the week is reported as of 3 days after its last lead, then 8 days, then 12
        early = week(local(HONDA, W1 + timedelta(days=4), 10))
        matured = week(local(HONDA, W1 + timedelta(days=9), 10))
        later = local(HONDA, W1 + timedelta(days=12), 10)
        late = week(later)
        people = [f.group for f in report(s, honda, "associate", W1, W2, later)]
    # Then a contact after --as-of does not count, and the 7-day rate appears once every lead is 7 days old
    assert (early["leads"], early["contacted"], early["matured_7d"], early["contact_rate_7d"]) == (
        2, 1, False, None
    )  # fmt: skip
    assert (matured["contacted"], matured["contacted_7d"], matured["contact_rate_7d"]) == (1, 1, 0.5)
    assert (late["contacted"], late["contact_rate"], late["contacted_7d"]) == (2, 1.0, 1)
    assert late["median_time_to_contact_s"] == 6 * DAY and late["opted_out"] == 0
    # And leads with no associate are grouped as "(unassigned)"
    assert people == ["(unassigned)", "Dana Lee"]
