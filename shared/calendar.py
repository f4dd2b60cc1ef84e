"""Business time of the provider: America/Argentina/Buenos_Aires, Monday to Friday, national holidays.

The only place that knows about local time. Everything else stores and compares UTC.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("America/Argentina/Buenos_Aires")


def local(at: datetime) -> datetime:
    return at.astimezone(BUSINESS_TZ)


def local_date(at: datetime) -> date:
    return local(at).date()


def local_midnight(day: date) -> datetime:
    """The instant (aware, in Buenos Aires time) at which a local calendar day starts."""
    return datetime.combine(day, time.min, tzinfo=BUSINESS_TZ)


@lru_cache(maxsize=16)
def _holidays_for(year: int):
    # Imported lazily: only functions that count business days pay for the holidays package.
    import holidays

    return holidays.country_holidays("AR", years=year)


def is_holiday(day: date) -> bool:
    return day in _holidays_for(day.year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_business_days(start: datetime, days: int) -> date:
    """The local date that is `days` business days after the local day of `start`.

    Day 0 is the start day itself; a start on a weekend or holiday counts from the next business day.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = local_date(start)
    while not is_business_day(day):
        day += timedelta(days=1)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic that clamps to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = _days_in_month(year, month)
    return date(year, month, min(day.day, last))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def quiet_until(at: datetime, window: str) -> datetime | None:
    """If ``at`` falls in the local quiet hours ``window`` ("21:00-09:00"; it may cross midnight), the
    instant they end; otherwise None. An empty window, or one whose ends are equal, is never quiet."""
    if not window or not window.strip():
        return None
    start_text, end_text = (part.strip() for part in window.split("-", 1))
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    if start == end:
        return None
    moment = local(at)
    now = moment.time()
    crosses_midnight = start > end
    quiet = (now >= start or now < end) if crosses_midnight else (start <= now < end)
    if not quiet:
        return None
    day = moment.date() if now < end else moment.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=BUSINESS_TZ)
