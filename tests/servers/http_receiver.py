"""A real HTTP receiver on loopback for webhook, Slack and Teams deliveries: it records every request
(path, headers, raw body) and answers as a test tells it per path: 2xx, an error status for the first N
requests, or slowly. `dead_url()` names a port nothing listens on. Tests wait on its condition, never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from servers.ports import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered


@dataclass
class _Plan:
    failures_left: int = 0
    failure_status: int = 500
    delay_s: float = 0.0
    status: int = 200


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    plans: dict[str, _Plan] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_first(self, path: str, count: int, status: int = 500) -> None:
        """The first `count` requests to `path` are answered `status`; the later ones 200."""
        with self.changed:
            self.plans[path] = _Plan(failures_left=count, failure_status=status)

    def slow(self, path: str, seconds: float) -> None:
        """Requests to `path` are answered after `seconds`."""
        with self.changed:
            self.plans[path] = _Plan(delay_s=seconds)

    def answer(self, path: str, status: int) -> None:
        """Every request to `path` is answered `status`."""
        with self.changed:
            self.plans[path] = _Plan(status=status)

    def received(self, path: str | None = None, ok_only: bool = False) -> list[Received]:
        with self.changed:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (not ok_only or 200 <= r.status < 300)
            ]

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 30.0) -> bool:
        """Wait until `condition(self)` holds (re-checked at every request), at most `timeout` s."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
        with self.changed:
            plan = self.plans.setdefault(path, _Plan())
            if plan.failures_left > 0:
                plan.failures_left -= 1
                status = plan.failure_status
            else:
                status = plan.status
            return status, plan.delay_s

    def _record(self, received: Received) -> None:
        with self.changed:
            self.requests.append(received)
            self.changed.notify_all()


def start_receiver() -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?", 1)[0]
            status, delay = receiver._respond(path, headers, body)
            if delay:
                time.sleep(delay)  # the slow receiver itself: the sender's timeout is what is tested
            answer = b"ok" if 200 <= status < 300 else b"error"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the sender gave up waiting
                pass
            receiver._record(Received(path, headers, body, status))

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    holder.append(receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), name="http-receiver", daemon=True).start()
    return receiver


def dead_url(path: str = "/hook") -> str:
    """A loopback URL whose port nothing listens on: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}{path}"
