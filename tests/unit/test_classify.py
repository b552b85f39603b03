"""Classification of emails and SMS by the default rules, including the real bounce and complaint corpus."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SHARED, need

from replywatch.classify.classify import Classification, classify_email, classify_sms
from replywatch.classify.rules import RuleSet, default_rules_dir, load_rules
from replywatch.domain.vocabulary import NOISE_KINDS
from replywatch.ingest.prepare import verdict
from replywatch.parse.types import Address, Attachment, ParsedEmail, ParsedSms

CORPUS = SHARED / "corpus"
ADF = b'<?xml version="1.0"?><?adf version="1.0"?><adf><prospect><id>42</id></prospect></adf>'


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(default_rules_dir())


def mail(
    subject: str = "Re: your 2024 Civic",
    sender: str = "pat.customer@example.com",
    text: str = "Thanks, Saturday at 10 works for me.",
    content_type: str = "text/plain",
    headers: dict[str, list[str]] | None = None,
    attachments: list[Attachment] | None = None,
) -> ParsedEmail:
    """An email as the parser would hand it over; by default a customer's ordinary reply."""
    return ParsedEmail(
        message_id="<1@example.com>",
        sender=Address("", sender),
        reply_to=[],
        to=[Address("Dana Lee", "dana@mainstreethonda.example")],
        cc=[],
        date=datetime(2025, 3, 3, 15, 0, tzinfo=UTC),
        subject=subject,
        in_reply_to=[],
        references=[],
        text=text,
        html="",
        content_type=content_type,
        headers={name.lower(): values for name, values in (headers or {}).items()},
        attachments=attachments or [],
    )


def text_message(body: str) -> ParsedSms:
    return ParsedSms(
        "SM1", datetime(2025, 3, 3, 15, 0, tzinfo=UTC), "+15125550199", "+15125550100", body, "inbound"
    )


def test_an_ordinary_reply_is_human(rules: RuleSet) -> None:
    # Given a customer's reply with nothing machine-like about it; When classified; Then it is human.
    assert classify_email(mail(), rules) == Classification("human", "default")


def test_x_auto_response_suppress_alone_is_not_an_auto_reply(rules: RuleSet) -> None:
    # Given an Outlook reply written by a person, which carries X-Auto-Response-Suppress
    reply = mail(headers={"X-Auto-Response-Suppress": ["All"], "Auto-Submitted": ["no"]})
    # When classified, Then it is human
    assert classify_email(reply, rules).kind == "human"


def test_list_unsubscribe_alone_is_not_list_mail(rules: RuleSet) -> None:
    reply = mail(headers={"List-Unsubscribe": ["<mailto:unsub@relay.cars.example>"]})
    assert classify_email(reply, rules).kind == "human"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": ["auto-replied"]}, "auto_reply"),
        ({"Auto-Submitted": ["auto-generated; owner-email=it@example.com"]}, "auto_reply"),
        ({"X-Autoreply": ["yes"]}, "auto_reply"),
        ({"X-Autorespond": ["Out of office"]}, "auto_reply"),
        ({"X-Autoresponse": ["1"]}, "auto_reply"),
        ({"Precedence": ["bulk"]}, "auto_reply"),
        ({"Precedence": ["Junk"]}, "auto_reply"),
        ({"Precedence": ["auto_reply"]}, "auto_reply"),
        ({"X-MS-Exchange-Inbox-Rules-Loop": ["dana@mainstreethonda.example"]}, "auto_reply"),
        ({"Precedence": ["list"]}, "list"),
        ({"List-Id": ["Honda owners <owners.lists.example.com>"]}, "list"),
        ({"X-Failed-Recipients": ["pat@example.com"]}, "bounce"),
    ],
)
def test_machine_headers_decide_the_kind(rules: RuleSet, headers: dict[str, list[str]], kind: str) -> None:
    assert classify_email(mail(headers=headers), rules).kind == kind


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Your 2024 Civic",
        "Auto reply: Your 2024 Civic",
        "Autoreply",
        "Out of Office: back Monday",
        "vacation: away",
        "Respuesta automática: Su Civic 2024",
        "Fuera de la oficina",
        "Réponse automatique : Votre Civic",
        "Absence du bureau",
        "Abwesenheitsnotiz: Ihr Civic",
        "Automatische Antwort: Ihr Civic",
    ],
)
def test_auto_reply_subjects(rules: RuleSet, subject: str) -> None:
    assert classify_email(mail(subject=subject), rules).kind == "auto_reply"


