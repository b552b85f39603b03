"""A real SMTP server on loopback (aiosmtpd's Controller) that keeps what it receives, for digest tests.

Plain, STARTTLS (with AUTH only after TLS, as real submission servers do) or implicit TLS, with a
self-signed certificate made by `openssl`; `fail_with` makes it refuse mail, like a server in trouble.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from servers.ports import free_port

USER, PASSWORD = "digest@dealer.example", "s3cret-pw"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """The handler: stores each accepted message; answers `fail_with` instead while it is set."""

    received: list[Received] = field(default_factory=list)
    fail_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_with:
            return self.fail_with
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make a test certificate")
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    mode: str = "plain", certs: tuple[Path, Path] | None = None, port: int | None = None
) -> Iterator[tuple[Recorder, int]]:
    """`mode`: plain, starttls (AUTH required after STARTTLS) or ssl (implicit TLS, AUTH required);
    `port`: a given port (a server that comes back where it was), else a free one."""
    recorder = Recorder()
    kwargs: dict[str, Any] = {}
    if mode != "plain":
        assert certs is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certs[0]), str(certs[1]))
        kwargs = {"authenticator": _authenticate, "auth_required": True}
        if mode == "starttls":
            kwargs |= {"tls_context": context, "require_starttls": True}
        else:  # the whole session is TLS, which aiosmtpd's AUTH check does not see
            kwargs |= {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(recorder, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()
