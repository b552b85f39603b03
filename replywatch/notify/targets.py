"""How one event reaches one `[[notify]]` target: a signed webhook, a Slack or Teams incoming webhook, or
an email through the digest's SMTP server. The outbox calls `deliver` and retries what raises DeliveryError;
a DeliveryError says what went wrong in a line a person can read, and never holds a URL or a secret
(a Slack or Teams URL is itself the key to its channel)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from replywatch import __version__
from replywatch.config import NotifyConfig, SmtpConfig
from replywatch.digest.send import send_mail
from replywatch.errors import ReplywatchError
from replywatch.notify.wording import Wording, describe, one_line
from replywatch.store.db import hide_secrets

log = logging.getLogger(__name__)

USER_AGENT = f"replywatch/{__version__}"
SUBJECT_MAX = 200


class DeliveryError(ReplywatchError):
    """One line a person can read (shown by `notify status`, logged); never a URL or a secret."""


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed and signed: compact JSON, UTF-8, keys in the given order."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, raw: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of raw with secret>`, as GitHub and Stripe sign theirs."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def deliver(target: NotifyConfig, body: Mapping[str, Any], *, smtp: SmtpConfig, zone: tzinfo) -> None:
    """Send one event to one target; return on success (any 2xx for HTTP), raise DeliveryError otherwise.
    `zone` is the store's, for the times shown to people."""
    try:
        if target.type == "email":
            _email(target, body, smtp, zone)
        elif target.type == "webhook":
            _webhook(target, body)
        elif target.type == "slack":
            _post_json(target, slack_payload(describe(body, zone)))
        else:
            _post_json(target, teams_payload(describe(body, zone)))
    except ReplywatchError as exc:  # ConfigError (a secret that cannot be read), SMTP, DeliveryError
        raise DeliveryError(hide_secrets(str(exc), _secrets(target, smtp))) from None


def _webhook(target: NotifyConfig, body: Mapping[str, Any]) -> None:
    secret = target.secret()
    if not secret:
        raise DeliveryError("the webhook secret is empty: nothing to sign with")
    raw = body_bytes(body)
    headers = {
        "Content-Type": "application/json",
        "X-Replywatch-Event-Id": _header_value(body.get("id")),
        "X-Replywatch-Signature": signature(secret, raw),
    }
    _post(target.target_url(), raw, headers, target.timeout)


def _post_json(target: NotifyConfig, payload: Mapping[str, Any]) -> None:
    headers = {"Content-Type": "application/json"}
    slack = target.type == "slack"
    answer = _post(target.target_url(), body_bytes(payload), headers, target.timeout, show_code=slack)
    # A Teams connector answers a throttled post 200 with the error in its body (its documentation says so).
    if target.type == "teams" and "HTTP error 429" in answer:
        raise DeliveryError("Teams: throttled (HTTP error 429 in a 200 answer)")


# --- HTTP -------------------------------------------------------------------------------------------------


def _post(url: str, raw: bytes, headers: dict[str, str], timeout: float, *, show_code: bool = False) -> str:
    """POST without following redirects; returns the start of a 2xx answer, raises DeliveryError for
    anything else, in words that name neither the URL nor what was sent. `show_code`: a refusal's answer
    is a short code worth showing (Slack's `invalid_payload`, `no_service`, `channel_is_archived`)."""
    headers = {**headers, "User-Agent": USER_AGENT}
    try:
        with requests.post(
            url, data=raw, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
        ) as answer:
            status, head = answer.status_code, _head(answer)
    except requests.Timeout:
        raise DeliveryError(f"no answer within {timeout:g} s") from None
    except requests.exceptions.SSLError as exc:
        raise DeliveryError(f"TLS: {_tls_reason(exc)}") from None
    except requests.ConnectionError as exc:
        raise DeliveryError(_connection_reason(exc, timeout)) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"HTTP request failed ({type(exc).__name__})") from None
    if 200 <= status < 300:
        return head
    raise DeliveryError(_status_reason(status, head if show_code else ""))


def _head(answer: requests.Response) -> str:
    """The first bytes of the answer (a Slack error code, a Teams throttling note); never more, however
    much a receiver sends."""
    try:
        return next(answer.iter_content(256), b"").decode("utf-8", "replace")
    except requests.RequestException:
        return ""


def _status_reason(status: int, head: str) -> str:
    reason = f"HTTP {status}"
    if 300 <= status < 400:
        return reason + " (redirects are not followed)"
    # Only a short lower-case code is shown: a longer answer may echo the request, whose path is a secret.
    code = head.strip()
    return f"{reason}: {code}" if re.fullmatch(r"[a-z][a-z_]{2,40}", code) else reason


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every one it wraps (requests → urllib3 → the socket's own error)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        nested = (getattr(e, "reason", None), e.__cause__, e.__context__, *e.args)
        stack.extend(n for n in nested if isinstance(n, BaseException))


def _connection_reason(exc: BaseException, timeout: float) -> str:
    causes = list(_causes(exc))
    for kind, words in (
        (ConnectionRefusedError, "connection refused"),
        (socket.gaierror, "host name not found"),
        (ConnectionResetError, "connection reset"),
        (http.client.RemoteDisconnected, "connection closed without an answer"),
        (TimeoutError, f"no answer within {timeout:g} s"),
    ):
        if any(isinstance(c, kind) for c in causes):
            return words
    errors = [c.strerror for c in causes if isinstance(c, OSError) and c.strerror]
    return f"connection failed: {errors[0].lower()}" if errors else "connection failed"


def _tls_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message
            return "certificate verify failed" + (f" ({detail})" if detail else "")
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError) and cause.reason:
            return str(cause.reason).replace("_", " ").lower()
    return "handshake failed"


