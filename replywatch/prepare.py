"""The pure half of ingesting an item: parse, classify, decide direction, normalize; no database.

Everything that can fail on bad input fails here, before the batch touches the store, so a bad
item is quarantined without disturbing the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from replywatch.classify import Classification, classify_email, classify_sms
from replywatch.directory import Directory
from replywatch.errors import ParseError
from replywatch.match.normalize import normalize_email, normalize_phone
from replywatch.parse.adf import find_adf, parse_adf
from replywatch.parse.email import parse_email
from replywatch.parse.sms import parse_sms_row
from replywatch.parse.types import CHANNEL_EMAIL, CHANNEL_SMS, INBOUND, OUTBOUND, LeadRecord, ParsedEmail
from replywatch.rules import RuleSet
from replywatch.sources.base import RawItem

SNIPPET_CHARS = 1000
# "Re:" in English and the prefixes other mail clients write (Spanish, German, Nordic, Italian…).
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|r|rif|res|antw|odp|ynt|wg)\s*(\[\d+\])?\s*:", re.IGNORECASE)


@dataclass
class Prepared:
    """One item ready to store: the message's columns, its keys by role, and any leads it carries."""

    item: RawItem
    message: dict[str, Any]
    keys: dict[str, list[str]]
    leads: list[LeadRecord] = field(default_factory=list)

    @property
    def header_message_id(self) -> str | None:
        value = self.message.get("header_message_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Preparer:
    """Prepares items with what one poll knows: who is who, the rules, the source's store."""

    directory: Directory
    rules: RuleSet
    now: datetime
    default_store: str | None = None

    def prepare(self, item: RawItem) -> Prepared:
        if item.channel == CHANNEL_SMS:
            if isinstance(item.payload, bytes):
                raise ParseError("an SMS item must be a row, not bytes")
            return self._sms(item, item.payload)
        if not isinstance(item.payload, bytes):
            raise ParseError("a mail item must be bytes")
        return self._email(item, parse_email(item.payload, fallback_date=item.fallback_date))

    def _email(self, item: RawItem, mail: ParsedEmail) -> Prepared:
        verdict = classify_email(mail, self.rules)
        sender = normalize_email(mail.sender.address) if mail.sender else None
        ours = self.directory.associates_of("email", sender)
        keys = {
            "from": [sender] if sender else [],
            "reply_to": _emails(a.address for a in mail.reply_to),
            "to": _emails(a.address for a in mail.to),
            "cc": _emails(a.address for a in mail.cc),
            "ref": list(dict.fromkeys(mail.in_reply_to + mail.references)),
        }
        outbound = item.in_sent_folder or bool(ours)
        recipients = keys["to"] + keys["cc"]
        if outbound and recipients and all(self.directory.associates_of("email", r) for r in recipients):
            verdict = Classification("internal", "builtin:between-associates")
        message = _columns(
            item,
            channel=CHANNEL_EMAIL,
            direction=OUTBOUND if outbound else INBOUND,
            verdict=verdict,
            sent_at=mail.date or item.fallback_date or self.now,
            sender=sender,
            sender_name=(mail.sender.name or None) if mail.sender else None,
            subject=mail.subject[:1000],
            header_message_id=mail.message_id,
            is_reply=bool(mail.in_reply_to or mail.references or _REPLY_PREFIX.match(mail.subject)),
            snippet=mail.text[:SNIPPET_CHARS],
            associate_id=ours[0] if outbound and ours else None,
            store_id=self.directory.associate_store.get(ours[0]) if outbound and ours else None,
            ingested_at=self.now,
        )
        leads = _adf_records(mail, mail.message_id or item.external_id) if verdict.kind == "lead" else []
        return Prepared(item, message, keys, leads)

    def _sms(self, item: RawItem, row: Mapping[str, str]) -> Prepared:
        sms = parse_sms_row(row, row.get("__dialect__", "generic"))
        store = self.directory.store(self.default_store)
        region = self.directory.region(store.id if store else None)
        sender, recipient = normalize_phone(sms.sender, region), normalize_phone(sms.recipient, region)
        senders_associates = self.directory.associates_of("phone", sender)
        outbound = sms.direction == OUTBOUND or bool(senders_associates)
        ours = senders_associates if outbound else self.directory.associates_of("phone", recipient)
        verdict = classify_sms(sms, self.rules)
        if outbound and verdict.kind in ("opt_out", "opt_in"):
            verdict = Classification("human", "builtin:outbound")  # our own "Reply STOP to opt out"
        message = _columns(
            item,
            channel=CHANNEL_SMS,
            direction=OUTBOUND if outbound else INBOUND,
            verdict=verdict,
            sent_at=sms.sent_at,
            sender=sender or sms.sender[:320],
            sender_name=None,
            subject=None,
            header_message_id=None,
            is_reply=False,
            snippet=sms.body[:SNIPPET_CHARS],
            status=sms.status,
            associate_id=ours[0] if outbound and ours else None,
            store_id=self.directory.associate_store.get(ours[0]) if ours else None,
            ingested_at=self.now,
        )
        keys = {"from": [sender] if sender else [], "to": [recipient] if recipient else []}
        return Prepared(item, message, keys)


def _emails(addresses: Any) -> list[str]:
    return list(dict.fromkeys(e for e in map(normalize_email, addresses) if e))


def _columns(item: RawItem, *, verdict: Classification, **values: Any) -> dict[str, Any]:
    """Every column of a message row, so that a batch inserts with one statement."""
    row = {"status": None, **values}
    row.update(
        source=item.source,
        external_id=item.external_id,
        position=item.position[:1000],
        kind=verdict.kind,
        rule=verdict.rule,
    )
    return row


def _adf_records(mail: ParsedEmail, fallback_id: str) -> list[LeadRecord]:
    """ADF documents from XML attachments, else the text body, else the raw HTML body."""
    for attachment in mail.attachments:
        if attachment.payload and find_adf(attachment.payload.decode("utf-8", "replace")):
            return parse_adf(attachment.payload, fallback_id=fallback_id)
    for body in (mail.text, mail.html):
        if body and find_adf(body):
            return parse_adf(body, fallback_id=fallback_id)
    raise ParseError("lead notice without an ADF document (plain-text provider formats come with rules)")
