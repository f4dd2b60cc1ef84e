"""Rate limits: how many times something happened for one subject in one UTC hour, counted in the transaction of
what is counted — two requests at once cannot both take the last one (the counter's version check fails one)."""

from datetime import datetime, timedelta

from pynamodb.attributes import UnicodeAttribute, VersionAttribute

from shared.dal.table import IntegerAttribute, TableItem, batch_get
from shared.dal.unit_of_work import UnitOfWork

KEPT = timedelta(hours=2)  # a window's counter outlives its hour a little, then TTL


class RateWindow(TableItem, discriminator="RateWindow"):
    """How many of a ``scope`` one subject had in one UTC hour — acknowledgements sent to one sender (``ack``),
    contact forms from one address (``contact-email``) or one IP (``contact-ip``), invitations an account sent
    (``invitation``), email-change codes a login asked for (``email-code``) — so a loop or a flood is stopped after
    a few (expires with its window)."""

    scope = UnicodeAttribute()
    subject = UnicodeAttribute()
    window = UnicodeAttribute()  # YYYY-MM-DDTHH (UTC)
    count = IntegerAttribute(default=0)
    version = VersionAttribute()

    @staticmethod
    def key(scope: str, subject: str, window: str) -> tuple[str, str]:
        return f"RATE#{scope}#{subject}", f"WINDOW#{window}"


def window_of(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H")


class RateWindows:
    """Reads of the rate-limit counters; each is written by the change it counts (``count``)."""

    def counters(self, pairs: list[tuple[str, str]], now: datetime) -> list[RateWindow]:
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

    def take(self, uow: UnitOfWork, scope: str, subject: str, now: datetime, limit: int) -> bool:
        """One more in this hour for one subject (read, then counted in ``uow``)."""
        return count(uow, self.counters([(scope, subject)], now)[0], limit)


def count(uow: UnitOfWork, counter: RateWindow, limit: int) -> bool:
    """One more on ``counter`` in ``uow`` if fewer than ``limit`` were taken; else False."""
    if counter.count >= limit:
        return False
    counter.count += 1
    uow.save(counter)
    return True