def _header_value(value: Any) -> str:
    return re.sub(r"[^\x21-\x7e]", "", str(value or ""))[:200]


def _secrets(target: NotifyConfig, smtp: SmtpConfig) -> list[str]:
    """What must never be shown: the target's URL (and its path and query, which hold a Slack or Teams
    key) and every secret it or the SMTP server names."""
    found = [*target.secret_values(), *(smtp.secret_values() if target.type == "email" else [])]
    urls = [target.url or "", *found]
    for url in urls:
        parts = urlsplit(url) if "://" in url else None
        if parts:
            found += [url, parts.path, parts.query]
    return [s for s in found if len(s) >= 4 and s != "/" and not s.startswith("unreadable: ")]


# --- Slack ------------------------------------------------------------------------------------------------


def slack_escape(value: str) -> str:
    """Slack's documented escaping: `&`, `<` and `>` are its control characters (links, mentions such as
    `<!channel>` and `<@U123>`), so in any text that is not ours they become `&amp;`, `&lt;`, `&gt;`."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(words: Wording) -> dict[str, Any]:
    """An incoming-webhook message: `text` (the notification line) and section blocks. The headline (our
    words) is mrkdwn; every fact is `plain_text`, which Slack never formats, links or turns into a mention
    or an emoji, and is escaped too: data can make no link, no mention and no *bold*. Slack's mrkdwn has
    no escape for `*`, `_` or `~`, hence plain_text rather than mrkdwn for data."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{slack_escape(words.headline)}*"}}
    ]
    fields = [
        {"type": "plain_text", "text": slack_escape(f"{fact.label}: {fact.value}"), "emoji": False}
        for fact in words.facts[:10]  # a section holds at most 10 fields
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    return {
        "text": slack_escape(words.summary),
        "mrkdwn": False,  # the notification line is shown as it is, never formatted
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": blocks,
    }


# --- Teams ------------------------------------------------------------------------------------------------

# Adaptive Cards read TextBlock text and FactSet titles and values as Markdown (CommonMark's bold, italic,
# lists and [links](url)), with no way to turn it off. Data is therefore escaped the CommonMark way, with
# a backslash before every character that could start markup: it keeps the text exactly as it was (a lead
# id copied from the card is the lead id), where look-alike characters or zero-width spaces would change
# it. A leading list marker ("- ", "1. ") is escaped too.
_MARKDOWN = re.compile(r"([\\`*_\[\](){}<>#!~|&])")
_LIST_START = re.compile(r"^(\s*)([-+]|\d+[.)])(?=\s|$)")


def teams_escape(value: str) -> str:
    escaped = _MARKDOWN.sub(r"\\\1", value)
    return _LIST_START.sub(lambda m: m[1] + re.sub(r"([-+.)])", r"\\\1", m[2]), escaped)


def teams_payload(words: Wording) -> dict[str, Any]:
    """The message an incoming webhook or a Workflows "post to a channel when a webhook request is
    received" flow accepts: one Adaptive Card (1.4) attachment, a bold headline and a FactSet."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": teams_escape(words.headline),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if words.facts:
        facts = [{"title": teams_escape(f.label), "value": teams_escape(f.value)} for f in words.facts]
        body.append({"type": "FactSet", "facts": facts})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None}
    return {"type": "message", "attachments": [{**attachment, "content": card}]}


# --- Email ------------------------------------------------------------------------------------------------


def _email(target: NotifyConfig, body: Mapping[str, Any], smtp: SmtpConfig, zone: tzinfo) -> None:
    message = email_message(describe(body, zone), body, smtp.sender, target.to, target.name)
    refused = send_mail(smtp, message)
    if refused:  # some recipients got it: sending again would repeat it to them
        log.warning("notify %s: the mail server refused %s", target.name, ", ".join(sorted(refused)))


def email_message(
    words: Wording, body: Mapping[str, Any], sender: str, recipients: list[str], target: str
) -> EmailMessage:
    """One plain-text email. Every header made from the event is one line (no CR, LF or control
    character can reach a header), and the Message-ID is the same at every attempt, so a mailbox that
    got it twice shows it once."""
    for address in (sender, *recipients):
        if re.search(r"[\x00-\x1f\x7f]", address) or "@" not in address:
            raise DeliveryError(f"{address!r} is not a mail address")
    msg = EmailMessage()
    msg["Subject"] = one_line(words.summary)[:SUBJECT_MAX]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    occurred = _moment(body.get("occurred_at"))
    if occurred is not None:
        msg["Date"] = format_datetime(occurred)
    event_id, kind = _token(body.get("id")), _token(body.get("type"))
    msg["Message-ID"] = f"<notify.{event_id}.{_token(target)}@{_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots must not answer it
    msg["X-Replywatch-Event"] = f"{kind} {event_id}"
    msg.set_content(email_text(words, kind, event_id))
    return msg


def email_text(words: Wording, kind: str, event_id: str) -> str:
    width = max((len(f.label) for f in words.facts), default=0) + 2
    lines = [words.headline, "", *(f"{f.label + ':':<{width}}{f.value}" for f in words.facts)]
    lines += ["", f"Sent by replywatch (event {kind} {event_id})."]
    return "\n".join(lines) + "\n"


def _token(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(value or "")).strip("-.")[:80] or "none"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "replywatch.invalid"


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
