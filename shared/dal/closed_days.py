"""The provider's closed days: company days off on top of weekends and national holidays, which the tickets' SLA
clocks and the remote support calendar both skip. Apart from the tickets' module so that remote support reads them
without loading the help desk's fifteen item classes."""

from datetime import date

from pynamodb.attributes import UnicodeAttribute

from shared.dal.table import TableItem

CLOSED_DAYS_PK = "CLOSEDDAYS"


class ClosedDay(TableItem, discriminator="ClosedDay"):
    """A day the provider does not work although it is a business day (company days off)."""

    day = UnicodeAttribute()  # YYYY-MM-DD
    reason = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @staticmethod
    def key(day: str) -> tuple[str, str]:
        return CLOSED_DAYS_PK, f"DAY#{day}"


class ClosedDays:
    def listed(self) -> list[ClosedDay]:
        return list(ClosedDay.query(CLOSED_DAYS_PK, ClosedDay.sk.startswith("DAY#")))

    def day_set(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(day.day) for day in self.listed())
