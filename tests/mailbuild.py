"""Builders for the test data a dealership produces: ADF lead mails, follow-ups, replies, Maildirs."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from replywatch.config import Settings, settings_from_dict

STORE = "Main Street Honda"
DANA = "dana@mainstreethonda.example"
DANA_PHONE = "+15125550100"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC instant in November 2026 (Monday the 2nd is the first weekday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def settings(tmp: Path, db_url: str, **sources: str) -> Settings:
    """A one-store dealership with Dana; `sources` maps a source name to `type:path`."""
    return settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [
                {
                    "name": STORE,
                    "timezone": "America/Chicago",
                    "region": "US",
                    "hours": {d: "09:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
                }
            ],
            "associates": [{"name": "Dana Lee", "store": STORE, "emails": [DANA], "phones": [DANA_PHONE]}],
            "sources": [
                {"name": name, "type": spec.split(":", 1)[0], "path": str(tmp / spec.split(":", 1)[1])}
                for name, spec in sources.items()
            ],
        }
    )


def adf(lead_id: str, first: str, last: str, email: str | None, phone: str | None, when: datetime) -> str:
    contact = f'<name part="first">{first}</name><name part="last">{last}</name>'
    if email:
        contact += f"<email>{email}</email>"
    if phone:
        contact += f'<phone type="voice">{phone}</phone>'
    return (
        '<?xml version="1.0"?><adf><prospect>'
        f'<id sequence="1" source="AutoTrader">{lead_id}</id>'
        f"<requestdate>{when.isoformat()}</requestdate>"
        "<vehicle><year>2025</year><make>Honda</make><model>CR-V</model></vehicle>"
        f"<customer><contact>{contact}</contact></customer>"
        f"<vendor><vendorname>{STORE}</vendorname></vendor>"
        '<provider><name part="full">AutoTrader</name></provider>'
        "</prospect></adf>"
    )


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


def lead_mail(
    lead_id: str, first: str, last: str, email: str | None, phone: str | None, when: datetime
) -> bytes:
    return mail(
        "leads@autotrader.example",
        "leads@mainstreethonda.example",
        f"New lead {lead_id}",
        adf(lead_id, first, last, email, phone, when),
        when,
        f"<lead-{lead_id}@autotrader.example>",
    )


class Maildir:
    """A real Maildir on disk with Maildir++ subfolders; files get the message's time as mtime."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        for sub in ("cur", "new", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def add(self, raw: bytes, when: datetime, folder: str = "") -> Path:
        base = self.root / f".{folder}" if folder else self.root
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = base / "cur" / f"{int(when.timestamp())}.M{self.count}P1.test:2,S"
        path.write_bytes(raw)
        os.utime(path, (when.timestamp(), when.timestamp()))
        return path


def two_john_smiths(box: Maildir) -> None:
    """Two leads named John Smith, each followed up by Dana: a reply signed John Smith from a third
    address can only be placed by a person."""
    box.add(lead_mail("S1", "John", "Smith", "jsmith@mail.example", None, at(2, 15)), at(2, 15))
    box.add(lead_mail("S2", "John", "Smith", "john.smith77@example.net", None, at(3, 15)), at(3, 15))
    box.add(mail(DANA, "jsmith@mail.example", "CR-V", "Hi John", at(2, 16), "<t1@msh>"), at(2, 16), "Sent")
    box.add(
        mail(DANA, "john.smith77@example.net", "CR-V", "Hi John", at(3, 16), "<t2@msh>"), at(3, 16), "Sent"
    )
