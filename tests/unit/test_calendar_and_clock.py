from datetime import UTC, date, datetime

import pytest

from shared.calendar import add_business_days, add_months, is_business_day, local_date
from shared.clock import FixedClock, from_storage, to_storage


def test_local_date_is_buenos_aires_not_utc():
    # 01:30 UTC on the 1st is still the evening of the 31st in Buenos Aires (UTC-3).
    assert local_date(datetime(2027, 1, 1, 1, 30, tzinfo=UTC)) == date(2026, 12, 31)


def test_business_days_skip_weekends_and_national_holidays():
    assert not is_business_day(date(2026, 12, 25))  # Navidad
    assert not is_business_day(date(2026, 7, 9))  # Día de la Independencia
    # Wednesday 23 Dec + 2 business days: Thu 24, (Fri 25 holiday, weekend) Mon 28.
    assert add_business_days(datetime(2026, 12, 23, 15, tzinfo=UTC), 2) == date(2026, 12, 28)
    # Asked on a Saturday: counting starts on Monday.
    assert add_business_days(datetime(2026, 11, 28, 15, tzinfo=UTC), 0) == date(2026, 11, 30)


def test_add_months_clamps_to_month_end_and_leap_days():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 11, 15), -6) == date(2026, 5, 15)


def test_storage_is_utc_and_round_trips():
    clock = FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    text = to_storage(clock.now())
    assert text == "2026-11-25T12:00:00.000000Z"
    assert from_storage(text) == clock.now()
    clock.advance(days=1)
    assert clock.now().day == 26
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))  # naive
