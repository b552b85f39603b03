"""One event to one [[notify]] target through real servers: a signed webhook and Slack and Teams incoming
webhooks to the loopback HTTP receiver (payloads checked against the documented shapes), an email through
the real SMTP server; failures told in a line that names no URL and no secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator
from servers.http_receiver import Receiver, dead_url
from servers.smtp import self_signed, smtp_server

from replywatch.config import NotifyConfig, SmtpConfig
from replywatch.notify.targets import DeliveryError, deliver

CHICAGO = ZoneInfo("America/Chicago")
SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "notify"
HMAC_SECRET = "whsec-7f3a9c-do-not-show"
SLACK_PATH = "/services/T0001/B0002/slackKey9Xq2"
TEAMS_PATH = "/webhookb2/teamsKey4Lm7/IncomingWebhook/abc"
NO_SMTP = SmtpConfig()  # HTTP targets never use it
HOSTILE_ID = "<!channel> [x](http://evil) *bold*"
HOSTILE_ASSOCIATE = "<@U024BE7LH|boss> _it_"


def lead_event(kind: str = "lead.untouched", **lead: Any) -> dict[str, Any]:
    """A body of the webhook contract, for a lead of Main Street Honda received at 08:59 in Chicago."""
    body: dict[str, Any] = {
        "id": "5b0c7a52-2f7e-4d38-9b7e-0c6e1f1d2a11",
        "type": kind,
        "occurred_at": "2026-12-07T15:14:00Z",
        "lead": {
            "lead_id": "12345",
            "store": "Main Street Honda",
            "source": "cars.com",
            "associate": "Dana Lee",
            "received_at": "2026-12-07T14:59:00Z",
            "first_touch_at": None,
            "contacted": False,
            "contact_at": None,
            "contact_channel": None,
            "time_to_contact_s": None,
            "opted_out": False,
        },
        "waited_minutes": 15,
    }
    body["lead"].update(lead)
    return body


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, http_receiver: Receiver) -> None:
    """The HMAC key and the Slack and Teams URLs, named by environment variables as in a real config."""
    monkeypatch.setenv("RW_TEST_HMAC", HMAC_SECRET)
    monkeypatch.setenv("RW_TEST_SLACK_URL", http_receiver.url(SLACK_PATH))
    monkeypatch.setenv("RW_TEST_TEAMS_URL", http_receiver.url(TEAMS_PATH))


def webhook(url: str, timeout: float = 10.0) -> NotifyConfig:
    return NotifyConfig(
        name="crm",
        type="webhook",
        url=url,
        secret_env="RW_TEST_HMAC",
        events=["lead.contacted"],
        timeout=timeout,
    )


def chat(kind: str, env: str, timeout: float = 10.0) -> NotifyConfig:
    """A Slack or Teams target, its URL named by an environment variable (a chat URL is a secret)."""
    fields = {"name": kind, "type": kind, "url_env": env, "events": ["lead.untouched"], "timeout": timeout}
    return NotifyConfig.model_validate(fields)


def only_request(receiver: Receiver, path: str) -> Any:
    """The one request the receiver got at `path` (it records it just after answering: wait for it)."""
    assert receiver.wait_for(lambda r: len(r.received(path)) >= 1, timeout=10)
    [request] = receiver.received(path)
    return request


def schema(name: str) -> Draft202012Validator:
    loaded = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(loaded)
    return Draft202012Validator(loaded)


def test_a_webhook_delivery_is_signed_over_the_raw_body_it_carries(
    http_receiver: Receiver, secrets: None
) -> None:
    # Given a webhook target with its HMAC secret, and a lead event
    body = lead_event(
        "lead.contacted", contacted=True, contact_at="2026-12-07T15:20:00Z", contact_channel="sms"
    )
    # When it is delivered
    deliver(webhook(http_receiver.url("/hook")), body, smtp=NO_SMTP, zone=CHICAGO)
    # Then the receiver can check the signature over the exact bytes it got, and the body is the event
    got = only_request(http_receiver, "/hook")
    expected = "sha256=" + hmac.new(HMAC_SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-replywatch-signature"], expected)
    assert got.headers["x-replywatch-event-id"] == body["id"]
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("replywatch/")
    assert json.loads(got.body) == body
    assert list(json.loads(got.body)) == list(body)  # keys in the contract's order


def test_a_500_is_a_failure_named_by_its_status(http_receiver: Receiver, secrets: None) -> None:
    http_receiver.answer("/hook", 500)
    with pytest.raises(DeliveryError, match=r"^HTTP 500$"):
        deliver(webhook(http_receiver.url("/hook")), lead_event(), smtp=NO_SMTP, zone=CHICAGO)


def test_a_redirect_is_a_failure_and_is_not_followed(http_receiver: Receiver, secrets: None) -> None:
    http_receiver.answer("/hook", 302)
    with pytest.raises(DeliveryError, match=r"^HTTP 302 \(redirects are not followed\)$"):
        deliver(webhook(http_receiver.url("/hook")), lead_event(), smtp=NO_SMTP, zone=CHICAGO)
    only_request(http_receiver, "/hook")
    assert len(http_receiver.received()) == 1


def test_a_receiver_slower_than_the_timeout_is_a_failure_naming_the_timeout(
    http_receiver: Receiver, secrets: None
) -> None:
    http_receiver.slow("/hook", 3.0)
    with pytest.raises(DeliveryError, match=r"^no answer within 0.3 s$"):
        deliver(webhook(http_receiver.url("/hook"), timeout=0.3), lead_event(), smtp=NO_SMTP, zone=CHICAGO)


def test_a_dead_receiver_is_connection_refused(secrets: None) -> None:
    with pytest.raises(DeliveryError, match=r"^connection refused$"):
        deliver(webhook(dead_url()), lead_event(), smtp=NO_SMTP, zone=CHICAGO)


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on loopback whose certificate no one signed."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_a_tls_failure(self_signed_https: str, secrets: None) -> None:
    with pytest.raises(DeliveryError, match=r"^TLS: certificate verify failed"):
        deliver(webhook(self_signed_https), lead_event(), smtp=NO_SMTP, zone=CHICAGO)


def test_slack_gets_a_documented_incoming_webhook_message(http_receiver: Receiver, secrets: None) -> None:
    # Given a Slack target and a lead waiting 15 minutes
    deliver(chat("slack", "RW_TEST_SLACK_URL"), lead_event(), smtp=NO_SMTP, zone=CHICAGO)
    # Then Slack gets a payload of its documented shape that says what happened, in the store's time
    payload = json.loads(only_request(http_receiver, SLACK_PATH).body)
    schema("slack_incoming_webhook.schema.json").validate(payload)
    assert payload["text"] == "Lead waiting 15 min with no touch · Main Street Honda · lead 12345"
    shown = [f["text"] for block in payload["blocks"] for f in block.get("fields", [])]
    assert "Received: Mon 7 Dec 2026 08:59 CST" in shown
    assert "Associate: Dana Lee" in shown


def test_teams_gets_a_documented_adaptive_card_message(http_receiver: Receiver, secrets: None) -> None:
    deliver(chat("teams", "RW_TEST_TEAMS_URL"), lead_event(), smtp=NO_SMTP, zone=CHICAGO)
    payload = json.loads(only_request(http_receiver, TEAMS_PATH).body)
    schema("teams_adaptive_card_message.schema.json").validate(payload)
    card = payload["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Lead waiting 15 min with no touch"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Received"] == "Mon 7 Dec 2026 08:59 CST"
    assert facts["Store"] == "Main Street Honda"


def _slack_texts(payload: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(type, text) of every text object, and the notification line as plain text."""
    yield "plain_text", payload["text"]
    for block in payload["blocks"]:
        for item in [block.get("text"), *block.get("fields", [])]:
            if item:
                yield item["type"], item["text"]


