"""Plain-text lead notices of providers, read by the field patterns of a rule's [rule.lead] table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from replywatch.errors import ParseError
from replywatch.parse.types import LeadRecord

FIELDS = ("id", "name", "first_name", "last_name", "email", "phone", "vehicle")
_CONTACT_FIELDS = ("email", "phone")
_MAX_VALUE = 400


class FormatError(ValueError):
    """A [rule.lead] table is wrong; `key` names the offending key."""

    def __init__(self, reason: str, key: str) -> None:
        super().__init__(reason)
        self.key = key


@dataclass(frozen=True)
class NoticeFormat:
    """How one provider writes its notice: the lead source to record and a pattern per field."""

    source: str
    fields: Mapping[str, re.Pattern[str]]


def notice_format(table: Mapping[str, object]) -> NoticeFormat:
    """A NoticeFormat from a [rule.lead] table; FormatError names the first wrong key."""
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise FormatError("lead needs source = the provider's name, as reports show it", "source")
    unknown = [key for key in table if key != "source" and key not in FIELDS]
    if unknown:
        raise FormatError(f"lead: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})", unknown[0])
    fields = {key: _pattern(key, value) for key, value in table.items() if key in FIELDS}
    if not any(key in fields for key in _CONTACT_FIELDS):
        raise FormatError("lead needs an email or a phone pattern: a lead must be reachable", "source")
    return NoticeFormat(source.strip(), fields)


def _pattern(key: str, value: object) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise FormatError(f"lead.{key} must be a string (a regex)", key)
    try:
        pattern = re.compile(value, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        raise FormatError(f"bad regex in lead.{key}: {exc}", key) from exc
    if pattern.groups != 1:
        raise FormatError(f"lead.{key} needs exactly one (group) around the value", key)
    return pattern


def parse_notice(text: str, fmt: NoticeFormat, fallback_id: str) -> LeadRecord:
    """The lead a notice describes; ParseError when it gives no email and no phone."""
    values = {key: _first(pattern, text) for key, pattern in fmt.fields.items()}
    emails = _all(fmt.fields.get("email"), text)
    phones = _all(fmt.fields.get("phone"), text)
    if not emails and not phones:
        raise ParseError(f"{fmt.source} lead notice: no email or phone found where its rule looks")
    return LeadRecord(
        external_id=values.get("id") or fallback_id,
        source=fmt.source,
        received_at=None,  # the notice's own Date is the fallback the caller gives
        full_name=values.get("name"),
        first_name=values.get("first_name"),
        last_name=values.get("last_name"),
        emails=emails,
        phones=phones,
        vehicle=values.get("vehicle"),
    )


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return _clean(found.group(1)) if found else None


def _all(pattern: re.Pattern[str] | None, text: str) -> tuple[str, ...]:
    if pattern is None:
        return ()
    values = (_clean(value) for value in pattern.findall(text))
    return tuple(dict.fromkeys(value for value in values if value))


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())[:_MAX_VALUE]
    return text or None
