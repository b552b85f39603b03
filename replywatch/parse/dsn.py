"""Bounces read: the recipients a delivery report names, with their status (RFC 3464 and MTA prose)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

FAILED = "failed"
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b([45])[0-5][0-9][ -]")
_ADDRESS = re.compile(r"<?((?:\"[^\"\s]+\"|[\w.!#$%&'*+/=?^`{|}~-]+)@[\w-]+(?:\.[\w-]+)+)>?")
_TYPED_ADDRESS = re.compile(r"^\s*(?:rfc822|utf-8)\s*;\s*(.+)$", re.IGNORECASE)
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
# Where MTA prose names the address that failed: the line itself, or the address on the next lines.
_PROSE_LEAD = re.compile(
    r"""(?ix) could\ not\ be\ delivered\ to | following\ (list\ of\ )?(recipient|address)(e?s)?\b
    | address(es)?\ to\ which | rcpt\ to: | delivery\ to\ the\ following | failed\ to\ these\ recipients
    | not\ delivered\ to | error\ delivering
    | failed\ recipient | unknown\ user | user\ unknown | no\ such\ (user|mailbox)
    | mailbox\ (is\ )?(full|unavailable)
    | undeliverable | does\ not\ exist | recipient\ address\ rejected | ^\s*<[^>@\s]+@[^>\s]+>\s*: | said:"""
)
_PROSE_TEXT = 8192  # the report is at the top; the returned original below it names other addresses
_ORIGINAL_MARKERS = re.compile(
    r"(?im)^.*(original message|message headers follow|returned message|\bforwarded)"
)


@dataclass(frozen=True)
class Recipient:
    """One recipient of the bounced mail as the report names it."""

    address: str  # as written (lower-cased)
    action: str  # failed | delayed | delivered | relayed | expanded, "" when the report does not say
    status: str  # "5.1.1", or "" when the report gives none
    diagnostic: str = ""

    @property
    def failed(self) -> bool:
        """Mail to this address did not arrive and will not: the address cannot be reached now."""
        if self.action:
            return self.action == FAILED
        return not self.status.startswith(("2.", "4."))


def read_report(raw: bytes) -> list[Recipient]:
    """The recipients a bounce names: DSN parts, X-Failed-Recipients, Amazon SES JSON, else MTA prose."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = list(_from_dsn_parts(message)) or _from_header(message) or _from_ses(message)
    return _unique(found or _from_prose(message))


def _unique(recipients: list[Recipient]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for recipient in recipients:
        if recipient.address not in seen or (recipient.status and not seen[recipient.address].status):
            seen[recipient.address] = recipient
    return list(seen.values())


def _from_dsn_parts(message: Message) -> Iterator[Recipient]:
    for part in message.walk():
        if part.get_content_type() in _DSN_TYPES:
            yield from _dsn_fields(part)


def _dsn_fields(part: Message) -> Iterator[Recipient]:
    """Per-recipient field groups; the first group is about the whole message and names no recipient."""
    payload = part.get_payload()
    groups = payload if isinstance(payload, list) else [email.message_from_string(_text(part))]
    for group in groups:
        if not isinstance(group, Message):
            continue
        raw = group.get("Final-Recipient") or group.get("Original-Recipient")
        address = _address(str(raw)) if raw else None
        if address:
            yield Recipient(
                address,
                str(group.get("Action", "")).strip().lower(),
                _status(str(group.get("Status", ""))),
                " ".join(str(group.get("Diagnostic-Code", "")).split())[:500],
            )


def _from_header(message: Message) -> list[Recipient]:
    values = message.get_all("X-Failed-Recipients") or []
    return [Recipient(a.lower(), FAILED, "") for v in values for a in _ADDRESS.findall(str(v))]


def _from_ses(message: Message) -> list[Recipient]:
    """Amazon SES's SNS notification: JSON, its "Message" often itself a JSON string."""
    if not str(message.get("From", "")).lower().endswith("@sns.amazonaws.com>"):
        return []
    try:
        document = json.loads(_text(message))
        if isinstance(document.get("Message"), str):
            document = json.loads(document["Message"])
    except (ValueError, AttributeError):
        return []
    bounce = document.get("bounce") if isinstance(document, dict) else None
    entries = bounce.get("bouncedRecipients", []) if isinstance(bounce, dict) else []
    return [
        Recipient(
            str(e["emailAddress"]).lower(), str(e.get("action", FAILED)), _status(str(e.get("status", "")))
        )
        for e in entries
        if isinstance(e, dict) and e.get("emailAddress")
    ]


def _from_prose(message: Message) -> list[Recipient]:
    """Reports without structure: addresses on or just after the lines that say what failed."""
    text = _report_text(message)
    ours = {
        a.lower() for h in ("From", "To", "Return-Path") for a in _ADDRESS.findall(str(message.get(h, "")))
    }
    lines = text.splitlines()
    found: list[Recipient] = []
    for index, line in enumerate(lines):
        if not _PROSE_LEAD.search(line):
            continue
        context = " ".join(lines[index : index + 4])
        status = _status(context) or _smtp_status(context)
        for address in _ADDRESS.findall(" ".join(lines[index : index + 3])):
            if address.lower() not in ours:
                found.append(Recipient(address.lower(), "", status))
    return found


def _report_text(message: Message) -> str:
    """The human-readable report: the first text part, cut before the returned original message."""
    for part in message.walk():
        # A multipart whose boundary parameter was folded wrongly arrives as one text: read it as text.
        if part.get_content_maintype() == "text" or not part.is_multipart():
            text = _text(part)[:_PROSE_TEXT]
            marker = _ORIGINAL_MARKERS.search(text)
            return text[: marker.start()] if marker and marker.start() > 0 else text
    return ""


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _address(field: str) -> str | None:
    typed = _TYPED_ADDRESS.match(field)
    found = _ADDRESS.search(typed.group(1) if typed else field)
    return found.group(1).lower() if found else None


def _status(text: str) -> str:
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else ""


def _smtp_status(text: str) -> str:
    """A bare SMTP reply ("550 user unknown") as the DSN class it stands for."""
    found = _SMTP_REPLY.search(text)
    return f"{found.group(1)}.0.0" if found else ""
