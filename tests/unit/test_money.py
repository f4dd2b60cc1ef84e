from decimal import Decimal

import pytest

from shared.money import Currency, CurrencyMismatch, Money, total


def test_arithmetic_stays_in_minor_units_and_one_currency():
    assert Money(15000, "ARS") - Money(10000, "ARS") == Money(5000, Currency.ARS)
    assert total([Money(1, "USD"), Money(2, "USD")], "USD") == Money(3, "USD")
    with pytest.raises(CurrencyMismatch):
        Money(1, "ARS") + Money(1, "USD")


def test_floats_and_unknown_currencies_are_refused():
    with pytest.raises(TypeError):
        Money(1.5, "ARS")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "EUR")


@pytest.mark.parametrize(("num", "den", "expected"), [(1, 2, 5000), (1, 3, 3333), (2, 3, 6667), (1, 20000, 1)])
def test_scale_rounds_half_up_once(num, den, expected):
    assert Money(10000, "ARS").scale(num, den).amount == expected


def test_half_cent_rounds_up_not_to_even():
    assert Money(1, "USD").scale(1, 2).amount == 1  # 0.5 -> 1 (banker's rounding would give 0)
    assert Money.from_decimal(Decimal("0.125"), "USD").amount == 13


def test_display_is_es_ar():
    assert Money(123456789, "ARS").display() == "ARS 1.234.567,89"
    assert Money(-5, "USD").display() == "-USD 0,05"
    assert Money(10000, "ARS").to_decimal() == Decimal("100.00")
