"""Outbox: the events a change causes, written with it and published by the stream relay."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from pynamodb.attributes import UnicodeAttribute

from shared.clock import to_storage
from shared.dal.table import IntegerAttribute, TableItem


class EventRecord(TableItem, discriminator="Event"):
    """Outbox entry: written in the transaction of the change it reports; the stream relay publishes it."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    payload = UnicodeAttribute()  # JSON text, exactly as published
    schema_version = IntegerAttribute(default=1)

    @staticmethod
    def key(event_id: str) -> tuple[str, str]:
        return f"EVENT#{event_id}", "EVENT"


def outbox_hour(at: datetime) -> str:
    return f"OUTBOX#{to_storage(at)[:13]}"  # OUTBOX#2026-11-25T12


class Outbox:
    def events_between(self, since: datetime, until: datetime) -> Iterator[EventRecord]:
        """Outbox events that occurred in [since, until): one Query per hour bucket of by_owner."""
        hour = since.replace(minute=0, second=0, microsecond=0)
        while hour < until:
            for record in EventRecord.by_owner.query(outbox_hour(hour)):
                if to_storage(since) <= record.occurred_at < to_storage(until):
                    yield record
            hour += timedelta(hours=1)
