"""Upgrade/downgrade pricing (functions/upgrade/pricing.py): the help centre's example and the policies."""

from datetime import date, timedelta

import pytest
from upgrade.pricing import CurrentPlan, InvalidPolicy, PricingPolicy, quote

from shared.money import Money

DIFFERENCE = PricingPolicy()
PRORATA = PricingPolicy(upgrade="prorata")


def ars(amount: int) -> Money:
    return Money(amount, "ARS")


def plan(cycle, price, start, end, paid=None, currency="ARS"):
    return CurrentPlan(cycle, Money(price, currency), Money(paid if paid is not None else price, currency),
                       start, end)


ANNUAL_100 = plan("annually", 10000, date(2026, 1, 1), date(2027, 1, 1))


def test_the_help_centre_example_pays_150_minus_100_in_the_middle_of_the_year():
    result = quote(ANNUAL_100, ars(15000), "annually", date(2026, 7, 2), DIFFERENCE)

    assert (result.change, result.takes_effect, result.due_now) == ("upgrade", "now", ars(5000))
    assert result.due_now.display() == "ARS 50,00"
    assert result.next_due_on == date(2027, 1, 1)  # the next due date stays
    assert result.new_recurring == ars(15000) and not result.period_restarts


def test_difference_does_not_depend_on_the_day():
    days = [date(2026, 1, 1), date(2026, 6, 30), date(2026, 12, 31)]
    assert {quote(ANNUAL_100, ars(15000), "annually", d, DIFFERENCE).due_now for d in days} == {ars(5000)}


@pytest.mark.parametrize(
    ("start", "end", "today", "due"),
    [
        # Monthly cycle over a short month: Jan 31 + 1 month = Feb 28 (28 days).
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 1, 31), 500),  # first day: the whole difference
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 2, 14), 250),  # 14/28
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 2, 27), 18),  # 500 x 1/28 = 17.86 -> 18
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 2, 28), 0),  # the cycle is over
        # Month boundary: a 30-day month, 15 days left: 500 x 15/30.
        (date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 16), 250),
    ],
)
def test_prorata_on_month_boundaries(start, end, today, due):
    current = plan("monthly", 1000, start, end)
    assert quote(current, ars(1500), "monthly", today, PRORATA).due_now == ars(due)


def test_prorata_across_the_year_boundary():
    current = plan("annually", 10000, date(2026, 12, 15), date(2027, 12, 15))  # 365 days
    # On Jan 1st, 348 days remain: 5000 x 348 / 365 = 4767.12 -> 4767.
    assert quote(current, ars(15000), "annually", date(2027, 1, 1), PRORATA).due_now == ars(4767)


def test_prorata_across_a_leap_day():
    current = plan("annually", 10000, date(2027, 6, 1), date(2028, 6, 1))  # contains Feb 29 2028: 366 days
    on_march_1 = quote(current, ars(15000), "annually", date(2028, 3, 1), PRORATA)
    on_feb_28 = quote(current, ars(15000), "annually", date(2028, 2, 28), PRORATA)

    assert on_march_1.due_now == ars(1257)  # 5000 x 92 / 366 = 1256.83
    assert on_feb_28.due_now == ars(1284)  # 94 days left (the 28th and the 29th): 1284.15
    non_leap = plan("annually", 10000, date(2026, 6, 1), date(2027, 6, 1))  # 365 days
    assert quote(non_leap, ars(15000), "annually", date(2027, 3, 1), PRORATA).due_now == ars(1260)  # x 92/365


def test_prorata_rounds_half_up_to_the_minor_unit():
    current = plan("monthly", 100, date(2026, 11, 1), date(2026, 12, 1), currency="USD")
    # 1 cent x 15 / 30 = 0.5 cents -> 1 cent.
    assert quote(current, Money(101, "USD"), "monthly", date(2026, 11, 16), PRORATA).due_now == Money(1, "USD")


def test_usd_plans_are_priced_in_usd():
    current = plan("monthly", 2000, date(2026, 11, 1), date(2026, 12, 1), currency="USD")
    difference = quote(current, Money(3550, "USD"), "monthly", date(2026, 11, 20), DIFFERENCE)
    prorata = quote(current, Money(3550, "USD"), "monthly", date(2026, 11, 20), PRORATA)

    assert difference.due_now == Money(1550, "USD")
    assert prorata.due_now == Money(568, "USD")  # 1550 x 11/30 = 568.33
    assert prorata.due_now.display() == "USD 5,68"


def test_monthly_to_annual_starts_a_new_cycle_and_deducts_what_remains_unused():
    current = plan("monthly", 1000, date(2026, 11, 1), date(2026, 12, 1))
    result = quote(current, ars(15000), "annually", date(2026, 11, 16), DIFFERENCE)

    # 15 of 30 days unused: 500 of the 1000 paid counts towards the new year.
    assert (result.takes_effect, result.due_now, result.period_restarts) == ("now", ars(14500), True)
    assert result.next_due_on == date(2027, 11, 16)
    assert result.credit == ars(0)


@pytest.mark.parametrize("policy", [DIFFERENCE, PRORATA, PricingPolicy(downgrade="immediate_credit"),
                                    PricingPolicy(downgrade="immediate")])
def test_annual_to_monthly_waits_for_the_renewal_and_credits_nothing(policy):
    result = quote(ANNUAL_100, ars(1000), "monthly", date(2026, 2, 1), policy)

    assert (result.takes_effect, result.due_now, result.credit) == ("next_renewal", ars(0), ars(0))
    assert result.next_due_on == date(2027, 1, 1)


