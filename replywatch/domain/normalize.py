"""Normalized identities: email addresses (NFKC, lower case; loosely without +tags and Gmail dots) and
phone numbers (E.164)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MIN_PHONE_DIGITS = 7  # shorter numbers are short codes (5–6 digits): services, never a customer


def normalize_email(raw: str | None) -> str | None:
    """`" Bob.Jones@Example.COM "` → `"bob.jones@example.com"`; None when it is no address."""
    if not raw:
        return None
    value = unicodedata.normalize("NFKC", raw).strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    value = value.split("?", 1)[0].strip().lower()
    return value if _EMAIL_RE.match(value) else None


# A North American number already in E.164 is what phonenumbers would return unchanged; logs and
# APIs write nearly every number this way, and parsing each one costs more than storing the message.
_NANP_E164 = re.compile(r"\+1[2-9]\d\d[2-9]\d{6}")


_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def loose_email(address: str) -> str:
    """A normalized address without its +tag, and for Gmail without dots: a weaker identity."""
    local, _, domain = address.partition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def normalize_phone(raw: str | None, region: str = "US") -> str | None:
    """Any human way of writing a number → E.164 (`"(512) 555-0134"` → `"+15125550134"`).

    None for text that is no phone number and for short codes.
    """
    if raw and _NANP_E164.fullmatch(raw):
        return raw
    return _parse_phone(raw, region)


@lru_cache(maxsize=65536)
def _parse_phone(raw: str | None, region: str) -> str | None:
    if not raw:
        return None
    digits = sum(ch.isdigit() for ch in raw)
    if digits < _MIN_PHONE_DIGITS:
        return None
    try:
        number = phonenumbers.parse(raw, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_message_id(raw: str | None) -> str | None:
    """A Message-ID compared as `<local@domain>` without surrounding space; case kept (it matters)."""
    if not raw:
        return None
    value = raw.strip()
    if not value:
        return None
    if not value.startswith("<"):
        value = f"<{value}>"
    return value


def split_message_ids(raw: str | None) -> list[str]:
    """All `<…>` ids in a References or In-Reply-To header, in order, without duplicates."""
    if not raw:
        return []
    found = re.findall(r"<[^<>\s]+>", raw)
    if not found and raw.strip():
        found = [f"<{tok}>" for tok in raw.split() if "@" in tok]
    return list(dict.fromkeys(found))
