"""Issuing invoices and moving the client's credit balance: one way for orders, upgrades and payments."""

from datetime import datetime, timedelta

from shared.calendar import local_date, local_midnight
from shared.clock import to_storage
from shared.dal.models import Client, EventRecord, Invoice, InvoiceLine, due_partition
from shared.events import EventType, new_event
from shared.money import Money

CYCLE_LABEL_ES = {
    "monthly": "mensual", "quarterly": "trimestral", "semiannually": "semestral",
    "annually": "anual", "biennially": "bienal",
}
# A new invoice is due this many days after it is issued (WHMCS' usual default is 0-7).
INVOICE_DUE_DAYS = 3


def invoice_due_at(issued: datetime) -> datetime:
    """The due date of an invoice issued at ``issued``: a local calendar day, stored as the instant it
    starts (Buenos Aires midnight). It is overdue from the next local day on."""
    return local_midnight(local_date(issued) + timedelta(days=INVOICE_DUE_DAYS))


def issue_invoice(invoice_id: str, client_id: str, lines: list[InvoiceLine], total: Money, now: datetime,
                  **extra) -> tuple[Invoice, list[EventRecord]]:
    """An invoice and its events. Nothing to pay (a free product) means it is born paid, never reminded."""
    due_at = invoice_due_at(now)
    free = total.is_zero()
    invoice = Invoice(
        *Invoice.key(invoice_id),
        gsi1pk=f"CLIENT#{client_id}",
        gsi1sk=f"INVOICE#{invoice_id}",
        due_pk=None if free else due_partition("INVOICE", invoice_id),
        due_sk=None if free else f"{to_storage(due_at)}#{invoice_id}",
        invoice_id=invoice_id,
        client_id=client_id,
        lines=lines,
        currency=total.currency.value,
        total=total.amount,
        amount_paid=0,
        status="paid" if free else "unpaid",
        issued_at=to_storage(now),
        due_at=to_storage(due_at),
        paid_at=to_storage(now) if free else None,
        **extra,
    )
    events = [new_event(EventType.INVOICE_CREATED, client_id=client_id, occurred_at=now, payload={
        "invoice_id": invoice_id, "total": total.amount, "currency": total.currency.value, "due_at": invoice.due_at,
    })]
    if free:
        events.append(new_event(EventType.INVOICE_PAID, client_id=client_id, occurred_at=now, payload={
            "invoice_id": invoice_id, "total": 0, "currency": total.currency.value, "provider": None,
        }))
    return invoice, events


def adjust_credit(client: Client, currency: str, delta: int) -> None:
    """The client's credit balance (minor units per currency) changes by ``delta``."""
    credit = client.credit.as_dict() if client.credit else {}
    credit[currency] = int(credit.get(currency, 0)) + delta
    client.credit = credit