def test_a_cycle_change_never_credits_or_discounts_more_than_was_paid():
    policy = PricingPolicy(upgrade="prorata", downgrade="immediate_credit")
    current = plan("monthly", 1000, date(2026, 11, 1), date(2026, 12, 1), paid=1000)
    for offset in range(0, 31):
        today = date(2026, 11, 1) + timedelta(days=offset)
        for new_price, cycle in ((ars(500), "annually"), (ars(15000), "annually"), (ars(1), "quarterly")):
            result = quote(current, new_price, cycle, today, policy)
            discount = new_price.amount - result.due_now.amount  # what the current cycle paid for
            assert 0 <= result.due_now.amount <= new_price.amount
            assert discount + result.credit.amount <= 1000, (today, new_price, result)


def test_a_downgrade_waits_for_the_renewal_by_default():
    result = quote(ANNUAL_100, ars(5000), "annually", date(2026, 7, 2), DIFFERENCE)

    assert (result.change, result.takes_effect, result.due_now, result.credit) == (
        "downgrade", "next_renewal", ars(0), ars(0))
    assert result.next_due_on == date(2027, 1, 1) and result.new_recurring == ars(5000)


def test_an_immediate_downgrade_credits_nothing():
    result = quote(ANNUAL_100, ars(5000), "annually", date(2026, 7, 2), PricingPolicy(downgrade="immediate"))
    assert (result.takes_effect, result.due_now, result.credit) == ("now", ars(0), ars(0))


def test_an_immediate_downgrade_with_credit_credits_only_the_unused_difference():
    current = plan("annually", 15000, date(2026, 1, 1), date(2027, 1, 1))  # 365 days
    result = quote(current, ars(10000), "annually", date(2026, 7, 2), PricingPolicy(downgrade="immediate_credit"))

    # 183 days left: 5000 x 183 / 365 = 2506.85 -> 2507; never the 5000 of a whole cycle.
    assert (result.takes_effect, result.due_now, result.credit) == ("now", ars(0), ars(2507))


def test_same_price_is_a_lateral_change_with_nothing_due():
    result = quote(ANNUAL_100, ars(10000), "annually", date(2026, 3, 1), PRORATA)
    assert (result.change, result.takes_effect, result.due_now) == ("lateral", "now", ars(0))


def test_what_was_paid_sets_the_amount_and_the_plan_price_sets_the_direction():
    # Paid 150 this year, then moved down to 100 at once (nothing credited): going up to 120 costs nothing.
    current = plan("annually", 10000, date(2026, 1, 1), date(2027, 1, 1), paid=15000)
    result = quote(current, ars(12000), "annually", date(2026, 8, 1), DIFFERENCE)
    assert (result.change, result.due_now) == ("upgrade", ars(0))


def test_a_free_plan_upgrades_to_a_paid_one_for_the_difference():
    current = plan("monthly", 0, date(2026, 11, 1), date(2026, 12, 1))  # Soporte Standard
    assert quote(current, ars(5000), "monthly", date(2026, 11, 16), DIFFERENCE).due_now == ars(5000)
    assert quote(current, ars(5000), "monthly", date(2026, 11, 16), PRORATA).due_now == ars(2500)


@pytest.mark.parametrize("pricing", ["difference", "prorata"])
def test_moving_down_with_credit_and_back_up_nets_to_zero(pricing):
    """No loop of immediate downgrades with credit and upgrades back can create credit (prorata once used
    what was paid on one side and the price on the other)."""
    policy = PricingPolicy(upgrade=pricing, downgrade="immediate_credit")
    start, end, today = date(2026, 1, 1), date(2027, 1, 1), date(2026, 7, 2)
    # After a prorata upgrade 100 -> 200 the plan costs 200 but less than 200 was paid this cycle.
    paid = 20000 if pricing == "difference" else 10000 + 5014
    down = quote(plan("annually", 20000, start, end, paid=paid), ars(10000), "annually", today, policy)
    paid_after = paid - down.credit.amount
    up = quote(plan("annually", 10000, start, end, paid=paid_after), ars(20000), "annually", today, policy)

    assert down.credit.amount > 0
    assert up.due_now.amount - down.credit.amount == 0


def test_prorata_charges_on_the_plans_prices_not_on_what_an_earlier_change_cost():
    # 100 -> 200 in the middle of the year cost 50.14; 200 -> 300 then costs the same 50.14, not 75.
    current = plan("annually", 20000, date(2026, 1, 1), date(2027, 1, 1), paid=10000 + 5014)
    assert quote(current, ars(30000), "annually", date(2026, 7, 2), PRORATA).due_now == ars(5014)


def test_a_longer_cycle_waits_for_the_renewal_once_the_next_cycle_is_paid():
    current = plan("monthly", 1000, date(2026, 11, 1), date(2026, 12, 1))
    result = quote(current, ars(15000), "annually", date(2026, 11, 16), DIFFERENCE, next_cycle_paid=True)
    assert (result.takes_effect, result.due_now, result.period_restarts) == ("next_renewal", ars(0), False)


def test_the_same_plan_on_a_discounted_longer_cycle_is_not_a_downgrade():
    current = plan("monthly", 1000, date(2026, 11, 1), date(2026, 12, 1))
    # 100 a year is less per month than 10 a month, but it is the same plan: it applies now.
    result = quote(current, ars(10000), "annually", date(2026, 11, 16), DIFFERENCE, same_cycle_price=ars(1000))
    assert (result.change, result.takes_effect, result.due_now) == ("lateral", "now", ars(9500))
    per_month = quote(current, ars(10000), "annually", date(2026, 11, 16), DIFFERENCE)
    assert (per_month.change, per_month.takes_effect) == ("downgrade", "next_renewal")


def test_unknown_policies_are_refused():
    with pytest.raises(InvalidPolicy):
        PricingPolicy(upgrade="half")
    with pytest.raises(InvalidPolicy):
        PricingPolicy(downgrade="refund")
