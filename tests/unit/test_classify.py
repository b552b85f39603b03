"""Classification of emails and SMS by the default rules, including the real bounce and complaint corpus."""

from __future__ import annotations

import csv
import email
import email.utils
import os
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from replywatch.classify import Classification, classify_email, classify_sms
from replywatch.parse.types import Address, Attachment, ParsedEmail, ParsedSms
from replywatch.rules import RuleSet, default_rules_dir, load_rules

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
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


def parse_eml(raw: bytes) -> ParsedEmail:
    """A ParsedEmail from .eml bytes with the stdlib alone (the real parser is not a dependency here)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    body = message.get_body(preferencelist=("plain", "html"))
    parts = [part for part in message.walk() if part is not body and not part.is_multipart()]
    content_type = message.get_content_type()
    report_type = message.get_param("report-type") if content_type == "multipart/report" else None
    subject = message.get("subject", "")
    return mail(
        subject=str(subject),
        sender=email.utils.parseaddr(str(headers.get("from", [""])[0]))[1],
        text=_text_of(body) if isinstance(body, EmailMessage) else "",
        content_type=f"{content_type}; report-type={report_type}" if report_type else content_type,
        headers=headers,
        attachments=[Attachment(part.get_filename() or "", part.get_content_type(), 0) for part in parts],
    )


def _text_of(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset: the bytes still tell a bounce apart
        return bytes(part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def corpus_share(rules: RuleSet, label: str, kind: str) -> float:
    """The share of the corpus files labelled `label` that classify as `kind`."""
    if not (CORPUS / "manifest.csv").is_file():
        if os.environ.get("REPLYWATCH_REQUIRE_SERVERS") == "1" or os.environ.get("CI") == "true":
            pytest.fail(f"mail corpus missing at {CORPUS}")
        pytest.skip(f"mail corpus not found at {CORPUS}")
    with (CORPUS / "manifest.csv").open(newline="") as manifest:
        paths = [CORPUS / row["path"] for row in csv.DictReader(manifest) if row["label"] == label]
    kinds = [classify_email(parse_eml(path.read_bytes()), rules).kind for path in paths]
    share = kinds.count(kind) / len(kinds)
    print(f"{label}: {kinds.count(kind)}/{len(kinds)} = {share:.3f} classified {kind}")
    return share


def test_real_bounces_classify_as_bounce(rules: RuleSet) -> None:
    assert corpus_share(rules, "bounce", "bounce") >= 0.9


def test_real_complaints_classify_as_complaint(rules: RuleSet) -> None:
    assert corpus_share(rules, "complaint", "complaint") >= 0.8
