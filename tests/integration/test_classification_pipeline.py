"""Classification through the whole pipeline, on SQLite and PostgreSQL: bounces, opt-outs, provider
notices and reply text as a dealership sees them in its contacts and its store."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest
from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch.digest.build import build_digest
from replywatch.digest.scope import scope_named, scopes
from replywatch.ingest.lead_import import import_leads
from replywatch.ingest.pipeline import Pipeline
from replywatch.parse.leads_csv import parse_leads_csv
from replywatch.reports.export import contact_rows
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import LeadIdentity, Message, Quarantine


def run(tmp_path: Path, db_url: str) -> Pipeline:
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    return pipeline


def rows(pipeline: Pipeline) -> dict[str, dict[str, str]]:
    with pipeline.sessions() as session:
        return {row["lead_id"]: row for row in contact_rows(session)}


def lead_and_touch(box: Maildir, lead_id: str, first: str, address: str, day: int) -> str:
    """A lead from AutoTrader and Dana's follow-up to it; returns the follow-up's Message-ID."""
    box.add(lead_mail(lead_id, first, "Diaz", address, None, at(day, 15)), at(day, 15))
    touch = f"<touch-{lead_id}@mainstreethonda.example>"
    box.add(
        mail(DANA, address, "Your CR-V", f"Hi {first}, is Saturday good?", at(day, 16), touch),
        at(day, 16),
        "Sent",
    )
    return touch


def dsn(address: str, when_day: int) -> bytes:
    return f"""From: MAILER-DAEMON@mx.mainstreethonda.example
To: {DANA}
Subject: Undelivered Mail Returned to Sender
Date: Tue, {when_day:02d} Nov 2026 16:05:00 +0000
Message-ID: <bounce-{when_day}@mx.mainstreethonda.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

<{address}>: host mx.example.com said: 550 5.1.1 User unknown

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.mainstreethonda.example

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1

--b1--
""".encode()


def test_a_bounce_marks_the_leads_address_as_bouncing(tmp_path: Path, db_url: str) -> None:
    # Given a lead whose address does not exist: our follow-up to it bounces
    box = Maildir(tmp_path / "mail")
    lead_and_touch(box, "B1", "Ana", "ana.typo@example.com", 3)
    lead_and_touch(box, "B2", "Ben", "ben@example.com", 3)
    box.add(dsn("Ana.Typo@example.com", 3), at(3, 16, 5))
    # When the inbox is polled
    pipeline = run(tmp_path, db_url)
    # Then Ana's address is marked bouncing with its status; Ben's is not; nobody is contacted
    with pipeline.sessions() as session:
        marks = dict(session.execute(select(LeadIdentity.value, LeadIdentity.bounce_status)).all())
        bounce = session.scalars(select(Message).where(Message.kind == "bounce")).one()
    assert marks == {"ana.typo@example.com": "5.1.1", "ben@example.com": None}
    assert (bounce.rule, bounce.snippet.splitlines()[0]) == (
        "bounce-dsn",
        "undeliverable to ana.typo@example.com (5.1.1)",
    )
    assert {row["contacted"] for row in rows(pipeline).values()} == {"N"}
    # And the week's digest counts one lead we cannot reach
    with pipeline.sessions() as session:
        store = scope_named(scopes(session, pipeline.settings), "Main Street Honda")
        digest = build_digest(session, store, date(2026, 11, 2), at(30, 12), 4)
    assert (digest.so_far.leads, digest.attention.bouncing) == (2, 1)


def touch_and_bounce(box: Maildir, address: str, day: int) -> None:
    """Dana's follow-up to `address` on `day` and the bounce it got back."""
    box.add(
        mail(DANA, address, "Your CR-V", "Is Saturday good?", at(day, 16), f"<t{day}@x>"), at(day, 16), "Sent"
    )
    box.add(dsn(address, day), at(day, 16, 5))


LEADS_CSV = (
    "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n"
    # Ana's lead came in the day before our mail to her bounced; Ben's came weeks after his old address
    # bounced (a repeat shopper): no mail of ours to his lead ever failed.
    "C1,2026-11-02T15:00:00Z,Ana,Diaz,ana.typo@example.com,,Website,Dana Lee,Main Street Honda\n"
    "C2,2026-11-27T15:00:00Z,Ben,Ortiz,ben.old@example.com,,Website,Dana Lee,Main Street Honda\n"
)


def bounce_marks(
    tmp_path: Path, db_url: str, *, leads_first: bool
) -> dict[str, tuple[datetime | None, str | None]]:
    """The inbox (two bounces for Ana, days 3 and 10; one for Ben, day 4) and the lead file, stored in
    the order given; the marks on the leads' addresses."""
    box = Maildir(tmp_path / "mail")
    for address, day in (("ana.typo@example.com", 10), ("ben.old@example.com", 4)):
        touch_and_bounce(box, address, day)
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    source = build_source(cfg.sources[0])

    def import_file() -> None:
        with sessions() as session, session.begin():
            import_leads(
                session,
                pipeline.directory,
                cfg,
                parse_leads_csv(LEADS_CSV),
                at(30, 12),
                pipeline.rules.policy,
            )

    if leads_first:
        import_file()
    pipeline.poll(source)
    touch_and_bounce(box, "ana.typo@example.com", 3)  # an earlier bounce, stored after the later one
    pipeline.poll(source)
    if not leads_first:
        import_file()
    with sessions() as session:
        stmt = select(LeadIdentity.value, LeadIdentity.bounced_at, LeadIdentity.bounce_status)
        return {value: (when, status) for value, when, status in session.execute(stmt)}


