"""Corroboration by the car: the model or trim, or the stock number, named in the customer's words."""

from __future__ import annotations

from replywatch.match.evidence import vehicle_named, vehicle_words


def test_a_model_word_names_the_car_but_make_and_year_do_not() -> None:
    lead = "2024 Honda CR-V EX-L"
    assert vehicle_named(lead, vehicle_words("Is the CRV still there?"))
    assert not vehicle_named(lead, vehicle_words("Is the 2024 Honda still there?"))


def test_the_stock_number_names_the_car_digits_too() -> None:
    assert vehicle_named(
        "2024 Honda Civic (stock H4521)", vehicle_words("Re: stock #h4521 - still available?")
    )
    assert vehicle_named("2024 Honda Civic (stock 48213)", vehicle_words("is 48213 sold?"))
    # And the word "stock" itself, or another car's number, is no evidence
    assert not vehicle_named("2024 Honda Fit (stock 48213)", vehicle_words("anything in stock? #48214"))
