"""Phone and email normalization: every human way of writing one number gives one E.164 value."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from replywatch.domain.normalize import normalize_email, normalize_phone


@pytest.mark.parametrize("written", ["(512) 555-0134", "512.555.0134", "1-512-555-0134", "+1 512 555 0134"])
def test_one_number_written_four_ways(written: str) -> None:
    assert normalize_phone(written, "US") == "+15125550134"


def test_short_codes_and_words_are_no_numbers() -> None:
    assert [normalize_phone(x) for x in ("55555", "898287", "call me", "")] == [None, None, None, None]


def test_the_e164_fast_path_agrees_with_phonenumbers() -> None:
    # Given many random North American numbers already in E.164
    rng = random.Random(5)
    numbers = [f"+1{rng.randrange(2, 10)}{rng.randrange(10**8, 10**9):09d}" for _ in range(2000)]
    for number in numbers:
        parsed = phonenumbers.parse(number, "US")
        expected = (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_possible_number(parsed)
            else None
        )
        # Then the fast path gives what the library gives
        assert normalize_phone(number) == expected


def test_foreign_numbers_use_the_library() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


def test_emails_fold_case_and_unicode() -> None:
    assert normalize_email(" <Bob.Jones@Example.COM> ") == "bob.jones@example.com"
    assert normalize_email("mailto:ｂｏｂ@example.com") == "bob@example.com"
    assert normalize_email("not an address") is None