@pytest.mark.parametrize("leads_first", [False, True], ids=["inbox-first", "leads-first"])
def test_bounce_marks_do_not_depend_on_what_was_stored_first(
    tmp_path: Path, db_url: str, leads_first: bool
) -> None:
    # Given bounces and a lead file, When the inbox is polled before the file is imported, or after
    marks = bounce_marks(tmp_path, db_url, leads_first=leads_first)
    # Then Ana's address is marked with the latest of its bounces, whichever was stored last; Ben's old
    # address bounced weeks before his lead came in, so his lead is not marked either way
    assert marks == {
        "ana.typo@example.com": (at(10, 16, 5), "5.1.1"),
        "ben.old@example.com": (None, None),
    }


def test_an_email_opt_out_is_recorded_and_is_not_contact(tmp_path: Path, db_url: str) -> None:
    # Given a lead who answers our follow-up asking to be removed
    box = Maildir(tmp_path / "mail")
    touch = lead_and_touch(box, "O1", "Ana", "ana@example.com", 4)
    box.add(
        mail(
            "ana@example.com",
            DANA,
            "Re: Your CR-V",
            "Please remove me from your list.",
            at(4, 18),
            "<o@x>",
            touch,
        ),
        at(4, 18),
    )
    # When polled, Then the lead opted out and is not contacted
    row = rows(run(tmp_path, db_url))["O1"]
    assert (row["opted_out"], row["contacted"]) == ("Y", "N")


def test_noise_from_the_leads_address_is_never_contact(tmp_path: Path, db_url: str) -> None:
    # Given a lead whose mailbox answers with an out-of-office, and a provider's call alert about her
    box = Maildir(tmp_path / "mail")
    touch = lead_and_touch(box, "N1", "Ana", "ana@example.com", 5)
    ooo = mail(
        "ana@example.com", DANA, "Automatic reply: Your CR-V", "I am away.", at(5, 16, 1), "<a@x>", touch
    )
    box.add(ooo, at(5, 16, 1))
    call = mail(
        "CarGurus <calls@cargurus.com>",
        DANA,
        "Missed call from Ana Diaz",
        "Ana Diaz (ana@example.com) called about the CR-V.",
        at(5, 17),
        "<c@x>",
        headers={"Reply-To": "ana@example.com"},
    )
    box.add(call, at(5, 17))
    # When polled, Then she is not contacted, and each message keeps the rule that decided its kind
    pipeline = run(tmp_path, db_url)
    assert rows(pipeline)["N1"]["contacted"] == "N"
    with pipeline.sessions() as session:
        kinds = dict(session.execute(select(Message.header_message_id, Message.rule)).all())
    assert (kinds["<a@x>"], kinds["<c@x>"]) == ("auto-reply-subject", "provider-call-notice")


def test_a_plain_text_provider_notice_makes_a_lead_and_its_reply_contact(tmp_path: Path, db_url: str) -> None:
    # Given a Cars.com notice in plain text, our follow-up, and the customer's answer over our quoted mail
    box = Maildir(tmp_path / "mail")
    notice = (
        "Lead ID: CC-77\nName: Maria Lopez\nEmail: maria@example.com\nPhone: (512) 555-0142\n"
        "Vehicle: 2025 CR-V\n"
    )
    box.add(mail("leads@mail.cars.com", DANA, "New Cars.com Lead", notice, at(6, 15), "<n@cars>"), at(6, 15))
    box.add(mail(DANA, "maria@example.com", "Your CR-V", "Hi Maria", at(6, 16), "<t@msh>"), at(6, 16), "Sent")
    answer = "Saturday at 10.\n\nOn Fri, Nov 6, 2026 at 10:00 AM Dana Lee <dana@x.example> wrote:\n> Hi Maria"
    box.add(
        mail("maria@example.com", DANA, "Re: Your CR-V", answer, at(6, 18), "<m@x>", "<t@msh>"), at(6, 18)
    )
    # When polled
    pipeline = run(tmp_path, db_url)
    # Then the lead exists with its provider as source, is contacted, and the reply's snippet is the new text
    row = rows(pipeline)["CC-77"]
    assert (row["source"], row["contacted"], row["time_to_contact_s"]) == ("Cars.com", "Y", str(3 * 3600))
    with pipeline.sessions() as session:
        snippet = session.scalar(select(Message.snippet).where(Message.header_message_id == "<m@x>"))
    assert snippet == "Saturday at 10."


def test_damaged_mail_is_stored_or_quarantined_never_lost(tmp_path: Path, db_url: str) -> None:
    # Given thirty mails damaged at random (cut short, bytes dropped or inserted) among good ones
    rng = random.Random(4)
    box = Maildir(tmp_path / "mail")
    touch = lead_and_touch(box, "D1", "Ana", "ana@example.com", 9)
    good = mail("ana@example.com", DANA, "Re: Your CR-V", "Yes!", at(9, 18), "<g@x>", touch)
    for n in range(30):
        cut = rng.randrange(len(good))
        damaged = good[:cut] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 20))) + good[cut + 9 :]
        box.add(damaged.replace(b"<g@x>", f"<g{n}@x>".encode()), at(9, 19, n))
    # When polled
    pipeline = run(tmp_path, db_url)
    # Then every item is either stored or quarantined with its reason
    with pipeline.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Message))
        reasons = list(session.scalars(select(Quarantine.error)))
    assert stored + len(reasons) == box.count
    assert all(reasons)