def test_hostile_data_makes_no_mention_link_or_formatting_in_slack(
    http_receiver: Receiver, secrets: None
) -> None:
    # Given a lead whose id and associate are made to ping the channel, link elsewhere and format
    body = lead_event(lead_id=HOSTILE_ID, associate=HOSTILE_ASSOCIATE, store="Smith & Sons *Honda*")
    deliver(chat("slack", "RW_TEST_SLACK_URL"), body, smtp=NO_SMTP, zone=CHICAGO)
    payload = json.loads(only_request(http_receiver, SLACK_PATH).body)
    schema("slack_incoming_webhook.schema.json").validate(payload)
    texts = list(_slack_texts(payload))
    # Then no raw control character of Slack's is left: no mention, no link can be made
    assert all("<" not in text and ">" not in text for _, text in texts)
    assert all(re.search(r"&(?!amp;|lt;|gt;)", text) is None for _, text in texts)
    # And the data is only in plain text (which Slack never formats), escaped as Slack documents
    assert payload["mrkdwn"] is False
    assert all("bold" not in text and "Sons" not in text for kind, text in texts if kind == "mrkdwn")
    shown = [text for kind, text in texts if kind == "plain_text"]
    assert "Lead: &lt;!channel&gt; [x](http://evil) *bold*" in shown
    assert "Associate: &lt;@U024BE7LH|boss&gt; _it_" in shown
    assert "Store: Smith &amp; Sons *Honda*" in shown


