"""One item into the store: parse it, classify it, decide its direction, keep it, match it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from replywatch.classify import Classification, classify_email, classify_sms
from replywatch.directory import Directory
from replywatch.errors import ParseError
from replywatch.leads import add_leads
from replywatch.match.link import follow_thread, match_message
from replywatch.match.normalize import normalize_email, normalize_phone
from replywatch.parse.adf import find_adf, parse_adf
from replywatch.parse.email import parse_email
from replywatch.parse.sms import parse_sms_row
from replywatch.parse.types import CHANNEL_EMAIL, CHANNEL_SMS, INBOUND, OUTBOUND, LeadRecord, ParsedEmail
from replywatch.rules import RuleSet
from replywatch.sources.base import RawItem
from replywatch.store import repo
from replywatch.store.models import Message, MessageKey

SNIPPET_CHARS = 1000
# "Re:" in English and the prefixes other mail clients write (Spanish, German, Nordic, Italian…).
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|r|rif|res|antw|odp|ynt|wg)\s*(\[\d+\])?\s*:", re.IGNORECASE)


class Ingest:
    """Stores items for one batch; `affected_leads` collects leads whose contact state may change."""

    def __init__(
        self, session: Session, directory: Directory, rules: RuleSet, open_days: int, now: datetime
    ) -> None:
        self.session, self.directory, self.rules = session, directory, rules
        self.open_days, self.now = open_days, now
        self.affected_leads: set[int] = set()
        self.default_store: str | None = None  # the source's store, when its config names one

    def item(self, item: RawItem) -> int:
        """Store one item; returns how many new leads it carried."""
        if item.channel == CHANNEL_SMS:
            assert not isinstance(item.payload, bytes)
            self._sms(item, item.payload)
            return 0
        assert isinstance(item.payload, bytes)
        return self._email(item, parse_email(item.payload, fallback_date=item.fallback_date))

    def _email(self, item: RawItem, mail: ParsedEmail) -> int:
        verdict = classify_email(mail, self.rules)
        sender = normalize_email(mail.sender.address) if mail.sender else None
        senders_associates = self.directory.associates_of("email", sender)
        recipients = [e for e in (normalize_email(a.address) for a in mail.to + mail.cc) if e]
        outbound = item.in_sent_folder or bool(senders_associates)
        kind, rule = verdict.kind, verdict.rule
        if outbound and recipients and all(self.directory.associates_of("email", r) for r in recipients):
            kind, rule = "internal", "builtin:between-associates"
        sent_at = mail.date or item.fallback_date or self.now
        message = self._message(
            item,
            channel=CHANNEL_EMAIL,
            direction=OUTBOUND if outbound else INBOUND,
            kind=kind,
            rule=rule,
            sent_at=sent_at,
            sender=sender,
            sender_name=mail.sender.name if mail.sender else None,
            subject=mail.subject[:1000],
            header_message_id=mail.message_id,
            is_reply=bool(mail.in_reply_to or mail.references or _REPLY_PREFIX.match(mail.subject)),
            snippet=mail.text[:SNIPPET_CHARS],
            associate_id=senders_associates[0] if outbound and senders_associates else None,
        )
        keys = {
            "from": [sender] if sender else [],
            "reply_to": [e for e in (normalize_email(a.address) for a in mail.reply_to) if e],
            "to": [e for e in (normalize_email(a.address) for a in mail.to) if e],
            "cc": [e for e in (normalize_email(a.address) for a in mail.cc) if e],
            "ref": list(dict.fromkeys(mail.in_reply_to + mail.references)),
        }
        self._keys(message, keys)
        if kind == "lead":
            return self._leads(message, mail, item)
        self._match(message)
        return 0

    def _sms(self, item: RawItem, row: Mapping[str, str]) -> None:
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
        message = self._message(
            item,
            channel=CHANNEL_SMS,
            direction=OUTBOUND if outbound else INBOUND,
            kind=verdict.kind,
            rule=verdict.rule,
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
        )
        self._keys(message, {"from": [sender] if sender else [], "to": [recipient] if recipient else []})
        self._match(message)

    def _message(self, item: RawItem, **fields: object) -> Message:
        associate_id = fields.get("associate_id")
        if "store_id" not in fields and isinstance(associate_id, int):
            fields["store_id"] = self.directory.associate_store.get(associate_id)
        message = Message(
            source=item.source,
            external_id=item.external_id,
            position=item.position[:1000],
            ingested_at=self.now,
            **fields,
        )
        self.session.add(message)
        self.session.flush()
        return message

    def _keys(self, message: Message, keys: Mapping[str, list[str]]) -> None:
        for role, values in keys.items():
            for value in dict.fromkeys(values):
                self.session.add(MessageKey(message_id=message.id, role=role, value=value[:500]))
        self.session.flush()

    def _match(self, message: Message) -> None:
        decision = match_message(self.session, message, self.open_days, self.now)
        if decision.lead_id is None:
            return
        self.affected_leads.add(decision.lead_id)
        if message.store_id is None:
            lead = repo.leads_by_ids(self.session, [decision.lead_id])[0]
            message.store_id = lead.store_id
        self.affected_leads |= follow_thread(self.session, message, decision, self.open_days, self.now)

    def _leads(self, message: Message, mail: ParsedEmail, item: RawItem) -> int:
        records = _adf_records(mail, fallback_id=mail.message_id or item.external_id)
        new_ids, affected = add_leads(
            self.session,
            self.directory,
            records,
            fallback_received_at=message.sent_at,
            default_store=self.default_store,
            origin_message_id=message.id,
            open_days=self.open_days,
            now=self.now,
        )
        self.affected_leads |= affected
        return len(new_ids)


def _adf_records(mail: ParsedEmail, fallback_id: str) -> list[LeadRecord]:
    """ADF documents from XML attachments, else the text body, else the raw HTML body."""
    for attachment in mail.attachments:
        if attachment.payload and find_adf(attachment.payload.decode("utf-8", "replace")):
            return parse_adf(attachment.payload, fallback_id=fallback_id)
    for body in (mail.text, mail.html):
        if body and find_adf(body):
            return parse_adf(body, fallback_id=fallback_id)
    raise ParseError("lead notice without an ADF document (plain-text provider formats come with rules)")
