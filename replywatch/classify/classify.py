"""Gives each parsed email or SMS its kind (human, bounce, opt_out, …) by the first matching rule."""

from __future__ import annotations

import re
from dataclasses import dataclass

from replywatch.classify.rules import BODY_LIMIT, MessageView, RuleSet, sms_keyword
from replywatch.domain.vocabulary import Channel
from replywatch.parse.replies import reply_text
from replywatch.parse.types import ParsedEmail, ParsedSms

HUMAN = "human"
DEFAULT_RULE = "default"
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Classification:
    """A message's kind and the rule that decided it ("default" when none matched)."""

    kind: str
    rule: str


DEFAULT = Classification(HUMAN, DEFAULT_RULE)


def classify_email(email: ParsedEmail, rules: RuleSet, reply: str | None = None) -> Classification:
    """The kind of one email under `rules`; human when no rule matches. `reply` is its reply text when
    the caller has it already (else it is worked out here)."""
    return _decide(email_view(email, reply), rules)


def classify_sms(sms: ParsedSms, rules: RuleSet) -> Classification:
    """The kind of one SMS under `rules`; human when no rule matches."""
    return _decide(sms_view(sms), rules)


def _decide(view: MessageView, rules: RuleSet) -> Classification:
    rule = rules.first_match(view)
    return DEFAULT if rule is None else Classification(rule.kind, rule.name)


def email_reply_text(email: ParsedEmail, limit: int | None = BODY_LIMIT) -> str:
    """The new text of an email (the HTML converted to text when it has no text part)."""
    return reply_text(email.text, limit)


def email_view(email: ParsedEmail, reply: str | None = None) -> MessageView:
    """What the rule conditions read of an email."""
    content_type, report_type = _content_type(email)
    return MessageView(
        channel=Channel.EMAIL,
        subject=email.subject,
        sender=email.sender.address if email.sender else "",
        body=(email.text or email.html)[:BODY_LIMIT],
        content_type=content_type,
        report_type=report_type,
        headers=email.headers,
        attachment_types=tuple(_mime_type(attachment.content_type) for attachment in email.attachments),
        attachment_texts=tuple(
            attachment.payload[:BODY_LIMIT].decode("utf-8", "replace")
            for attachment in email.attachments
            if attachment.payload
        ),
        reply=(email_reply_text(email) if reply is None else reply)[:BODY_LIMIT],
    )


def sms_view(sms: ParsedSms) -> MessageView:
    """What the rule conditions read of an SMS."""
    body = sms.body[:BODY_LIMIT]
    return MessageView(
        channel=Channel.SMS, sender=sms.sender, body=body, keyword=sms_keyword(sms.body), reply=body
    )


def _mime_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _content_type(email: ParsedEmail) -> tuple[str, str]:
    """MIME type and report-type; the raw header is the fallback when the parser dropped the parameter."""
    raw = email.headers.get("content-type") or [""]
    mime_type = _mime_type(email.content_type or raw[0])
    found = _REPORT_TYPE.search(email.content_type) or _REPORT_TYPE.search(raw[0])
    return mime_type, found.group(1).lower() if found else ""