@pytest.mark.parametrize("subject", ["Re: Automatic reply: Civic", "Delivery status of my Civic?"])
def test_a_person_quoting_machine_words_stays_human(rules: RuleSet, subject: str) -> None:
    assert classify_email(mail(subject=subject), rules).kind == "human"


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("multipart/report; report-type=delivery-status", "bounce"),
        ('multipart/report; report-type="disposition-notification"', "read_receipt"),
        ("multipart/report; report-type=feedback-report", "complaint"),
    ],
)
def test_reports_by_report_type(rules: RuleSet, content_type: str, kind: str) -> None:
    assert classify_email(mail(content_type=content_type), rules).kind == kind


def test_report_type_is_read_from_the_raw_header_when_the_parser_drops_it(rules: RuleSet) -> None:
    report = mail(
        content_type="multipart/report",
        headers={"Content-Type": ['multipart/report; boundary="b1";\r\n report-type=delivery-status']},
    )
    assert classify_email(report, rules) == Classification("bounce", "bounce-dsn")


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.net", "postmaster@example.com", "MAILER-DAEMON"]
)
def test_bounces_by_sender(rules: RuleSet, sender: str) -> None:
    assert (
        classify_email(mail(sender=sender, subject="Returned mail: see transcript"), rules).kind == "bounce"
    )


def test_an_adf_lead_in_the_body_wins_over_bulk_headers(rules: RuleSet) -> None:
    # Given a provider's lead notice that also carries bulk-mail headers
    bulk = {"Precedence": ["bulk"], "List-Id": ["<leads.cars.example>"], "Auto-Submitted": ["auto-generated"]}
    notice = mail(subject="New lead", sender="leads@cars.example", text=ADF.decode(), headers=bulk)
    # When classified, Then it is a lead, not noise
    assert classify_email(notice, rules) == Classification("lead", "lead-adf-body")


def test_an_adf_lead_as_xml_attachment(rules: RuleSet) -> None:
    adf = Attachment("lead.xml", "application/xml", len(ADF), ADF)
    notice = mail(text="A new lead is attached.", headers={"Precedence": ["bulk"]}, attachments=[adf])
    assert classify_email(notice, rules) == Classification("lead", "lead-adf-attachment")


@pytest.mark.parametrize(
    "body", ["STOP", "Stop", "stop.", " STOP! ", "StopAll", "unsubscribe", "Cancel", "END"]
)
def test_sms_opt_out_keywords(rules: RuleSet, body: str) -> None:
    assert classify_sms(text_message(body), rules) == Classification("opt_out", "sms-opt-out-keyword")


@pytest.mark.parametrize("body", ["START", "unstop", "Yes!"])
def test_sms_opt_in_keywords(rules: RuleSet, body: str) -> None:
    assert classify_sms(text_message(body), rules).kind == "opt_in"


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "Remove me from your list",
        "Take my number off your list please",
        "Don’t text me again",
        "no me envíen más mensajes",
        "Dejen de enviarme mensajes",
    ],
)
def test_sms_opt_outs_in_plain_words(rules: RuleSet, body: str) -> None:
    assert classify_sms(text_message(body), rules).kind == "opt_out"


@pytest.mark.parametrize(
    "body",
    [
        "no longer interested",
        "I bought elsewhere",
        "I'll stop by tomorrow around 3",
        "Stop by when? I can do Saturday",
        "don't text me after 8pm, I'm at work",
        "STOP STOP STOP the price is too high",
    ],
)
def test_sms_replies_that_are_not_opt_outs_stay_human(rules: RuleSet, body: str) -> None:
    assert classify_sms(text_message(body), rules) == Classification("human", "default")


def test_email_rules_never_fire_on_sms(rules: RuleSet) -> None:
    assert classify_sms(text_message("Automatic reply: out of office"), rules).kind == "human"


def corpus_files(label: str) -> list[Path]:
    if not (CORPUS / "manifest.csv").is_file():
        need(f"mail corpus at {CORPUS}", "the labelled corpus (../shared/corpus beside the repository)")
    with (CORPUS / "manifest.csv").open(newline="") as manifest:
        return [CORPUS / row["path"] for row in csv.DictReader(manifest) if row["label"] == label]


@pytest.mark.parametrize(("label", "kind"), [("bounce", "bounce"), ("complaint", "complaint")])
def test_every_real_bounce_and_complaint_is_recognised(rules: RuleSet, label: str, kind: str) -> None:
    # Given the corpus's real bounces (40+ MTAs) and complaints (ARF), parsed as ingest parses them
    paths = corpus_files(label)
    # When classified
    missed = [path.name for path in paths if verdict(path.read_bytes(), rules).kind != kind]
    # Then every one is what its label says: none could count as a person answering
    assert missed == []


