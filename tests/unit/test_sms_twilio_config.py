"""The `twilio` source table: credentials from env or file, our numbers, base_url; Retry-After reading."""

from __future__ import annotations

from datetime import date, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from replywatch.clock import now
from replywatch.config import TwilioSourceConfig, settings_from_dict
from replywatch.errors import ConfigError
from replywatch.sources.twilio_http import retry_after

ACCOUNT = "AC" + "5e" * 16


def twilio(**keys: Any) -> TwilioSourceConfig:
    table = {"name": "texts", "type": "twilio", "account_sid": ACCOUNT} | keys
    source = settings_from_dict({"sources": [table]}).sources[0]
    assert isinstance(source, TwilioSourceConfig)
    return source


def test_the_auth_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_TEST_TOKEN", "s3cret")
    assert twilio(auth_token_env="TWILIO_TEST_TOKEN").credentials() == (ACCOUNT, "s3cret")


def test_an_api_key_secret_comes_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("key-secret\n", encoding="utf-8")
    cfg = twilio(api_key_sid="SK" + "7a" * 16, api_key_secret_file=str(tmp_path / "secret"))
    assert cfg.credentials() == ("SK" + "7a" * 16, "key-secret")


def test_a_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_TEST_TOKEN", raising=False)
    with pytest.raises(
        ConfigError, match="auth_token_env: environment variable TWILIO_TEST_TOKEN is not set"
    ):
        twilio(auth_token_env="TWILIO_TEST_TOKEN").credentials()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "give auth_token_env/_file, or api_key_sid"),
        ({"auth_token_env": "T", "api_key_sid": "SK1", "api_key_secret_env": "S"}, "give auth_token_env"),
        ({"api_key_sid": "SK1"}, "needs api_key_sid and api_key_secret_env"),
        ({"auth_token": "inline"}, "secrets are never written in the file"),
        ({"auth_token_env": "T", "numbers": ["512-555-0100"]}, "not a phone number in E.164 form"),
        ({"auth_token_env": "T", "base_url": "api.twilio.com"}, "not an http"),
    ],
)
def test_a_bad_table_is_one_clear_line(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        twilio(**keys)


def test_numbers_base_url_and_since_are_normalised() -> None:
    # Given numbers written with spaces, a base_url with a trailing slash and a TOML date
    cfg = twilio(
        auth_token_env="T",
        numbers=["+1 512 555 0100", "+1 (512) 555-0101"],
        base_url="https://example.signalwire.com/",
        since=date(2026, 1, 31),
    )
    # Then they are kept the way the API filters and the SDK want them
    assert cfg.numbers == ["+15125550100", "+15125550101"]
    assert cfg.base_url == "https://example.signalwire.com"
    assert cfg.since == date(2026, 1, 31)


def test_retry_after_in_seconds_or_as_a_date_and_capped() -> None:
    assert retry_after({"Retry-After": "3"}, cap=60) == 3.0
    assert retry_after({"Retry-After": "600"}, cap=60) == 60.0
    assert retry_after({}, cap=60) is None
    assert retry_after({"Retry-After": "soon"}, cap=60) is None
    later = format_datetime(now() + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after({"Retry-After": later}, cap=60) or 0) <= 30
