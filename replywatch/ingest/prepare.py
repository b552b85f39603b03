"""The pure half of ingesting an item: parse, classify, decide direction, normalize; no database.

Everything that can fail on bad input fails here, before the batch touches the store, so a bad
item is quarantined without disturbing the others. Full bodies are not kept: the snippet is the
reply text (what the person newly wrote), at most SNIPPET_CHARS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.parser import BytesHeaderParser
from typing import Any

from replywatch.classify.classify import Classification, classify_email, classify_sms, email_reply_text
from replywatch.classify.rules import BODY_LIMIT, RuleSet
from replywatch.domain.calls import CallOutcome
from replywatch.domain.normalize import normalize_email, normalize_phone
from replywatch.domain.vocabulary import PHONE_CHANNELS, Channel, Direction, Kind
from replywatch.errors import ParseError
from replywatch.ingest.calls import call_parties
from replywatch.ingest.directory import Directory
from replywatch.parse.adf import NOTICE_LIMITS, find_adf, parse_adf
from replywatch.parse.auth_results import failed_authentication
from replywatch.parse.calls import GENERIC as CALLS_GENERIC
from replywatch.parse.calls import parse_call_row
from replywatch.parse.dsn import read_report
from replywatch.parse.email import parse_email
from replywatch.parse.providers import parse_notice
from replywatch.parse.sent_time import sent_time
from replywatch.parse.sms import GENERIC, parse_sms_row
from replywatch.parse.types import LeadRecord, ParsedEmail
from replywatch.sources.base import RawItem
from replywatch.store.models import KEY_LENGTH, MESSAGE_TEXT_LENGTHS, clip_texts

SNIPPET_CHARS = 1000
CONSENT_KINDS = (Kind.OPT_OUT, Kind.OPT_IN)
UNPARSABLE = "unparsable"
# "Re:" in English and the prefixes other mail clients write (Spanish, German, Nordic, Italian…).
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|r|rif|res|antw|odp|ynt|wg)\s*(\[\d+\])?\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class PreparedMessage:
    """Every column of a message's row, texts clipped to their columns (the same on every backend:
    PostgreSQL's typed inserts would clip, SQLite would keep it whole, and what is matched in memory must
    equal what is read back)."""

    source: str
    external_id: str
    position: str
    channel: str
    direction: str
    kind: str
    rule: str | None
    sent_at: datetime
    sender: str | None
    sender_name: str | None
    subject: str | None
    header_message_id: str | None
    is_reply: bool
    snippet: str | None
    associate_id: int | None
    store_id: int | None
    ingested_at: datetime
    status: str | None = None  # a text's delivery status, how a call ended; mail has none
    duration_s: int | None = None  # a call's length
    answered_by: str | None = None  # who took a call: human, machine…
    time_source: str | None = None  # which time sent_at is (parse.sent_time.TimeSource); none for texts
    auth_failed: bool | None = None  # our server found the sender failing DMARC/SPF; none for texts

    @classmethod
    def clipped(cls, **columns: Any) -> PreparedMessage:
        return cls(**clip_texts(columns, MESSAGE_TEXT_LENGTHS))

    def columns(self) -> Mapping[str, Any]:
        """Column → value, for the bulk insert (a view of the record: not to be changed)."""
        return self.__dict__


@dataclass(frozen=True)
class Prepared:
    """One item ready to store: its message row, its keys by role, and any leads it carries."""

    item: RawItem
    message: PreparedMessage
    keys: dict[str, list[str]]
    leads: list[LeadRecord] = field(default_factory=list)
    bounced: dict[str, str] = field(default_factory=dict)  # address that cannot be reached → its status


@dataclass(frozen=True)
class Verdict:
    """How the rules see one mail on its own: kind, deciding rule, reply text; or why it cannot be read."""

    kind: str
    rule: str
    reply_text: str
    error: str | None = None


def read_email(raw: bytes, fallback_date: datetime | None = None) -> ParsedEmail:
    """Parse mail bytes whatever their line ends; ParseError when they are not a mail."""
    mail = with_lf(raw)
    try:
        return _parse(mail, fallback_date)
    except ParseError:
        closed = _closed_multipart(mail)
        if closed is None:
            raise
        return _parse(closed, fallback_date)


def _parse(mail: bytes, fallback_date: datetime | None) -> ParsedEmail:
    try:
        return parse_email(mail, fallback_date=fallback_date)
    except MessageError as exc:  # a header the stdlib cannot decode (unknown charset, broken base64 word)
        raise ParseError(f"cannot decode a header: {type(exc).__name__}: {exc}") from None


def _closed_multipart(raw: bytes) -> bytes | None:
    """A multipart cut short, closed: bounces often return a truncated original, and mail-parser fails
    on a top-level multipart without its closing boundary. None when that is not the trouble."""
    boundary = BytesHeaderParser().parsebytes(raw).get_boundary()
    if not boundary or f"--{boundary}--".encode() in raw:
        return None
    return raw.rstrip(b"\n") + f"\n\n--{boundary}--\n".encode()


def verdict(raw: bytes, rules: RuleSet) -> Verdict:
    """The kind, rule and full reply text of one mail, as ingest would classify it before knowing who
    is who (an associate's mail would be outbound or internal there). Never raises: bad mail says why."""
    try:
        mail = read_email(raw)
        reply = email_reply_text(mail, limit=None)
        found = classify_email(mail, rules, reply[:BODY_LIMIT])
    except Exception as exc:  # like ingest, which quarantines whatever fails: one bad file stops nothing
        return Verdict(UNPARSABLE, "", "", str(exc) if isinstance(exc, ParseError) else repr(exc))
    return Verdict(found.kind, found.rule, reply)


@dataclass(frozen=True)
class Preparer:
    """Prepares items with what one poll knows: who is who, the rules, the source's store."""

    directory: Directory
    rules: RuleSet
    now: datetime
    default_store: str | None = None
    trusted_authserv_ids: tuple[str, ...] = ()  # whose Authentication-Results are believed

    def prepare(self, item: RawItem) -> Prepared:
        if item.error:
            raise ParseError(item.error)
        if item.channel in PHONE_CHANNELS:
            if isinstance(item.payload, bytes):
                what = "a call" if item.channel == Channel.CALL else "an SMS"
                raise ParseError(f"{what} item must be a row, not bytes")
            if item.channel == Channel.CALL:
                return self._call(item, item.payload)
            return self._sms(item, item.payload)
        if not isinstance(item.payload, bytes):
            raise ParseError("a mail item must be bytes")
        raw = with_lf(item.payload)
        return self._email(item, raw, read_email(raw, item.fallback_date))

    def _email(self, item: RawItem, raw: bytes, mail: ParsedEmail) -> Prepared:
        reply = email_reply_text(mail, BODY_LIMIT)
        found = classify_email(mail, self.rules, reply)
        sender = normalize_email(mail.sender.address) if mail.sender else None
        ours = self.directory.associates_of("email", sender)
        keys = {
            "from": _emails([*([sender] if sender else []), *(a.address for a in mail.senders)]),
            "reply_to": _emails(a.address for a in mail.reply_to),
            "to": _emails(a.address for a in mail.to),
            "cc": _emails(a.address for a in mail.cc),
            "ref": _refs(mail.in_reply_to + mail.references),
        }
        forged = failed_authentication(mail.headers, self.trusted_authserv_ids)
        if forged and not item.in_sent_folder:
            ours = []  # a mail claiming one of our addresses that our server could not verify is no touch
        outbound = item.in_sent_folder or bool(ours)
        found = self._email_context(found, outbound, keys["to"] + keys["cc"])
        bounced = _bounced(raw) if found.kind == Kind.BOUNCE else {}
        sent_at, time_source = sent_time(mail.headers, item.fallback_date, self.now)
        message = _message(
            item,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            verdict=found,
            sent_at=sent_at,
            time_source=time_source,
            auth_failed=forged,
            sender=sender,
            sender_name=(mail.sender.name or None) if mail.sender else None,
            subject=mail.subject,
            header_message_id=mail.message_id,
            is_reply=bool(mail.in_reply_to or mail.references or _REPLY_PREFIX.match(mail.subject)),
            snippet=_snippet(reply, bounced),
            associate_id=ours[0] if outbound and ours else None,
            store_id=self.directory.associate_store.get(ours[0]) if outbound and ours else None,
            ingested_at=self.now,
        )
        leads = (
            self._leads(mail, found, mail.message_id or item.external_id) if found.kind == Kind.LEAD else []
        )
        return Prepared(item, message, keys, leads, bounced)

    def _email_context(
        self, verdict: Classification, outbound: bool, recipients: list[str]
    ) -> Classification:
        """What the rules cannot know: who is one of us."""
        if outbound and recipients and all(self.directory.associates_of("email", r) for r in recipients):
            return Classification(Kind.INTERNAL, "builtin:between-associates")
        if outbound and verdict.kind in CONSENT_KINDS:
            return Classification(Kind.HUMAN, "builtin:outbound")  # our own "reply STOP to unsubscribe"
        return verdict

    def _leads(self, mail: ParsedEmail, verdict: Classification, fallback_id: str) -> list[LeadRecord]:
        notice = self.rules.notice_format(verdict.rule)
        if notice is None:
            return _adf_records(mail, fallback_id)
        return [parse_notice(mail.text, notice, fallback_id)]

    def _sms(self, item: RawItem, row: Mapping[str, str]) -> Prepared:
        sms = parse_sms_row(row, item.dialect or GENERIC)
        store = self.directory.store(self.default_store)
        region = self.directory.region(store.id if store else None)
        sender, recipient = normalize_phone(sms.sender, region), normalize_phone(sms.recipient, region)
        senders_associates = self.directory.associates_of("phone", sender)
        outbound = sms.direction == Direction.OUTBOUND or bool(senders_associates)
        ours = senders_associates if outbound else self.directory.associates_of("phone", recipient)
        verdict = classify_sms(sms, self.rules)
        if outbound and verdict.kind in CONSENT_KINDS:
            verdict = Classification(Kind.HUMAN, "builtin:outbound")  # our own "Reply STOP to opt out"
        message = _message(
            item,
            channel=Channel.SMS,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            verdict=verdict,
            sent_at=sms.sent_at,
            sender=sender or sms.sender,
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

    def _call(self, item: RawItem, row: Mapping[str, str]) -> Prepared:
        store = self.directory.store(self.default_store) or self.directory.default_store
        region, zone = (store.region, store.zone) if store else ("US", UTC)
        call = parse_call_row(row, item.dialect or CALLS_GENERIC, region, zone)
        parties = call_parties(call, self.directory, region)
        outcome = CallOutcome(call.status, call.duration_s, call.answered_by)
        message = _message(
            item,
            channel=Channel.CALL,
            direction=parties.direction,
            verdict=Classification(parties.kind, "builtin:call"),
            sent_at=call.started_at,
            sender=parties.sender,
            sender_name=None,
            subject=None,
            header_message_id=None,
            is_reply=False,
            snippet=outcome.describe(),
            status=call.status,
            duration_s=call.duration_s,
            answered_by=call.answered_by,
            associate_id=parties.associate_id,
            store_id=self.directory.associate_store.get(parties.associate_id or 0),
            ingested_at=self.now,
        )
        return Prepared(item, message, parties.keys())


def with_lf(raw: bytes) -> bytes:
    """Mail with LF line ends: CRLF (as IMAP serves it) and bare CR (old Macs) parse like LF originals."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in raw else raw


def _bounced(raw: bytes) -> dict[str, str]:
    """Addresses a bounce reports as unreachable, normalized, with their status."""
    found: dict[str, str] = {}
    for recipient in read_report(raw):
        address = normalize_email(recipient.address)
        if recipient.failed and address:
            found[address] = recipient.status
    return found


def _snippet(reply: str, bounced: dict[str, str]) -> str:
    """The reply text; for a bounce, first the addresses that could not be reached."""
    if not bounced:
        return reply[:SNIPPET_CHARS]
    failed = ", ".join(f"{address} ({status})" if status else address for address, status in bounced.items())
    return f"undeliverable to {failed}\n{reply}"[:SNIPPET_CHARS]


def _emails(addresses: Any) -> list[str]:
    return list(dict.fromkeys(e for e in map(normalize_email, addresses) if e))


def _message(item: RawItem, *, verdict: Classification, **values: Any) -> PreparedMessage:
    """The message row of an item, with what every row takes from the item and its verdict."""
    return PreparedMessage.clipped(
        source=item.source,
        external_id=item.external_id,
        position=item.position,
        kind=verdict.kind,
        rule=verdict.rule,
        **values,
    )


def _refs(message_ids: list[str]) -> list[str]:
    """The message-ids a mail refers to, each as long as a key holds (as its message's own id is kept)."""
    return list(dict.fromkeys(ref[:KEY_LENGTH] for ref in message_ids))


def _adf_records(mail: ParsedEmail, fallback_id: str) -> list[LeadRecord]:
    """ADF documents from XML attachments, else the text body, else the raw HTML body."""
    for attachment in mail.attachments:
        if attachment.payload and find_adf(attachment.payload.decode("utf-8", "replace")):
            return parse_adf(attachment.payload, fallback_id=fallback_id, limits=NOTICE_LIMITS)
    for body in (mail.text, mail.html):
        if body and find_adf(body):
            return parse_adf(body, fallback_id=fallback_id, limits=NOTICE_LIMITS)
    raise ParseError("lead notice without an ADF document (plain-text provider formats come with rules)")