def test_cr_and_crlf_copies_classify_like_their_lf_originals(rules: RuleSet) -> None:
    # Given the corpus's CRLF ("dos") and CR ("mac") copies of real mail
    copies = [
        p
        for p in corpus_files("bounce") + corpus_files("complaint")
        if "-dos-" in p.name or "-mac-" in p.name
    ]
    for copy in copies:
        original = copy.with_name(copy.name.replace("-dos-", "-").replace("-mac-", "-"))
        raw = original.read_bytes() if original.exists() else copy.read_bytes().replace(b"\r\n", b"\n")
        # When each copy and its LF original are classified, Then kind and rule are the same
        found, expected = verdict(copy.read_bytes(), rules), verdict(raw.replace(b"\r", b"\n"), rules)
        assert (found.kind, found.rule) == (expected.kind, expected.rule), copy.name


def test_no_real_reply_body_is_taken_for_noise(rules: RuleSet) -> None:
    # Given the corpus's 91 real reply bodies, each sent back as a customer's reply to our follow-up
    bodies = corpus_files("reply_body")
    kinds = {
        path.name: classify_email(
            mail(text=path.read_bytes().decode("utf-8").replace("\r\n", "\n")), rules
        ).kind
        for path in bodies
    }
    # Then none is noise
    assert {name: kind for name, kind in kinds.items() if kind in NOISE_KINDS} == {}


@pytest.mark.parametrize(
    "text",
    [
        "unsubscribe",
        "Unsubscribe me please",
        "Please remove me from your mailing list.",
        "Stop emailing me.",
        "Don't email me again, I'm not interested.",
        "Please take my email address off your list",
        "Por favor no me envíen más correos.",
        "Quiero darme de baja",
    ],
)
def test_email_opt_outs(rules: RuleSet, text: str) -> None:
    # Given a customer asking us, in English or Spanish, to stop writing; Then it is an opt-out
    assert classify_email(mail(text=text), rules).kind == "opt_out"


def test_an_unsubscribe_button_mail_is_an_opt_out(rules: RuleSet) -> None:
    # What a mail client's List-Unsubscribe button sends: subject "unsubscribe", nothing else
    assert classify_email(mail(subject="unsubscribe", text=""), rules).kind == "opt_out"


@pytest.mark.parametrize(
    "text",
    [
        "No longer interested, thanks.",
        "I bought elsewhere, but thanks for following up.",
        "I'll stop by Saturday to see it.",
        "Don't email me after 6pm, I check mail at lunch.",
        "Can you remove me from the Saturday test drive schedule? Sunday is better.",
        # our own footer, quoted under the customer's answer
        "Saturday works!\n\nOn Mon, Nov 2, 2026 at 9:14 AM Dana <dana@mainstreethonda.example> wrote:\n"
        "> See you soon.\n> To stop receiving these emails, reply unsubscribe or remove me.",
    ],
)
def test_email_replies_that_are_not_opt_outs_stay_human(rules: RuleSet, text: str) -> None:
    assert classify_email(mail(text=text), rules) == Classification("human", "default")


def test_an_auto_reply_asking_to_be_removed_is_still_an_auto_reply(rules: RuleSet) -> None:
    ooo = mail(text="Remove me from this list if you can.", headers={"Auto-Submitted": ["auto-replied"]})
    assert classify_email(ooo, rules).kind == "auto_reply"


@pytest.mark.parametrize(
    ("sender", "subject", "text", "rule"),
    [
        (
            "no-reply@sns.amazonaws.com",
            "AWS Notification Message",
            '{"notificationType":"Bounce"}',
            "bounce-amazon-ses",
        ),
        (
            "no-reply@sns.amazonaws.com",
            "AWS Notification Message",
            '{"notificationType":"Complaint"}',
            "complaint-amazon-ses",
        ),
        (
            "no-reply@mail.example.jp",
            "Mail",
            "Your mail sent on: Mon\n  Could not be delivered to: <a@b.example>",
            "bounce-mta-text",
        ),
    ],
)
def test_bounces_and_complaints_without_report_parts(
    rules: RuleSet, sender: str, subject: str, text: str, rule: str
) -> None:
    assert classify_email(mail(sender=sender, subject=subject, text=text), rules).rule == rule


def test_a_customer_forwarding_a_bounce_stays_a_person(rules: RuleSet) -> None:
    text = (
        "Dana, my email to you bounced?\n\n---------- Forwarded message ---------\n"
        "This message was created automatically by mail delivery software.\n"
    )
    assert classify_email(mail(text=text), rules).kind == "human"