def _unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def test_hostile_data_makes_no_link_or_formatting_in_teams(http_receiver: Receiver, secrets: None) -> None:
    body = lead_event(lead_id=HOSTILE_ID, associate=HOSTILE_ASSOCIATE, store="- Smith & Sons")
    deliver(chat("teams", "RW_TEST_TEAMS_URL"), body, smtp=NO_SMTP, zone=CHICAGO)
    payload = json.loads(only_request(http_receiver, TEAMS_PATH).body)
    schema("teams_adaptive_card_message.schema.json").validate(payload)
    facts = {f["title"]: f["value"] for f in payload["attachments"][0]["content"]["body"][1]["facts"]}
    # Then every Markdown character of the data is escaped, and unescaping gives the data back exactly
    for value in facts.values():
        assert re.search(r"(?<!\\)[\[\]()*_<>&!]", value) is None, value
    assert facts["Lead"] == r"\<\!channel\> \[x\]\(http://evil\) \*bold\*"
    assert facts["Store"] == r"\- Smith \& Sons"  # not a list item either
    assert (_unescape(facts["Lead"]), _unescape(facts["Associate"])) == (HOSTILE_ID, HOSTILE_ASSOCIATE)


def _smtp(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, starttls=False, sender="replywatch@dealer.example")


def _email_target() -> NotifyConfig:
    return NotifyConfig(
        name="managers", type="email", to=["sales.manager@dealer.example"], events=["lead.untouched"]
    )


def test_an_email_target_gets_one_plain_text_mail_saying_what_happened() -> None:
    with smtp_server() as (server, port):
        # Given an email target and the digest's SMTP server
        deliver(_email_target(), lead_event(), smtp=_smtp(port), zone=CHICAGO)
        # Then one plain-text mail arrives, its subject says what happened, its body the facts
        [mail] = server.received
    assert mail.recipients == ["sales.manager@dealer.example"]
    assert mail.sender == "replywatch@dealer.example"
    message = mail.message
    assert message["Subject"] == "Lead waiting 15 min with no touch · Main Street Honda · lead 12345"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    text = message.get_content().replace("\r\n", "\n")
    assert text.startswith("Lead waiting 15 min with no touch\n")
    assert re.search(r"^Received: +Mon 7 Dec 2026 08:59 CST$", text, re.MULTILINE)
    assert re.search(r"^Waited: +15 min of open hours$", text, re.MULTILINE)


def test_a_line_break_in_data_cannot_add_a_mail_header() -> None:
    body = lead_event(store="Main Street Honda\r\nBcc: victim@evil.example", lead_id="1\nX-Injected: yes")
    with smtp_server() as (server, port):
        deliver(_email_target(), body, smtp=_smtp(port), zone=CHICAGO)
        [mail] = server.received
    assert mail.recipients == ["sales.manager@dealer.example"]
    assert mail.message["Bcc"] is None and mail.message["X-Injected"] is None
    flattened = "Main Street Honda Bcc: victim@evil.example · lead 1 X-Injected: yes"
    assert mail.message["Subject"] == f"Lead waiting 15 min with no touch · {flattened}"


def test_an_smtp_failure_is_a_delivery_error() -> None:
    with smtp_server() as (server, port):
        server.fail_with = "554 5.7.1 rejected by policy"
        with pytest.raises(DeliveryError, match=r"^SMTP .*554 5\.7\.1 rejected by policy"):
            deliver(_email_target(), lead_event(), smtp=_smtp(port), zone=CHICAGO)


FAILURES = {
    "500": lambda r, path: r.answer(path, 500),
    "302": lambda r, path: r.answer(path, 302),
    "slow": lambda r, path: r.slow(path, 3.0),
    "dead": lambda r, path: None,
}
KEYED_PATHS = {"webhook": "/hook/whKey8Hn3", "slack": SLACK_PATH, "teams": TEAMS_PATH}


@pytest.mark.parametrize("kind", ["webhook", "slack", "teams"])
def test_no_delivery_error_shows_a_url_or_a_secret(
    http_receiver: Receiver, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("RW_TEST_HMAC", HMAC_SECRET)
    for failure, make in FAILURES.items():
        # Given a target whose URL holds a key in its path, and a receiver that fails in one of its ways
        path = f"/{failure}{KEYED_PATHS[kind]}"
        url = dead_url(path) if failure == "dead" else http_receiver.url(path)
        make(http_receiver, path)
        monkeypatch.setenv("RW_TEST_URL", url)
        target = webhook(url, timeout=0.3) if kind == "webhook" else chat(kind, "RW_TEST_URL", timeout=0.3)
        # When it is delivered
        with pytest.raises(DeliveryError) as failed:
            deliver(target, lead_event(), smtp=NO_SMTP, zone=CHICAGO)
        # Then the error is one line that holds neither the URL, its path, its key nor the HMAC secret
        said = str(failed.value)
        assert said and "\n" not in said
        for secret in (url, path, path.rsplit("/", 1)[-1], "Key", HMAC_SECRET, "127.0.0.1"):
            assert secret not in said, (failure, said)


def test_a_secret_that_cannot_be_read_is_a_delivery_error_naming_where_it_was_looked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RW_TEST_SLACK_URL", raising=False)
    with pytest.raises(DeliveryError, match="RW_TEST_SLACK_URL is not set"):
        deliver(chat("slack", "RW_TEST_SLACK_URL"), lead_event(), smtp=NO_SMTP, zone=CHICAGO)
