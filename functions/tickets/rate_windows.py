"""Counting per subject and UTC hour (RateWindow), in the transaction of what is counted: two requests at
once cannot both take the last one (the counter's version check fails one of them)."""

from datetime import datetime, timedelta

from shared.dal.tickets import RateWindow, Tickets
from shared.dal.unit_of_work import UnitOfWork

KEPT = timedelta(hours=2)  # a window's counter outlives its hour a little, then TTL


def window_of(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H")


def used(tickets: Tickets, scope: str, subject: str, now: datetime) -> int:
    found = tickets.rate_window(scope, subject, window_of(now))
    return found.count if found is not None else 0


def take(tickets: Tickets, uow: UnitOfWork, scope: str, subject: str, now: datetime, limit: int) -> bool:
    """One more in this hour, if fewer than ``limit`` were taken: counted in ``uow``; else False."""
    window = window_of(now)
    counter = tickets.rate_window(scope, subject, window)
    if counter is None:
        counter = RateWindow(*RateWindow.key(scope, subject, window), scope=scope, subject=subject, window=window,
                             count=0)
        counter.expires_at = now.replace(minute=0, second=0, microsecond=0) + KEPT
    if counter.count >= limit:
        return False
    counter.count += 1
    uow.save(counter)
    return True
