"""Quotes' reaction to their invoice: paid, the quote is marked paid and staff are told (quote.paid) that the
work it describes can start — the invoice's lines name no service, so nothing else reacts to it."""

from datetime import datetime

from shared.clock import to_storage
from shared.dal.billing import Invoice
from shared.dal.quotes import Quote
from shared.dal.table import find_by_id
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType, new_event
from shared.reactions import INVOICE_PAID, on


@on(INVOICE_PAID)
def quote_paid(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.purpose != "quote" or not invoice.quote_id:
        return
    quote = uow.held(Quote, *Quote.key(invoice.quote_id)) or find_by_id(Quote, invoice.quote_id)
    if quote is None or quote.paid_at:
        return
    quote = uow.hold(quote)
    quote.paid_at = to_storage(now)
    uow.save(quote)
    uow.emit([new_event(EventType.QUOTE_PAID, client_id=quote.client_id, occurred_at=now, payload={
        "quote_id": quote.quote_id, "title": quote.title, "invoice_id": invoice.invoice_id, "total": quote.total,
        "currency": quote.currency, "ticket_id": quote.ticket_id, "service_id": quote.service_id,
    })])
