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


# Business hours (help centre, SLA 1: "de 10 a 17 horas (-3 GMT) de Lunes a viernes").
BUSINESS_OPENS, BUSINESS_CLOSES = time(10, 0), time(17, 0)
BUSINESS_DAY_MINUTES = 7 * 60


def is_open_day(day: date, closed_days: frozenset[date] = frozenset()) -> bool:
    """A business day that the provider did not close (company days off, kept by staff)."""
    return is_business_day(day) and day not in closed_days


def _opens(day: date) -> datetime:
    return datetime.combine(day, BUSINESS_OPENS, tzinfo=BUSINESS_TZ)


def _closes(day: date) -> datetime:
    return datetime.combine(day, BUSINESS_CLOSES, tzinfo=BUSINESS_TZ)


def add_business_minutes(start: datetime, minutes: int, closed_days: frozenset[date] = frozenset()) -> datetime:
    """The instant ``minutes`` of business time after ``start``: only Monday to Friday 10:00–17:00 in Buenos
    Aires counts, never a national holiday (bridge days included) or a closed day. From outside business hours
    the count starts when they next open (so 0 minutes is the next open instant)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    moment, remaining = local(start), timedelta(minutes=minutes)
    while True:
        day = moment.date()
        if not is_open_day(day, closed_days) or moment >= _closes(day):
            moment = _opens(day + timedelta(days=1))
            continue
        moment = max(moment, _opens(day))
        left_today = _closes(day) - moment
        if remaining <= left_today:
            return moment + remaining
        remaining -= left_today
        moment = _opens(day + timedelta(days=1))


def business_minutes_between(start: datetime, end: datetime, closed_days: frozenset[date] = frozenset()) -> int:
    """Whole minutes of business time from ``start`` to ``end`` (0 if ``end`` is not later)."""
    moment, end, counted = local(start), local(end), timedelta(0)
    while moment < end:
        day = moment.date()
        if is_open_day(day, closed_days):
            counted += max(timedelta(0), min(end, _closes(day)) - max(moment, _opens(day)))
        moment = local_midnight(day + timedelta(days=1))
    return int(counted.total_seconds() // 60)


def add_whole_business_days(start: datetime, days: int, closed_days: frozenset[date] = frozenset()) -> datetime:
    """``days`` business days after ``start``, each counted whole (24 h): the same local time ``days`` open days
    later, weekends, holidays and closed days skipped; from a day that is not open, the count starts at the next
    open day's midnight. (The help centre's "48 horas hábiles", as Argentine usage reads it.)"""
    if days < 0:
        raise ValueError("days must not be negative")
    moment = local(start)
    if not is_open_day(moment.date(), closed_days):
        day = moment.date() + timedelta(days=1)
        while not is_open_day(day, closed_days):
            day += timedelta(days=1)
        moment = local_midnight(day)
    day, clock = moment.date(), moment.timetz()
    for _ in range(days):
        day += timedelta(days=1)
        while not is_open_day(day, closed_days):
            day += timedelta(days=1)
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=BUSINESS_TZ)


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic that clamps to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = _days_in_month(year, month)
    return date(year, month, min(day.day, last))


def months_between(first: date, last: date) -> list[str]:
    """The calendar months ("YYYY-MM") from ``first``'s to ``last``'s, both included (month-partitioned keys)."""
    months, cursor = [], first.replace(day=1)
    while cursor <= last:
        months.append(cursor.strftime("%Y-%m"))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


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
