"""Twilio's OpenAPI specs (tests/data/twilio) as strict validators of the fake's list pages."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator

SPECS = Path(__file__).resolve().parents[1] / "data" / "twilio"
RFC_2822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def list_validator(spec_file: str, resource: str, schema: str) -> OAS30Validator:
    """The spec's List<Resource>Response, made strict: every property present and no others; RFC 2822
    dates as Twilio writes them. Skips the test when the spec is absent."""
    spec_path = SPECS / spec_file
    if not spec_path.exists():
        pytest.skip(f"{spec_path} is absent")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    path = f"/2010-04-01/Accounts/{{AccountSid}}/{resource}.json"
    listing = copy.deepcopy(spec["paths"][path]["get"]["responses"]["200"]["content"])
    listing = listing["application/json"]["schema"]
    components = copy.deepcopy(spec["components"])
    for strict in (listing, components["schemas"][schema]):
        strict["additionalProperties"] = False
        strict["required"] = sorted(strict["properties"])
    checker = FormatChecker()
    checker.checks("date-time-rfc-2822")(
        lambda value: not isinstance(value, str) or bool(RFC_2822.match(value))
    )
    return OAS30Validator({**listing, "components": components}, format_checker=checker)
