"""Counting per subject and UTC hour (RateWindow), in the transaction of what is counted: two requests at
once cannot both take the last one (the counter's version check fails one of them)."""

from datetime import datetime, timedelta

from shared.dal.table import batch_get
from shared.dal.tickets import RateWindow
from shared.dal.unit_of_work import UnitOfWork

KEPT = timedelta(hours=2)  # a window's counter outlives its hour a little, then TTL


def window_of(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H")


def counters(pairs: list[tuple[str, str]], now: datetime) -> list[RateWindow]:
    """This hour's counters of several (scope, subject) at once (one consistent BatchGetItem), zero if new."""
    window = window_of(now)
    keys = [RateWindow.key(scope, subject, window) for scope, subject in pairs]
    found = batch_get(keys, consistent=True)
    made = []
    for (scope, subject), key in zip(pairs, keys, strict=True):
        counter = found.get(key)
        if not isinstance(counter, RateWindow):
            counter = RateWindow(*key, scope=scope, subject=subject, window=window, count=0)
            counter.expires_at = now.replace(minute=0, second=0, microsecond=0) + KEPT
        made.append(counter)
    return made


def count(uow: UnitOfWork, counter: RateWindow, limit: int) -> bool:
    """One more on ``counter`` in ``uow`` if fewer than ``limit`` were taken; else False."""
    if counter.count >= limit:
        return False
    counter.count += 1
    uow.save(counter)
    return True


def take(uow: UnitOfWork, scope: str, subject: str, now: datetime, limit: int) -> bool:
    """One more in this hour for one subject (read, then counted in ``uow``)."""
    return count(uow, counters([(scope, subject)], now)[0], limit)
