"""Logging in to IMAP: a password, or XOAUTH2 with access tokens bought from a refresh token."""

from __future__ import annotations

import ast
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from replywatch.config import ImapSourceConfig
from replywatch.errors import ConfigError, PermanentSourceError, TransientSourceError

# Errors of RFC 6749 §5.2 that mean the grant itself is gone: revoked, expired, or a wrong client.
_FATAL_GRANT_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"}
_EARLY_S = 60  # renew this long before expiry: a token must not die between LOGIN and the last FETCH


@dataclass
class TokenProvider:
    """Access tokens from an OAuth2 token endpoint (refresh_token grant), cached until near expiry."""

    url: str
    client_id: str
    client_secret: Callable[[], str | None]
    refresh_token: Callable[[], str | None]
    scope: str | None = None
    clock: Callable[[], float] = time.monotonic
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def access_token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or self.clock() >= self._expires_at - _EARLY_S:
                self._token, lifetime = self._redeem()
                self._expires_at = self.clock() + lifetime
            return self._token

    def _redeem(self) -> tuple[str, float]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token() or "",
            "client_id": self.client_id,
        }
        secret = self.client_secret()
        if secret:
            form["client_secret"] = secret
        if self.scope:
            form["scope"] = self.scope
        body = self._post(form)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientSourceError(
                f"XOAUTH2: the token endpoint {self.url} answered without an access_token"
            )
        return token, float(body.get("expires_in") or 3600)

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _json(response.read())
        except urllib.error.HTTPError as exc:
            body = _json(exc.read())
            error = str(body.get("error") or f"HTTP {exc.code}")
            detail = f"{error}: {body.get('error_description')}" if body.get("error_description") else error
            if error in _FATAL_GRANT_ERRORS:
                raise PermanentSourceError(
                    f"XOAUTH2: the token endpoint refused the refresh token ({detail}); "
                    "authorise replywatch for this mailbox again"
                ) from None
            raise TransientSourceError(f"XOAUTH2: token endpoint {self.url}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise TransientSourceError(f"XOAUTH2: token endpoint {self.url} unreachable: {exc}") from None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# One provider per account and process: a daemon that rebuilds its sources keeps its tokens.
_PROVIDERS: dict[tuple[str, str, str], TokenProvider] = {}


def token_provider(cfg: ImapSourceConfig) -> TokenProvider:
    assert cfg.oauth2_token_url and cfg.oauth2_client_id
    key = (cfg.oauth2_token_url, cfg.oauth2_client_id, cfg.username)
    if key not in _PROVIDERS:
        _PROVIDERS[key] = TokenProvider(
            cfg.oauth2_token_url,
            cfg.oauth2_client_id,
            lambda: _secret(cfg, "oauth2_client_secret"),
            lambda: _secret(cfg, "oauth2_refresh_token"),
            cfg.oauth2_scope,
        )
    return _PROVIDERS[key]


def _secret(cfg: ImapSourceConfig, label: str) -> str | None:
    try:
        return cfg.read_secret(label, getattr(cfg, f"{label}_env"), getattr(cfg, f"{label}_file"))
    except ConfigError as exc:
        raise PermanentSourceError(str(exc)) from None


def login(client: IMAPClient, cfg: ImapSourceConfig) -> None:
    """Authenticate; a refused login is permanent (retrying with the same secret will not help)."""
    try:
        if cfg.auth == "xoauth2":
            _oauth2_login(client, cfg, token_provider(cfg))
        else:
            client.login(cfg.username, _secret(cfg, "password") or "")
    except LoginError as exc:
        reason = server_words(exc) or "no reason given"
        raise PermanentSourceError(
            f"{cfg.username} on {cfg.host}: login refused ({reason}); {_what_to_check(cfg)}"
        ) from None


def server_words(exc: BaseException) -> str:
    """What the server said, as text: imaplib hands its reply over as a bytes repr (`b'[AUTH…] …'`)."""
    return _BYTES_REPR.sub(_unrepr, str(exc)).strip()


_BYTES_REPR = re.compile(r"""(?<!\w)b(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


def _unrepr(found: re.Match[str]) -> str:
    try:
        value = ast.literal_eval(found.group(0))
    except (ValueError, SyntaxError):
        return found.group(0)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else found.group(0)


def _what_to_check(cfg: ImapSourceConfig) -> str:
    """Which secret to fix, by the name the configuration gives it (never its value)."""
    if cfg.auth == "xoauth2":
        where = _named(cfg.oauth2_refresh_token_env, cfg.oauth2_refresh_token_file)
        return f"check the username and that the refresh token in {where} grants IMAP access"
    return f"check the username and the password in {_named(cfg.password_env, cfg.password_file)}"


def _named(env: str | None, file: str | None) -> str:
    return f"${env}" if env else str(file)


def _oauth2_login(client: IMAPClient, cfg: ImapSourceConfig, tokens: TokenProvider) -> None:
    try:
        client.oauth2_login(cfg.username, tokens.access_token())
    except LoginError:  # the cached token may have been revoked or expired early: buy one more
        client.oauth2_login(cfg.username, tokens.access_token(fresh=True))
