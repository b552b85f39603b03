"""Sending a digest: claim it, build it, render it as one email, hand it to SMTP (STARTTLS or TLS, auth)."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from replywatch.config import Settings, SmtpConfig
from replywatch.digest.build import build_digest
from replywatch.digest.scope import Scope
from replywatch.errors import ConfigError, ReplywatchError
from replywatch.store import Sessions
from replywatch.store.digest_runs import Busy, claim, mark_failed, mark_sent

if TYPE_CHECKING:
    from replywatch.digest.render import Rendered


@dataclass(frozen=True)
class Outcome:
    scope: str
    week: date
    status: str  # "sent", "failed" or "skipped"
    detail: str


def compose(sessions: Sessions, settings: Settings, scope: Scope, week: date, now: datetime) -> EmailMessage:
    from replywatch.digest.render import render  # Jinja loads when a digest is due, not with the daemon

    with sessions() as session:
        digest = build_digest(session, scope, week, now, settings.digest.baseline_weeks)
    sender = settings.digest.smtp.sender
    return digest_message(render(digest), sender, scope.recipients, scope.name, week, now)


def deliver(
    sessions: Sessions,
    settings: Settings,
    scope: Scope,
    week: date,
    now: datetime,
    worker: str,
    *,
    retry_now: bool = False,
) -> Outcome:
    """Claim, send, mark: a digest goes once; a failure stays in digest_runs to be retried."""
    if not scope.recipients:
        return Outcome(scope.name, week, "skipped", "no recipients configured")
    first_retry = timedelta(seconds=settings.digest.retry_seconds)
    got = claim(sessions, scope.name, week, worker, now, retry_now=retry_now, first_retry=first_retry)
    if isinstance(got, Busy):
        return Outcome(scope.name, week, "skipped", got.reason)
    try:
        refused = send_mail(settings.digest.smtp, compose(sessions, settings, scope, week, now))
    except Exception as exc:
        # Whatever broke, the claim must not stay "sending": record it so it is seen and retried.
        mark_failed(sessions, got, str(exc) or type(exc).__name__)
        if not isinstance(exc, ReplywatchError):
            raise
        return Outcome(scope.name, week, "failed", str(exc))
    note = f"refused by the server: {', '.join(sorted(refused))}" if refused else None
    mark_sent(sessions, got, now, note)
    sent_to = len(scope.recipients) - len(refused)
    return Outcome(scope.name, week, "sent", f"to {sent_to} recipient(s)" + (f"; {note}" if note else ""))


def digest_message(
    rendered: Rendered, sender: str, recipients: Sequence[str], scope: str, week: date, now: datetime
) -> EmailMessage:
    from replywatch.digest.render import CHART_CID

    for address in (sender, *recipients):
        if re.search(r"[\r\n]", address) or "@" not in address:
            raise ConfigError(f"digest: {address!r} is not a mail address")
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now)
    # The same id for every attempt at one scope and week: a mailbox that got it twice shows it once.
    msg["Message-ID"] = f"<digest.{week.isoformat()}.{_slug(scope)}@{_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots must not answer it
    msg["X-Replywatch-Digest"] = f"{_slug(scope)} {week.isoformat()}"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        rendered.chart_png,
        maintype="image",
        subtype="png",
        cid=f"<{CHART_CID}>",
        filename="contact-trend.png",
    )
    return msg


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "scope"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "replywatch.invalid"


def send_mail(cfg: SmtpConfig, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """One SMTP session; returns the recipients the server refused (when it accepted some)."""
    port = cfg.effective_port
    try:
        client = _connect(cfg, port)
        with client:
            if cfg.mode == "starttls":
                client.starttls(context=_tls_context(cfg))
            if cfg.username:
                client.login(cfg.username, cfg.password() or "")
            return client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        reason = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        raise ReplywatchError(f"SMTP {cfg.host}:{port}: {exc.smtp_code} {reason}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise ReplywatchError(
            f"SMTP {cfg.host}:{port}: every recipient refused ({', '.join(exc.recipients)})"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:  # "STARTTLS extension not supported by server."
        fix = "use ssl = true (port 465), or starttls = false (plain text: loopback or insecure = true only)"
        raise ReplywatchError(f"SMTP {cfg.host}:{port}: {str(exc).rstrip('.')}; {fix}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ReplywatchError(f"SMTP {cfg.host}:{port}: {exc or type(exc).__name__}") from None


def _connect(cfg: SmtpConfig, port: int) -> smtplib.SMTP:
    if cfg.mode == "ssl":
        return smtplib.SMTP_SSL(cfg.host, port, timeout=cfg.timeout, context=_tls_context(cfg))
    return smtplib.SMTP(cfg.host, port, timeout=cfg.timeout)


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cfg.ca_file)
    if cfg.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
