"""The digest's figures from the database: store-local weeks, roll-ups, baseline, funnel, escaping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from digestbuild import HONDA, TOYOTA, add_lead, add_message, dealership, local, open_dealership
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import Settings, settings_from_dict
from replywatch.digest.baseline import EVERY_SCOPE, baseline_range, pin_baseline
from replywatch.digest.build import build_digest
from replywatch.digest.render import render
from replywatch.digest.scope import scope_named, scopes
from replywatch.errors import ReplywatchError
from replywatch.reports.funnel import read_funnel_file
from replywatch.store.funnel import import_funnel
from replywatch.store.models import FunnelEvent

WEEK = date(2026, 11, 2)  # Monday; Chicago and Denver are back on standard time since 1 Nov
NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)  # every lead of WEEK is more than 7 days old


def _week_of_leads(db_url: str) -> tuple[Settings, sessionmaker[Session]]:
    settings = dealership(db_url)
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        add_lead(s, HONDA, local(HONDA, date(2026, 11, 1), 23, 59), associate="Dana Lee", contact_after=60)
        add_lead(
            s, HONDA, local(HONDA, WEEK, 0, 0), associate="Dana Lee", touch_after=600, contact_after=1800
        )
        add_lead(
            s, HONDA, local(HONDA, date(2026, 11, 4), 10), source="Cars.com", associate="Dana Lee",
            touch_after=1200, contact_after=7200,
        )  # fmt: skip
        add_lead(
            s, HONDA, local(HONDA, date(2026, 11, 6), 15), associate="Marcus Johnson",
            touch_after=3600, contact_after=3 * 86400, opted_out=True,
        )  # fmt: skip
        silent = add_lead(s, HONDA, local(HONDA, date(2026, 11, 8), 23, 59), associate="Marcus Johnson")
        add_message(s, silent, "bounce", "matched")
        add_message(s, silent, "human", "review")
        add_lead(s, HONDA, local(HONDA, date(2026, 11, 9), 0, 0), contact_after=60)  # the next week
        add_lead(
            s,
            TOYOTA,
            local(TOYOTA, WEEK, 0, 30),
            source="TrueCar",
            associate="Carlos Mendoza",
            contact_after=5400,
        )
        add_lead(
            s, TOYOTA, local(TOYOTA, date(2026, 11, 1), 23, 30), source="TrueCar"
        )  # Monday 00:30 in Chicago
    return settings, sessions


def test_a_weeks_figures_per_store_associate_source_and_group(db_url: str) -> None:
    # Given leads around the edges of a store-local week, with known contact, opt-out, bounce and review
    settings, sessions = _week_of_leads(db_url)
    # When the week's digests are built once the week has matured
    with sessions() as session:
        found = scopes(session, settings)
        honda = build_digest(session, scope_named(found, HONDA), WEEK, NOW, 4)
        group = build_digest(session, scope_named(found, "group"), WEEK, NOW, 4)
    # Then the store's week runs Monday 00:00 to Monday 00:00 in its own zone, and it is the headline
    h = honda.headline
    assert honda.headline_week == WEEK and h is not None
    assert (h.leads, h.contacted, h.contacted_7d, h.matured_7d, h.opted_out) == (4, 3, 3, True, 1)
    assert (honda.attention.bouncing, honda.attention.awaiting_review) == (1, 1)
    # And medians and p90 are over the contacted leads (wall clock and business hours)
    assert (h.median_ttc, h.p90_ttc) == (7200, pytest.approx(208800))
    assert h.median_ttc_business == 2400
    # And the breakdowns add up to the store, ranked by their 7-day contact rate
    assert [(r.figures.group, r.figures.leads) for r in honda.by_associate] == [
        ("Dana Lee", 2),
        ("Marcus Johnson", 2),
    ]
    assert {r.figures.group: r.figures.leads for r in honda.by_source} == {"AutoTrader": 3, "Cars.com": 1}
    # And the roll-up takes each store's own week: Denver's Sunday 23:30 lead is last week's
    assert group.headline and group.headline.leads == 5
    assert group.headline.median_ttc == 6300
    assert {r.figures.group: r.figures.leads for r in group.by_store} == {HONDA: 4, TOYOTA: 1}
    assert group.before and group.before.leads == 2
    # And the trend holds matured weeks only, from the first week with leads to this one
    assert [(p.week, p.figures.leads) for p in group.trend] == [(date(2026, 10, 26), 2), (WEEK, 5)]


def test_on_a_monday_the_headline_is_the_week_before_last(db_url: str) -> None:
    # Given the same leads, and the digest of the week just ended on the Monday it ended (07:00 Chicago)
    settings, sessions = _week_of_leads(db_url)
    monday = datetime(2026, 11, 9, 13, tzinfo=UTC)
    with sessions() as session:
        honda = build_digest(session, scopes(session, settings)[0], WEEK, monday, 4)
    # Then the headline is the week of 26 Oct, whose leads are all 7 days old, not this week's few
    assert honda.headline_week == date(2026, 10, 26)
    assert honda.headline and (honda.headline.contacted_7d, honda.headline.leads) == (1, 1)
    rendered = render(honda)
    assert rendered.subject == (
        "Contact 100% (baseline forming, 1 of 4 weeks) · Main Street Honda · week of 26 Oct"
    )
    # And the week just ended shows its contact so far (Marcus's lead answers only this afternoon)
    assert (honda.so_far.leads, honda.so_far.contacted, honda.so_far.matured_7d) == (4, 2, False)
    assert "week of 2 Nov so far: 50% · 2 of 4 answered" in " ".join(rendered.text.split())


def test_baseline_is_the_first_complete_weeks_until_pinned(db_url: str) -> None:
    # Given one lead a week from 5 October in Honda, the first one contacted, the others not
    settings = dealership(db_url, baseline_weeks=2)
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        for i, day in enumerate((5, 12, 19, 26)):
            add_lead(s, HONDA, local(HONDA, date(2026, 10, day), 10), contact_after=600 if i == 0 else None)
    with sessions() as s:
        found = scopes(s, settings)
        honda, group = scope_named(found, HONDA), scope_named(found, "group")
        # Then the baseline is the first two weeks with data
        auto = baseline_range(s, honda, NOW, 2)
        assert auto and (auto.first_week, auto.last_week, auto.pinned) == (
            date(2026, 10, 5),
            date(2026, 10, 12),
            False,
        )
        digest = build_digest(s, honda, WEEK, NOW, 2)
        base = digest.baseline.figures if digest.baseline else None
        assert base and (base.contacted_7d, base.leads, digest.baseline.range.weeks) == (1, 2, 2)  # type: ignore[union-attr]
    # When a manager pins weeks for everyone (any day names its week), then Honda alone, then re-pins
    with sessions() as s, s.begin():
        pin_baseline(s, found, EVERY_SCOPE, date(2026, 10, 21), date(2026, 10, 25), NOW)
        pin_baseline(s, found, HONDA, date(2026, 10, 26), date(2026, 10, 26), NOW)
    with sessions() as s:
        assert baseline_range(s, group, NOW, 2) == baseline_range(s, group, NOW, 9)
        assert (baseline_range(s, group, NOW, 2) or auto).first_week == date(2026, 10, 19)
        assert (baseline_range(s, honda, NOW, 2) or auto).first_week == date(2026, 10, 26)
    with sessions() as s, s.begin():
        pin_baseline(s, found, EVERY_SCOPE, date(2026, 10, 5), date(2026, 10, 19), NOW)
    with sessions() as s:
        again = baseline_range(s, group, NOW, 2)
        assert again and again.weeks == 3 and again.pinned
        # And a week that has not ended cannot be pinned
        with pytest.raises(ReplywatchError, match="has not ended 7 days ago yet"):
            pin_baseline(s, found, EVERY_SCOPE, date(2026, 11, 2), date(2026, 11, 16), NOW)
        # And nor can one whose leads are not all 7 days old: its 7-day rate is not final
        with pytest.raises(ReplywatchError, match="needs matured weeks"):
            pin_baseline(s, found, EVERY_SCOPE, date(2026, 11, 2), date(2026, 11, 9), NOW)


def test_funnel_events_import_once_and_show_per_source(db_url: str, tmp_path: Path) -> None:
    # Given the week's leads and a CRM export naming two of them and a walk-in replywatch never saw
    settings, sessions = _week_of_leads(db_url)
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "lead_id,event,at\n"
        "L2,appointment,2026-11-03 10:00\n"  # no offset: the lead's store time (Chicago, UTC-6)
        "L2,show,2026-11-05T11:00:00-06:00\n"
        "L2,Sold,2026-11-05T19:00:00Z\n"
        "L3,appointment,2026-11-06 09:00\n"
        "WALKIN-9,sold,2026-11-07 10:00\n"
    )
    # When it is imported twice
    with sessions() as s, s.begin():
        first = import_funnel(s, read_funnel_file(crm))
    with sessions() as s, s.begin():
        second = import_funnel(s, read_funnel_file(crm))
    # Then each event is stored once, naive times read in the store's zone, unknown leads skipped
    assert (first.added, first.known, first.unknown_leads) == (4, 0, ["WALKIN-9"])
    assert (second.added, second.known) == (0, 4)
    with sessions() as s:
        appointment = s.scalars(select(FunnelEvent.at).where(FunnelEvent.event == "appointment")).all()
        assert datetime(2026, 11, 3, 16, tzinfo=UTC) in appointment
        digest = build_digest(s, scopes(s, settings)[0], WEEK, NOW, 4)
    # And the digest shows Leads → Contact → Appointment → Show → Sold per source
    rows = {r.source: (r.leads, r.contacted, r.reached) for r in digest.funnel}
    assert rows["AutoTrader"] == (3, 2, {"appointment": 1, "show": 1, "sold": 1})
    assert rows["Cars.com"] == (1, 1, {"appointment": 1, "show": 0, "sold": 0})
    assert "Funnel by lead source" in render(digest).text
    # And a file with a bad row is refused whole, naming its line
    crm.write_text("lead_id,event,at\nL2,appointment,2026-11-03 10:00\nL3,test drive,2026-11-04 10:00\n")
    with pytest.raises(ReplywatchError, match=r"crm\.csv:3: column 'event': 'test drive' is not one of"):
        read_funnel_file(crm)


def test_names_from_customers_associates_and_config_are_escaped(db_url: str) -> None:
    # Given a store, an associate and a lead source with markup in their names
    store, associate = "Tom & Jerry's <Motors>", "<script>alert(1)</script>"
    settings = settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [{"name": store, "timezone": "America/Chicago", "digest_recipients": ["gm@x.example"]}],
            "associates": [{"name": associate, "store": store}],
        }
    )
    sessions = open_dealership(settings)
    with sessions() as s, s.begin():
        add_lead(
            s, store, local(HONDA, WEEK, 10), source='"><img src=x onerror=alert(2)>', associate=associate
        )
    # When the digest is rendered
    with sessions() as s:
        rendered = render(build_digest(s, scopes(s, settings)[0], WEEK, NOW, 4))
    # Then the HTML shows them as text, never as markup; the text part shows them as they are
    assert "<script>" not in rendered.html and "<img src=x" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "Tom &amp; Jerry&#39;s &lt;Motors&gt;" in rendered.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in rendered.html
    assert associate in rendered.text and store in rendered.subject
    # And the footnote says what Contact is and what never counts
    assert "Auto-replies, bounces, read receipts and opt-outs never count as contact" in rendered.html
