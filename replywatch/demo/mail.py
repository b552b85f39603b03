"""The demo's emails as RFC 5322 bytes: provider lead mails, and the threading of follow-ups and replies."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from replywatch.demo.adf import AdfLead, adf_document
from replywatch.demo.people import STORES

CRM_DOMAIN = "mail.dealercrm.example"  # follow-ups sent from a CRM never reach the Maildir

Route = tuple[Address, Address]  # (From, To)


def message(when: datetime, route: Route, subject: str, body: str, msgid: str) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"], msg["To"], msg["Subject"] = route[0], route[1], subject
    msg["Date"], msg["Message-ID"] = format_datetime(when), msgid
    msg.set_content(body)
    return msg


def message_id(rng: random.Random, domain: str) -> str:
    return f"<{rng.getrandbits(80):020x}@{domain}>"


def thread(*ids: str) -> dict[str, str]:
    return {"In-Reply-To": ids[-1], "References": " ".join(ids)}


def quote(text: str, when: datetime, author: str) -> str:
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return f"\n\nOn {when.strftime('%a, %b %d, %Y at %I:%M %p')}, {author} wrote:\n{quoted}\n"


def lead_mail(rng: random.Random, leads: Sequence[AdfLead], received: datetime) -> tuple[datetime, bytes]:
    """The provider's notification of `leads` (the latest `received`): ADF in the body, attached, or
    several documents in one body."""
    adf, provider = leads[0], leads[0].provider
    when = received + timedelta(seconds=rng.randint(20, 240))
    sender = Address(f"{provider.name} Leads", addr_spec=provider.sender)
    route = (sender, Address(f"{adf.store} Internet Sales", addr_spec=adf.store_email))
    name = f"{adf.customer.first} {adf.customer.last}"
    subject = provider.subject.format(vehicle=adf.vehicle.title, name=name)
    docs = [adf_document(lead) for lead in leads]
    body, attach = "\n".join(docs), adf.quirks.attachment if len(leads) == 1 else None
    if len(leads) > 1:
        subject = f"{len(leads)} new leads from {provider.name}"
    if attach:
        body = f"New lead from {provider.name}: {adf.vehicle.title}.\nThe ADF/XML lead is attached.\n"
    msg = message(when.astimezone(UTC), route, subject, body, message_id(rng, sender.domain))
    if attach:
        kind = attach.split("/")
        msg.add_attachment(docs[0].encode(), kind[0], kind[1], filename=f"lead-{adf.lead_id}.xml")
        msg.set_boundary(f"=_rw_{rng.getrandbits(64):016x}")  # email's own boundary would be random
    return when, msg.as_bytes()


def stranger_mail(rng: random.Random, when: datetime) -> tuple[datetime, str, bytes]:
    """A shopper who never sent a lead writes to the first store: a human reply no lead explains, left
    unmatched for a person to place (or not)."""
    store = STORES[0]
    sender = Address("Pat Quinlan", addr_spec="pq.garage@example.net")
    route = (sender, Address(f"{store.name} Internet Sales", addr_spec=f"leads@{store.domain}"))
    body = "Hi, a friend said you have used trucks under $20k. Anything with a tow package?\n\nPat\n"
    msg = message(when.astimezone(UTC), route, "Used trucks?", body, message_id(rng, "example.net"))
    return when, "", msg.as_bytes()
