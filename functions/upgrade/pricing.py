"""What a plan change costs: the one module for upgrade/downgrade pricing (docs/billing.md).

Pure arithmetic on integer minor units and local calendar dates (Buenos Aires days, computed by the
caller through shared.calendar). Rounding is half-up to the currency's minor unit, once
(``Money.scale``).

Policies (environment, one per deployment):
- ``UPGRADE_PRICING``: ``difference`` (the help centre's rule, default): due now = new cycle price -
  what was paid for the current cycle; ``prorata`` (WHMCS, HostBill, Blesta): (new price - old price) x
  the remaining days / the days of the cycle.
- ``DOWNGRADE_TIMING``: ``next_renewal`` (default): the cheaper plan starts with the next cycle;
  ``immediate``: at once, nothing credited (paid amounts are not refundable); ``immediate_credit``: at
  once, the unused part of the difference (on the same base as upgrades) goes to the account's credit.

Billing-cycle changes:
- to a **longer** cycle (monthly -> annual): a new cycle starts the day the change is enabled; what
  remains of the current cycle is worth ``paid x remaining / days`` (never more than was paid) and is
  deducted from the new cycle's price;
- to a **shorter** cycle (annual -> monthly): takes effect at the next renewal and credits nothing, so
  it can never give back more than was paid (WHMCS credits the "unused" annual amount, more than the
  discounted annual price actually paid once monthly prices are applied).
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from shared.activation import CYCLE_MONTHS
from shared.calendar import add_months
from shared.money import Money

UPGRADE_PRICINGS = ("difference", "prorata")
DOWNGRADE_TIMINGS = ("next_renewal", "immediate", "immediate_credit")

Change = Literal["upgrade", "downgrade", "lateral"]
TakesEffect = Literal["now", "next_renewal"]


class InvalidPolicy(ValueError):
    pass


@dataclass(frozen=True)
class PricingPolicy:
    upgrade: str = "difference"
    downgrade: str = "next_renewal"

    def __post_init__(self):
        if self.upgrade not in UPGRADE_PRICINGS:
            raise InvalidPolicy(f"UPGRADE_PRICING must be one of {UPGRADE_PRICINGS}, not {self.upgrade!r}")
        if self.downgrade not in DOWNGRADE_TIMINGS:
            raise InvalidPolicy(f"DOWNGRADE_TIMING must be one of {DOWNGRADE_TIMINGS}, not {self.downgrade!r}")


@dataclass(frozen=True)
class CurrentPlan:
    billing_cycle: str
    price: Money  # the plan's recurring price (decides upgrade vs downgrade)
    paid: Money  # what was paid for the current cycle (decides the amounts)
    period_start: date  # local dates; the cycle is [period_start, period_end)
    period_end: date


@dataclass(frozen=True)
class Quote:
    change: Change
    takes_effect: TakesEffect
    due_now: Money
    credit: Money  # to the account's credit balance (immediate_credit downgrades only)
    new_recurring: Money
    billing_cycle: str
    period_restarts: bool  # a new cycle starts on the day the change is enabled
    next_due_on: date  # if enabled today
    rule: str  # which rule priced it, recorded with the order


def classify(current: CurrentPlan, new_price: Money, new_cycle: str, same_cycle_price: Money | None = None) -> Change:
    """Upgrade or downgrade compares the plans: the target's price on the current cycle when it sells one
    (so the same plan on a longer, discounted cycle is not a downgrade), else the price per month,
    compared exactly (cross-multiplied, no division)."""
    if same_cycle_price is not None:
        new_price, new_cycle = same_cycle_price, current.billing_cycle
    new_per_month = new_price.amount * CYCLE_MONTHS[current.billing_cycle]
    current_per_month = current.price.amount * CYCLE_MONTHS[new_cycle]
    if new_per_month > current_per_month:
        return "upgrade"
    return "downgrade" if new_per_month < current_per_month else "lateral"


def quote(current: CurrentPlan, new_price: Money, new_cycle: str, today: date, policy: PricingPolicy,
          next_cycle_paid: bool = False, same_cycle_price: Money | None = None) -> Quote:
    """``next_cycle_paid``: the renewal invoice of the next cycle already has a payment, so a new cycle
    cannot start today without throwing that payment away: a longer cycle then waits for the renewal.
    ``same_cycle_price``: the target's price on the current billing cycle, if it sells it (see classify)."""
    zero = Money.zero(new_price.currency)
    change = classify(current, new_price, new_cycle, same_cycle_price)
    cycle_days = max(1, (current.period_end - current.period_start).days)
    remaining = min(cycle_days, max(0, (current.period_end - today).days))
    months_now, months_new = CYCLE_MONTHS[current.billing_cycle], CYCLE_MONTHS[new_cycle]

    def at_renewal(rule: str) -> Quote:
        return Quote(change, "next_renewal", zero, zero, new_price, new_cycle, False, current.period_end, rule)

    if months_new < months_now:
        return at_renewal("shorter_cycle_at_renewal")
    if months_new > months_now and next_cycle_paid:
        return at_renewal("longer_cycle_at_renewal")
    if change == "downgrade" and policy.downgrade == "next_renewal":
        return at_renewal("downgrade_at_renewal")

    if months_new > months_now:
        # A new, longer cycle starts today; the unused part of what was paid counts towards it.
        unused = current.paid.scale(remaining, cycle_days)
        due = max(new_price.amount - unused.amount, 0)
        surplus = max(unused.amount - new_price.amount, 0) if policy.downgrade == "immediate_credit" else 0
        return Quote(change, "now", Money(due, new_price.currency), Money(surplus, new_price.currency), new_price,
                     new_cycle, True, add_months(today, months_new), "longer_cycle_restart")

    # `difference` counts what was really paid this cycle (so moving down and back up costs nothing twice);
    # `prorata` is the industry formula on the plans' prices. Both directions use the same base, so a
    # downgrade with credit followed by the upgrade back nets to zero.
    base = current.paid if policy.upgrade == "difference" else current.price
    difference = new_price.amount - base.amount
    if change == "downgrade":
        credit = zero
        if policy.downgrade == "immediate_credit" and difference < 0:
            credit = Money(-difference, new_price.currency).scale(remaining, cycle_days)
        return Quote(change, "now", zero, credit, new_price, new_cycle, False, current.period_end,
                     f"downgrade_{policy.downgrade}")
    # Upgrade or lateral on the same cycle; the next due date stays.
    owed = Money(max(difference, 0), new_price.currency)
    due = owed if policy.upgrade == "difference" else owed.scale(remaining, cycle_days)
    return Quote(change, "now", due, zero, new_price, new_cycle, False, current.period_end, policy.upgrade)
