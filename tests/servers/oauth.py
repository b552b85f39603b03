"""A stateful OAuth2 token endpoint plus the token-introspection URL Dovecot's oauth2 passdb asks.

Shaped like Google's and Microsoft's: POST /token with grant_type=refresh_token answers
{"access_token", "expires_in", "token_type"} or HTTP 400 {"error": "invalid_grant"}; POST /introspect
with token=… answers {"active": true, "username": …} (RFC 7662) for a live access token.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TokenServer:
    """Issues access tokens for registered refresh tokens; tests revoke either kind."""

    def __init__(self, client_id: str = "replywatch-test", client_secret: str = "s3cret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self.access_tokens: dict[str, tuple[str, str]] = {}  # access token -> (user, refresh token)
        self.token_requests = 0
        self.introspections = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def grant(self, user: str) -> str:
        """A refresh token for the user, as the consent screen would hand out."""
        token = "1//" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[token] = user
        return token

    def revoke_access_tokens(self, user: str) -> None:
        with self._lock:
            for token in [t for t, (u, _) in self.access_tokens.items() if u == user]:
                del self.access_tokens[token]

    def revoke(self, refresh_token: str) -> None:
        """The user removed the app's access: the refresh token and every token it bought die."""
        with self._lock:
            self.refresh_tokens.pop(refresh_token, None)
            for token in [t for t, (_, r) in self.access_tokens.items() if r == refresh_token]:
                del self.access_tokens[token]

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.token_requests += 1
            if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
                return 401, {"error": "invalid_client"}
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or user is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            access = "ya29." + secrets.token_urlsafe(32)
            self.access_tokens[access] = (user, form["refresh_token"])
            return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    def introspect(self, form: dict[str, str]) -> dict[str, object]:
        with self._lock:
            self.introspections += 1
            found = self.access_tokens.get(form.get("token", ""))
        return {"active": True, "username": found[0]} if found else {"active": False}


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if self.path == "/token":
                status, body = server.token(form)
            elif self.path == "/introspect":
                status, body = 200, server.introspect(form)
            else:
                status, body = 404, {"error": "not_found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
