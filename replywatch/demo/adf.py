"""ADF leads of the demo dealership: who asks about which car, and the ADF/XML text, quirks included."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from replywatch.demo.people import (
    FIRST_NAMES,
    FIRST_NAMES_ES,
    LAST_NAMES,
    LAST_NAMES_ES,
    Customer,
    Provider,
    Vehicle,
    email_for,
    human_phone,
    make_vehicle,
)
from replywatch.demo.phrases import COMMENTS, COMMENTS_ES

_ID_CHARS = {"#": "0123456789", "%": "0123456789abcdef", "@": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"}


@dataclass(frozen=True)
class Quirks:
    """Deviations from clean ADF seen in real provider mail; each one is a parser test in disguise."""

    adf_pi_first: bool = False  # <?ADF VERSION "1.0"?> before the XML declaration
    utf16_declared: bool = False  # encoding="utf-16" declared on UTF-8 bytes
    full_name_only: bool = False  # <name part="full"> and no first/last parts
    mailto: bool = False  # <email>mailto:…</email>
    cdata: bool = False  # comments in a CDATA section
    attachment: str | None = None  # "application/xml" or "text/xml": ADF attached, not in the body


@dataclass(frozen=True)
class AdfLead:
    lead_id: str
    provider: Provider
    requested_at: datetime  # aware, store-local
    customer: Customer
    phones: tuple[tuple[str, str], ...]  # (number as the provider writes it, ADF phone type)
    vehicle: Vehicle
    store: str
    store_email: str
    comment: str
    quirks: Quirks


def lead_id(rng: random.Random, provider: Provider) -> str:
    return "".join(rng.choice(_ID_CHARS[c]) if c in _ID_CHARS else c for c in provider.id_pattern)


def random_quirks(rng: random.Random, has_email: bool) -> Quirks:
    """Each quirk in a minority of leads, independently, as they turn up in a real lead inbox."""
    r = rng.random
    return Quirks(
        adf_pi_first=r() < 0.07,
        utf16_declared=r() < 0.05,
        full_name_only=r() < 0.1,
        mailto=has_email and r() < 0.07,
        cdata=r() < 0.25,
        attachment=rng.choice(("application/xml", "text/xml")) if r() < 0.12 else None,
    )


class LeadFactory:
    """Customers, numbers and lead ids never handed out before, so every reply belongs to one lead."""

    def __init__(self, rng: random.Random, reserved: set[str]) -> None:
        self.rng = rng
        self.used = set(reserved)

    def fresh(self, make: Callable[[], str]) -> str:
        for _ in range(500):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        raise RuntimeError("the sample dealership ran out of fresh names")

    def phone(self, area_codes: tuple[str, ...]) -> str:
        return self.fresh(lambda: f"+1{self.rng.choice(area_codes)}555{self.rng.randint(100, 9999):04d}")

    def customer(self, area_codes: tuple[str, ...]) -> Customer:
        rng = self.rng
        spanish = rng.random() < 0.22
        firsts, lasts = (FIRST_NAMES_ES, LAST_NAMES_ES) if spanish else (FIRST_NAMES, LAST_NAMES)
        first, last = self.fresh(lambda: f"{rng.choice(firsts)}|{rng.choice(lasts)}").split("|")
        reach = rng.random()  # some leads come without an email, a few without a phone
        email = None if reach < 0.08 else self.fresh(lambda: email_for(rng, first, last))
        return Customer(first, last, email, None if reach > 0.9 else self.phone(area_codes), spanish)

    def lead(
        self, provider: Provider, at: datetime, store: str, store_email: str, area_codes: tuple[str, ...]
    ) -> AdfLead:
        """A lead for `store` (named "… <Make>") requested at `at`, store-local."""
        rng, customer = self.rng, self.customer(area_codes)
        phones: list[tuple[str, str]] = []
        if customer.phone:
            phones.append((human_phone(rng, customer.phone), "voice"))
            if rng.random() < 0.12:  # a home line too; the customer texts from the cell phone
                phones = [(phones[0][0], "cellphone"), (human_phone(rng, self.phone(area_codes)), "voice")]
                rng.shuffle(phones)
        comment = rng.choice(COMMENTS_ES if customer.spanish and rng.random() < 0.4 else COMMENTS)
        vehicle = make_vehicle(rng, store.split()[-1], at.year)
        quirks = random_quirks(rng, customer.email is not None)
        lid = self.fresh(lambda: lead_id(rng, provider))
        return AdfLead(
            lid, provider, at, customer, tuple(phones), vehicle, store, store_email, comment, quirks
        )


def adf_document(lead: AdfLead) -> str:
    """One ADF document as text; the quirks decide its head, names, email and comment form."""
    q, v = lead.quirks, lead.vehicle
    declaration = f'<?xml version="1.0" encoding="{"utf-16" if q.utf16_declared else "UTF-8"}"?>'
    head = (
        f'<?ADF VERSION "1.0"?>\n{declaration}' if q.adf_pi_first else f'{declaration}\n<?adf version="1.0"?>'
    )
    return f"""{head}
<adf>
 <prospect status="new">
  <id sequence="1" source={quoteattr(lead.provider.name)}>{escape(lead.lead_id)}</id>
  <requestdate>{lead.requested_at.isoformat(timespec="seconds")}</requestdate>
  <vehicle interest="buy" status="{v.status}">
   <year>{v.year}</year>
   <make>{escape(v.make)}</make>
   <model>{escape(v.model)}</model>
   <trim>{escape(v.trim)}</trim>
   <vin>{v.vin}</vin>
   <price type="asking" currency="USD">{v.price}</price>
  </vehicle>
  <customer>
   <contact primarycontact="1">
{_contact(lead)}
   </contact>{_comment(lead)}
  </customer>
  <vendor>
   <vendorname>{escape(lead.store)}</vendorname>
   <contact><name part="full">Internet Sales</name><email>{escape(lead.store_email)}</email></contact>
  </vendor>
  <provider>
   <name part="full">{escape(lead.provider.name)}</name>
   <service>{escape(lead.provider.name)} Leads</service>
  </provider>
 </prospect>
</adf>
"""


def _contact(lead: AdfLead) -> str:
    c = lead.customer
    if lead.quirks.full_name_only:
        parts = [f'<name part="full">{escape(f"{c.first} {c.last}")}</name>']
    else:
        parts = [f'<name part="first">{escape(c.first)}</name>', f'<name part="last">{escape(c.last)}</name>']
    if c.email:
        parts.append(f"<email>{'mailto:' if lead.quirks.mailto else ''}{escape(c.email)}</email>")
    for number, kind in lead.phones:
        when = ' time="evening"' if kind == "voice" and len(lead.phones) > 1 else ""
        parts.append(f'<phone type="{kind}"{when}>{escape(number)}</phone>')
    return "\n".join(f"    {part}" for part in parts)


def _comment(lead: AdfLead) -> str:
    if not lead.comment:
        return ""
    text = f"<![CDATA[{lead.comment}]]>" if lead.quirks.cdata else escape(lead.comment)
    return f"\n   <comments>{text}</comments>"
