"""Bounce reports: which recipients could not be reached, and their status."""

from __future__ import annotations

import csv
import json
from email.message import EmailMessage

from conftest import SHARED, need

from replywatch.ingest.prepare import with_lf
from replywatch.parse.dsn import Recipient, read_report

CORPUS = SHARED / "corpus"


def dsn(*groups: str) -> bytes:
    """A RFC 3464 report: a human part, then the machine-readable part with one group per recipient."""
    fields = "\n\n".join(groups)
    return f"""From: MAILER-DAEMON@mx.example.net
To: dana@mainstreethonda.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

{fields}

--b1--
""".encode()


def group(address: str, action: str, status: str) -> str:
    return (
        f"Final-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}\nDiagnostic-Code: smtp; 550"
    )


def test_a_dsn_names_each_recipient_with_action_and_status() -> None:
    # Given a DSN about two recipients: one address does not exist, the other is only delayed
    raw = dsn(group("Pat@Example.com", "failed", "5.1.1"), group("sam@example.org", "delayed", "4.4.1"))
    # When read
    found = read_report(raw)
    # Then both are named; only the first cannot be reached
    assert [(r.address, r.action, r.status, r.failed) for r in found] == [
        ("pat@example.com", "failed", "5.1.1", True),
        ("sam@example.org", "delayed", "4.4.1", False),
    ]


def test_exim_names_failed_recipients_in_a_header() -> None:
    msg = EmailMessage()
    msg["From"], msg["X-Failed-Recipients"] = (
        "Mail Delivery System <Mailer-Daemon@mx.example.net>",
        "pat@example.com",
    )
    msg.set_content("This message was created automatically by mail delivery software.")
    assert read_report(msg.as_bytes()) == [Recipient("pat@example.com", "failed", "")]


def test_prose_reports_without_a_dsn_part() -> None:
    # Given a Postfix-style report in plain text only, naming our own address and the failed one
    msg = EmailMessage()
    msg["From"], msg["To"] = "MAILER-DAEMON@mx.example.net", "dana@mainstreethonda.example"
    msg.set_content(
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "<pat@example.com>: host mx.example.com said: 550 5.1.1 User unknown\n"
    )
    # When read, Then the failed recipient and its status are found, not our address
    assert read_report(msg.as_bytes()) == [Recipient("pat@example.com", "", "5.1.1")]
    assert read_report(msg.as_bytes())[0].failed


def test_amazon_ses_json_notifications() -> None:
    inner = {
        "notificationType": "Bounce",
        "bounce": {
            "bouncedRecipients": [{"emailAddress": "pat@example.com", "action": "failed", "status": "5.1.1"}]
        },
    }
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "AWS Notifications <no-reply@sns.amazonaws.com>", "AWS Notification Message"
    msg.set_content(json.dumps({"Type": "Notification", "Message": json.dumps(inner)}))
    assert read_report(msg.as_bytes()) == [Recipient("pat@example.com", "failed", "5.1.1")]


def test_a_mail_that_is_no_report_names_nobody() -> None:
    msg = EmailMessage()
    msg["From"] = "pat@example.com"
    msg.set_content("Saturday at 10 works. My wife's address is sam@example.org.")
    assert read_report(msg.as_bytes()) == []


def test_most_real_bounces_name_the_recipient_that_failed() -> None:
    # Given the ~400 real bounces of the corpus (40+ MTAs, with and without DSN parts)
    if not (CORPUS / "manifest.csv").is_file():
        need(f"mail corpus at {CORPUS}", "the labelled corpus (../shared/corpus beside the repository)")
    with (CORPUS / "manifest.csv").open(newline="") as manifest:
        paths = [CORPUS / row["path"] for row in csv.DictReader(manifest) if row["label"] == "bounce"]
    # When each is read
    named = [bool(read_report(with_lf(path.read_bytes()))) for path in paths]
    # Then at least nine in ten name a recipient (the rest: delivery notices, list-manager errors)
    assert sum(named) / len(named) >= 0.9
