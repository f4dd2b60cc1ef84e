"""The lifecycle's calendar and next-step rules, on plain values (no AWS)."""

from datetime import UTC, date, datetime

import pytest

from shared import lifecycle
from shared.dal.services import Service
from shared.lifecycle import LifecyclePolicy, at_day, next_step, period_end_after

POLICY = LifecyclePolicy(renewal_days_before=14, suspend_after_days=5, terminate_after_days=30)


@pytest.mark.parametrize(("anniversary", "months", "ends"), [
    # Monthly from the 31st: short months clamp, the following ones go back to the 31st (no drift to the 28th).
    (date(2027, 1, 31), 1, [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]),
    # A leap year's February has 29 days.
    (date(2028, 1, 31), 1, [date(2028, 2, 29), date(2028, 3, 31)]),
    # Annual from 29 Feb: 28 Feb in common years, 29 Feb again in the next leap year.
    (date(2024, 2, 29), 12, [date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]),
    # Quarterly from 30 Nov: 28 Feb (clamped), then back to the 30th.
    (date(2026, 11, 30), 3, [date(2027, 2, 28), date(2027, 5, 30), date(2027, 8, 30)]),
])
def test_periods_end_on_the_anniversary_day_whatever_the_month(anniversary, months, ends):
    end, got = anniversary, []
    for _ in ends:
        end = period_end_after(anniversary, end, months)
        got.append(end)
    assert got == ends


def _service(**fields) -> Service:
    base = dict(service_id="01J0000000000000000000TEST", client_id="c", status="active", billing_cycle="monthly",
                period_start=at_day(date(2027, 1, 31)), period_end=at_day(date(2027, 2, 28)),
                anniversary_on="2027-01-31", auto_renew=True, product_kind="hosting")
    return Service(*Service.key(base["service_id"]), **{**base, **fields})


def test_the_next_step_of_an_auto_renewing_service_is_its_renewal_invoice_14_days_before_the_end():
    assert next_step(_service(), POLICY) == ("issue_renewal", at_day(date(2027, 2, 14)))


def test_an_unpaid_renewal_suspends_5_days_after_the_end_and_terminates_30_days_after():
    assert next_step(_service(renewal_invoice_id="inv"), POLICY) == ("suspend", at_day(date(2027, 3, 5)))
    assert next_step(_service(renewal_invoice_id="inv", status="suspended"), POLICY) == (
        "terminate", at_day(date(2027, 3, 30)))


def test_a_paid_renewal_starts_the_next_period_at_the_end():
    service = _service(renewal_invoice_id="inv", next_cycle_paid=1000)
    assert next_step(service, POLICY) == ("advance", service.period_end)
    lifecycle.advance(service, datetime(2027, 2, 28, 3, 5, tzinfo=UTC))
    assert (service.period_start, service.period_end) == (at_day(date(2027, 2, 28)), at_day(date(2027, 3, 31)))
    assert (service.paid_this_cycle, service.next_cycle_paid, service.renewal_invoice_id) == (1000, None, None)


def test_a_domain_is_never_suspended_it_expires_at_the_end():
    assert next_step(_service(product_kind="domain", renewal_invoice_id="inv"), POLICY) == (
        "expire", at_day(date(2027, 3, 1)))  # the due day (the period end) is still the client's to pay
    assert next_step(_service(product_kind="domain", auto_renew=False), POLICY) == ("expire", at_day(date(2027, 2, 28)))


def test_a_pending_cancellation_stops_renewals_and_suspensions_and_an_ended_service_has_no_step():
    assert next_step(_service(cancellation_type="end_of_period", auto_renew=False), POLICY) is None
    assert next_step(_service(cancellation_type="end_of_period", renewal_invoice_id="inv"), POLICY) is None
    for status in ("cancelled", "terminated", "expired", "pending"):
        assert next_step(_service(status=status), POLICY) is None


def test_the_policy_comes_from_the_environment_with_safe_defaults(monkeypatch):
    monkeypatch.setenv("RENEWAL_INVOICE_DAYS_BEFORE", "7")
    monkeypatch.setenv("LATE_CANCELLATION_RENEWAL", "void")
    assert LifecyclePolicy.from_env() == LifecyclePolicy(renewal_days_before=7, late_cancellation_renewal="void")
    monkeypatch.setenv("LATE_CANCELLATION_RENEWAL", "whatever")
    assert LifecyclePolicy.from_env().late_cancellation_renewal == "stands"


def test_the_last_backup_is_kept_ten_years():
    assert lifecycle.retained_until(date(2027, 3, 1), date(2027, 3, 2)) == date(2037, 3, 1)
    assert lifecycle.retained_until(None, date(2028, 2, 29)) == date(2038, 2, 28)
