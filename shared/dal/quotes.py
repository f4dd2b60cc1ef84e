"""Quotes (presupuestos): what staff offer a client — an SLA 4 fix, a backup restore after a cancellation, a
product made to measure — and the client's answer."""

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute, VersionAttribute

from shared.dal.table import IntegerAttribute, TableItem, get_by_id
from shared.ids import is_valid_id


class QuoteLine(MapAttribute):
    description = UnicodeAttribute()
    amount = IntegerAttribute()


class Quote(TableItem, discriminator="Quote"):
    """status: open | accepted | declined. An open quote past ``valid_until`` (its last valid local day) is
    expired: read as such, and refused when answered."""

    quote_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    title = UnicodeAttribute()
    purpose = UnicodeAttribute()  # sla_fix | backup_restore | custom
    lines = ListAttribute(of=QuoteLine)
    currency = UnicodeAttribute()
    total = IntegerAttribute()
    valid_until = UnicodeAttribute()  # a local date, YYYY-MM-DD
    note = UnicodeAttribute(null=True)
    ticket_id = UnicodeAttribute(null=True)  # the ticket it answers
    service_id = UnicodeAttribute(null=True)  # the service it is about
    status = UnicodeAttribute(default="open")
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    answered_at = UnicodeAttribute(null=True)
    answered_by = UnicodeAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)  # issued when it was accepted
    paid_at = UnicodeAttribute(null=True)  # its invoice paid: staff may do the work
    version = VersionAttribute()

    @staticmethod
    def key(quote_id: str) -> tuple[str, str]:
        return f"QUOTE#{quote_id}", "QUOTE"


class Quotes:
    def get_quote(self, quote_id: str) -> Quote:
        return get_by_id(Quote, quote_id, consistent=True)

    def quotes_of(self, client_id: str) -> list[Quote]:
        """A client's quotes, newest first (by_owner)."""
        if not is_valid_id(client_id):
            return []
        return list(Quote.by_owner.query(f"CLIENT#{client_id}", Quote.gsi1sk.startswith("QUOTE#"),
                                         scan_index_forward=False))
