"""MIME mail bytes to a ParsedEmail, with mail-parser; large binary attachments kept by name and size."""

from __future__ import annotations

import base64
import binascii
import email.errors
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parsedate_to_datetime

import mailparser

from replywatch.clock import as_utc
from replywatch.domain.normalize import normalize_message_id, split_message_ids
from replywatch.errors import ParseError
from replywatch.parse.addresses import first_address, parse_addresses
from replywatch.parse.html_text import html_to_text
from replywatch.parse.types import Attachment, ParsedEmail

_XML_TYPES = ("application/xml", "text/xml", "application/adf+xml")
_MAX_XML_ATTACHMENT = 2 * 1024 * 1024


def parse_email(raw: bytes, *, fallback_date: datetime | None = None) -> ParsedEmail:
    """Parse one message. Raises ParseError when the bytes are not a mail at all."""
    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many types on broken input; all mean "unparseable"
        raise ParseError(f"cannot parse MIME: {type(exc).__name__}: {exc}") from None
    message: Message = mail.message
    headers = _headers(message)
    raw_headers = {k: [str(v) for v in message.get_all(k, [])] for k in ("from", "reply-to", "to", "cc")}
    if not any(h in headers for h in ("from", "date", "message-id", "received")):
        raise ParseError("not an email: no From, Date, Message-ID or Received header")
    text = "\n".join(mail.text_plain).strip()
    html = "\n".join(mail.text_html)
    if not text and html:
        text = html_to_text(html)
    return ParsedEmail(
        message_id=normalize_message_id(_first(headers, "message-id")),
        sender=first_address(raw_headers["from"]),
        reply_to=parse_addresses(raw_headers["reply-to"]),
        to=parse_addresses(raw_headers["to"]),
        cc=parse_addresses(raw_headers["cc"]),
        date=_date(headers, fallback_date),
        subject=_first(headers, "subject") or "",
        in_reply_to=split_message_ids(_first(headers, "in-reply-to")),
        references=split_message_ids(" ".join(headers.get("references", []))),
        text=text,
        html=html,
        content_type=_content_type(message),
        headers=headers,
        attachments=[_attachment(a) for a in mail.attachments],
        senders=parse_addresses(raw_headers["from"]),
    )


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for key, value in message.items():
        headers.setdefault(key.lower(), []).append(_decode(value))
    return headers


def _decode(value: object) -> str:
    text = str(value)
    try:
        return str(make_header(decode_header(text))).strip()
    except (UnicodeDecodeError, LookupError, ValueError, binascii.Error, email.errors.MessageError):
        return text.strip()


def _first(headers: dict[str, list[str]], key: str) -> str | None:
    values = headers.get(key)
    return values[0] if values else None


def _date(headers: dict[str, list[str]], fallback: datetime | None) -> datetime | None:
    candidates = headers.get("date", []) + [r.rsplit(";", 1)[-1] for r in headers.get("received", [])[:1]]
    for text in candidates:
        try:
            parsed = parsedate_to_datetime(text.strip())
        except (TypeError, ValueError, IndexError, OverflowError):  # "05:4_1351676802": a huge minute
            continue
        if parsed is not None:
            return as_utc(parsed)
    return as_utc(fallback) if fallback else None


def _content_type(message: Message) -> str:
    ctype = message.get_content_type().lower()
    report = message.get_param("report-type")
    if isinstance(report, str):
        return f"{ctype}; report-type={report.lower()}"
    return ctype


def _attachment(att: dict[str, object]) -> Attachment:
    ctype = str(att.get("mail_content_type") or "application/octet-stream").lower()
    payload_text = str(att.get("payload") or "")
    binary = bool(att.get("binary"))
    size = (len(payload_text) * 3) // 4 if binary else len(payload_text.encode("utf-8"))
    if not payload_text:  # left on the server by the IMAP source, which wrote its size down (RFC 2183)
        size = _declared_size(str(att.get("content-disposition") or "")) or size
    payload: bytes | None = None
    filename = str(att.get("filename") or "")
    if (ctype in _XML_TYPES or filename.lower().endswith(".xml")) and size <= _MAX_XML_ATTACHMENT:
        payload = _decode_payload(payload_text, binary)
        size = len(payload)
    return Attachment(filename=filename, content_type=ctype, size=size, payload=payload)


def _declared_size(disposition: str) -> int | None:
    header = Message()
    header["content-disposition"] = disposition
    value = header.get_param("size", header="content-disposition")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _decode_payload(text: str, binary: bool) -> bytes:
    if not binary:
        return text.encode("utf-8")
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", "replace")
