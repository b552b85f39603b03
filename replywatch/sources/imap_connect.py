"""One IMAP connection that heals itself: TLS as configured, login, backoff reconnects."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from replywatch.config import ImapSourceConfig
from replywatch.errors import PermanentSourceError, TransientSourceError
from replywatch.sources.imap_auth import login

T = TypeVar("T")
log = logging.getLogger("replywatch.sources.imap")


@dataclass(frozen=True)
class Backoff:
    """Reconnect attempts and their exponential waits (first, 2×first, … up to `most` seconds)."""

    attempts: int = 6
    first: float = 0.5
    most: float = 30.0


def _dropped(exc: BaseException) -> bool:
    """Worth reconnecting: a lost link. A certificate, a TLS handshake or a host name that is wrong
    stays wrong: that is a configuration mistake (see `misconfigured`), reported at once."""
    if isinstance(exc, ssl.SSLCertVerificationError) or _tls_mismatch(exc) or _unknown_host(exc):
        return False
    return isinstance(exc, OSError | IMAPClientAbortError)


def _tls_mismatch(exc: BaseException) -> bool:
    """The TLS handshake met no TLS (`tls = true` against a plain-text port) or an unknown protocol."""
    reason = getattr(exc, "reason", None) or ""
    return isinstance(exc, ssl.SSLError) and reason in _NOT_TLS


# OpenSSL's reasons when the other side does not answer in TLS (a plain IMAP greeting read as a record).
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def _unknown_host(exc: BaseException) -> bool:
    """The name does not resolve: NXDOMAIN or no address (EAI_AGAIN, a resolver hiccup, is retried)."""
    return isinstance(exc, socket.gaierror) and exc.errno in _NO_SUCH_HOST


_NO_SUCH_HOST = frozenset(
    code for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY") if (code := getattr(socket, name, None))
)


def misconfigured(cfg: ImapSourceConfig, exc: BaseException) -> PermanentSourceError | None:
    """The configuration error `exc` reveals, with the fix to make; None for a transient failure."""
    where = f"{cfg.host}:{cfg.effective_port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentSourceError(
            f"{cfg.host}: TLS certificate not trusted ({exc.verify_message}); "
            "set ca_file to the CA that signed it"
        )
    if _tls_mismatch(exc):
        fix = (
            "the port speaks plain text: use starttls = true (port 143) or tls = true on port 993"
            if cfg.mode == "tls"
            else "check the port and the tls/starttls keys"
        )
        return PermanentSourceError(f"{where}: the TLS handshake failed ({exc.reason}); {fix}")  # type: ignore[attr-defined]
    if _unknown_host(exc):
        return PermanentSourceError(f"{cfg.host}: no such host ({exc.strerror}); check the host key")  # type: ignore[attr-defined]
    return None


def tls_context(cfg: ImapSourceConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cfg.ca_file)
    if cfg.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Connection:
    """Runs commands on a logged-in client; a dropped link is reopened and the folder selected again."""

    def __init__(self, cfg: ImapSourceConfig, backoff: Backoff) -> None:
        self.cfg, self.backoff = cfg, backoff
        self._client: IMAPClient | None = None
        self.folder: str | None = None
        self.uidvalidity: int | None = None
        self.aborted = False
        self._down_since: float | None = None  # monotonic: when the link dropped, until it is back

    @property
    def where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.effective_port}"

    def abort(self) -> None:
        """Cut the link from another thread (the daemon's watchdog): a blocked read wakes with an error,
        and no reconnect follows."""
        self.aborted = True
        client = self._client
        if client is not None:
            _shutdown(client)

    def _dropped_link(self, state: RetryCallState) -> None:
        """Before a reconnect: the drop is logged once, with why; the reconnect says how long it took."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            error = state.outcome.exception() if state.outcome else None
            log.info(
                "connection to %s lost (%s); reconnecting",
                self.where,
                error or "closed",
                extra={"source": self.cfg.name},
            )
        self._forget()

    def call(self, command: Callable[[IMAPClient], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception(_dropped),
            wait=wait_exponential(multiplier=self.backoff.first, max=self.backoff.most),
            stop=stop_after_attempt(self.backoff.attempts),
            before_sleep=self._dropped_link,
            reraise=True,
        )
        try:
            return retrying(lambda: command(self._client or self._open()))
        except (OSError, IMAPClientAbortError) as exc:
            self._forget()
            mistake = misconfigured(self.cfg, exc)
            if mistake is not None:
                raise mistake from None
            raise TransientSourceError(
                f"{self.cfg.host}:{self.cfg.effective_port}: connection lost, "
                f"{self.backoff.attempts} attempts failed: {exc or type(exc).__name__}"
            ) from None

    def select(self, folder: str) -> dict[bytes, Any]:
        """EXAMINE the folder (read-only: nothing we do can change a flag); returns its status."""
        self.folder, self.uidvalidity = None, None
        info = self.call(lambda c: c.select_folder(folder, readonly=True))
        self.folder, self.uidvalidity = folder, int(info[b"UIDVALIDITY"])
        return info

    def client(self) -> IMAPClient:
        return self._client or self._open()

    def _open(self) -> IMAPClient:
        cfg = self.cfg
        if self.aborted:
            raise TransientSourceError(f"{self.where}: connection cut by the watchdog")
        context = tls_context(cfg)
        client = IMAPClient(
            cfg.host, port=cfg.effective_port, ssl=cfg.mode == "tls", ssl_context=context, timeout=cfg.timeout
        )
        client.normalise_times = False  # aware INTERNALDATEs, whatever this machine's zone
        try:
            if cfg.mode == "starttls":
                _starttls(client, context, cfg.host)
            login(client, cfg)
            if self.folder:
                self._reselect(client, self.folder)
        except BaseException:
            _shutdown(client)
            raise
        self._client = client
        if self._down_since is not None:
            down = time.monotonic() - self._down_since
            self._down_since = None
            log.info(
                "reconnected to %s after %.1f s",
                self.where,
                down,
                extra={"source": cfg.name, "down_s": round(down, 1)},
            )
        return client

    def _reselect(self, client: IMAPClient, folder: str) -> None:
        info = client.select_folder(folder, readonly=True)
        if int(info[b"UIDVALIDITY"]) != self.uidvalidity:
            raise TransientSourceError(
                f"{folder}: UIDVALIDITY changed during the poll; it is read again next poll"
            )

    def _forget(self) -> None:
        if self._client is not None:
            _shutdown(self._client)
        self._client = None

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, IMAPClientError):
                self._client.logout()
        self._forget()


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(OSError, IMAPClientError):
        client.shutdown()


def _starttls(client: IMAPClient, context: ssl.SSLContext, host: str) -> None:
    try:
        client.starttls(context)
    except CapabilityError:
        raise PermanentSourceError(
            f"{host}: the server does not offer STARTTLS; use tls = true (port 993), or starttls = false"
            " and insecure = true if it only speaks plain text"
        ) from None
