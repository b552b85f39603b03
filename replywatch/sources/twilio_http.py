"""The HTTP client under the Twilio SDK: bounded retries of 429/5xx honouring Retry-After, clear errors."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from replywatch.clock import now
from replywatch.errors import PermanentSourceError, SourceError, TransientSourceError

log = logging.getLogger(__name__)
RETRYABLE = frozenset({429, 500, 502, 503, 504})
_NETWORK = (requests.ConnectionError, requests.Timeout)
_REFUSED = {
    401: "Twilio refused the credentials (check account_sid and the auth token, or the API key and secret)",
    403: "Twilio denied access (these credentials may not read this account's messages)",
    404: "no such account or API path (check account_sid and base_url)",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How long one request keeps trying. Retry-After wins over the backoff when the server sends it."""

    attempts: int = 8
    max_total_s: float = 300.0
    initial_s: float = 1.0
    max_wait_s: float = 60.0
    timeout_s: float = 60.0


class PatientHttpClient(TwilioHttpClient):
    """Each request retries on 429, 5xx and network errors; what is left becomes a SourceError."""

    def __init__(self, source: str, policy: RetryPolicy, interrupt: threading.Event | None = None) -> None:
        super().__init__(timeout=policy.timeout_s)
        self.source, self.policy, self.interrupt = source, policy, interrupt
        jitter = wait_random(0, policy.initial_s)
        self._backoff = wait_exponential(multiplier=policy.initial_s, max=policy.max_wait_s) + jitter

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts) | stop_after_delay(self.policy.max_total_s),
            wait=self._wait,
            retry=retry_if_exception_type(_NETWORK) | retry_if_result(_retryable),
            before_sleep=self._log_retry,
            retry_error_callback=self._give_up,
            sleep=self._sleep,
        )
        response: Response = retrying(super().request, method, url, *args, **kwargs)
        if response.status_code >= 400:
            raise self._error(response, url)
        return response

    def _sleep(self, seconds: float) -> None:
        if self.interrupt is None:
            time.sleep(seconds)
        elif self.interrupt.wait(seconds):
            raise TransientSourceError(f"{self.source}: stopped while waiting to retry Twilio")

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = retry_after(outcome.result().headers, self.policy.max_wait_s)
            if after is not None:
                return after
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        what = f"HTTP {outcome.result().status_code}" if outcome and not outcome.failed else "network error"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s from Twilio, retry %d in %.1f s", self.source, what, state.attempt_number, wait)

    def _give_up(self, state: RetryCallState) -> Response:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            exc = outcome.exception()
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise TransientSourceError(
                f"cannot reach Twilio after {state.attempt_number} tries: {reason}"
            ) from exc
        last: Response = outcome.result()
        return last

    def _error(self, response: Response, url: str) -> SourceError:
        status, detail = response.status_code, _twilio_detail(response.text)
        where = f"HTTP {status} from {urlsplit(url).netloc}{detail}"
        if status in RETRYABLE:
            return TransientSourceError(
                f"Twilio kept answering {where} past the retries; the next poll tries again"
            )
        return PermanentSourceError(f"{_REFUSED.get(status, 'Twilio rejected the request')}: {where}")


def retry_after(headers: Any, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), at most `cap`; None if absent."""
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    text = str(value).strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        return min(max((parsedate_to_datetime(text) - now()).total_seconds(), 0.0), cap)
    except (TypeError, ValueError):
        return None


def _retryable(response: Response) -> bool:
    return response.status_code in RETRYABLE


def _twilio_detail(text: str) -> str:
    """`, Twilio error 20003: Authenticate` from Twilio's JSON error body; empty for anything else."""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(body, dict) or "code" not in body:
        return ""
    return f", Twilio error {body['code']}: {body.get('message', '')}".rstrip(": ")
