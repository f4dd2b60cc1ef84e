"""Invoices across capabilities: issuing one, paying it with the client's credit, and what happens when
one becomes paid or stops being paid (the registered reactions run in the same unit of work)."""

from datetime import date, datetime, timedelta

from shared import config, reactions
from shared.calendar import local_date, local_midnight
from shared.clock import from_storage, to_storage
from shared.dal.accounts import Client
from shared.dal.billing import Billing, Invoice, InvoiceLine, Payment
from shared.dal.outbox import EventRecord
from shared.dal.table import clear_due, mark_due
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType, new_event
from shared.ids import id_at
from shared.money import Money

CYCLE_LABEL_ES = {
    "monthly": "mensual", "quarterly": "trimestral", "semiannually": "semestral",
    "annually": "anual", "biennially": "bienal",
}
# A new invoice is due this many days after it is issued (WHMCS' usual default is 0-7).
INVOICE_DUE_DAYS = 3
# Reminders of an unpaid invoice, in days from its due date: before, on the day, then +1, +3, +7 (not one a
# day forever). InvoiceReminderDays in the template.
DEFAULT_REMINDER_DAYS = "-3,0,1,3,7"


def invoice_due_at(issued: datetime) -> datetime:
    """The due date of an invoice issued at ``issued``: a local calendar day, stored as the instant it
    starts (Buenos Aires midnight). It is overdue from the next local day on."""
    return local_midnight(local_date(issued) + timedelta(days=INVOICE_DUE_DAYS))


def reminder_stages() -> list[int]:
    """The reminder schedule: days from the due date (negative: before it), ascending. Configurable
    (InvoiceReminderDays); an invalid setting falls back to the default rather than stopping reminders."""
    text = config.env(config.INVOICE_REMINDER_DAYS, DEFAULT_REMINDER_DAYS)
    try:
        stages = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        stages = []
    return stages or [int(part) for part in DEFAULT_REMINDER_DAYS.split(",")]


def reminder_day(invoice: Invoice, stage: int) -> date:
    return local_date(from_storage(invoice.due_at)) + timedelta(days=stage)


def reminders_sent_by_issue(invoice: Invoice) -> None:
    """Stages on or before the day of issue are not sent: the invoice's own alert just told the client."""
    issued_on = local_date(from_storage(invoice.issued_at))
    invoice.reminders_sent = sum(1 for stage in reminder_stages() if reminder_day(invoice, stage) <= issued_on)


def schedule_reminder(invoice: Invoice) -> None:
    """Put an unpaid invoice on the reminder sweep's index at its next stage (off it after the last)."""
    stages = reminder_stages()
    if invoice.upgrade_id or invoice.reminders_sent >= len(stages):
        clear_due(invoice)
        return
    day = reminder_day(invoice, stages[invoice.reminders_sent])
    mark_due(invoice, "INVOICE", invoice.invoice_id, to_storage(local_midnight(day)))


def issue_invoice(invoice_id: str, client_id: str, lines: list[InvoiceLine], total: Money, now: datetime,
                  due_at: datetime | None = None, **extra) -> tuple[Invoice, list[EventRecord]]:
    """An invoice and its events. Nothing to pay (a free product) means it is born paid, never reminded.
    (The caller runs ``settle_at_issue`` in its unit of work: credit, and the reactions of a paid one.)"""
    due_at = due_at or invoice_due_at(now)
    free = total.is_zero()
    invoice = Invoice(
        *Invoice.key(invoice_id),
        gsi1pk=f"CLIENT#{client_id}",
        gsi1sk=f"INVOICE#{invoice_id}",
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
    if not free and not invoice.upgrade_id:  # an upgrade's invoice gets no reminders: it simply expires
        reminders_sent_by_issue(invoice)
        schedule_reminder(invoice)
    events = [new_event(EventType.INVOICE_CREATED, client_id=client_id, occurred_at=now, payload={
        "invoice_id": invoice_id, "total": total.amount, "currency": total.currency.value, "due_at": invoice.due_at,
        "service_ids": invoice.service_ids(),
    })]
    if free:
        events.append(_paid_event(invoice, now, provider=None))
    return invoice, events


def settle_at_issue(uow: UnitOfWork, invoice: Invoice, client: Client | None, now: datetime) -> None:
    """A new invoice in ``uow``: the client's credit in its currency pays what it can (as WHMCS applies
    credit automatically when an invoice is issued, so a balance is never left idle while the client is
    asked to pay), and a paid invoice runs the reactions of a paid one in the same unit of work."""
    if invoice.status == "paid":
        reactions.run(reactions.INVOICE_PAID, uow, invoice, now)
        return
    spend_credit(uow, invoice, client, now)


def spend_credit(uow: UnitOfWork, invoice: Invoice, client: Client | None, now: datetime) -> int:
    """The client's credit in the invoice's currency pays what it can of its balance (at issue, and again
    before a checkout: credit received since then is not left idle). Returns what it paid."""
    if client is None:
        return 0
    used = min(client.credit_in(invoice.currency), invoice.balance)
    if used <= 0:
        return 0
    client = uow.hold(client)
    client.adjust_credit(invoice.currency, -used)
    client.updated_at = to_storage(now)
    uow.save(client)
    credit_id = id_at(now)
    payment = Payment(
        *Payment.key("credit", credit_id), provider="credit", provider_payment_id=credit_id,
        invoice_id=invoice.invoice_id, client_id=invoice.client_id, amount=used, currency=invoice.currency,
        applied=used, credited=0, status="applied", provider_status="credit_balance", received_at=to_storage(now),
    )
    Billing().add_payment(uow, payment)
    apply_payment(uow, invoice, used, now, provider="credit")
    if invoice.status != "paid":
        payment.status = "underpaid"
    uow.emit([new_event(EventType.PAYMENT_RECEIVED, client_id=invoice.client_id, occurred_at=now, payload={
        "provider": "credit", "payment_id": payment.provider_payment_id, "invoice_id": invoice.invoice_id,
        "amount": used, "currency": invoice.currency, "status": payment.status, "applied": used, "credited": 0,
    })])
    return used


def apply_payment(uow: UnitOfWork, invoice: Invoice, amount: int, now: datetime, provider: str | None) -> None:
    """``amount`` (≤ the balance) is paid on the invoice; once it is covered, it is paid and every reaction
    to a paid invoice runs in ``uow``."""
    invoice = uow.hold(invoice)
    invoice.amount_paid += amount
    uow.save(invoice)
    if invoice.amount_paid < invoice.total:
        if invoice.status == "refunded":  # paid again in part: owed again, and reminded
            invoice.status = "unpaid"
            schedule_reminder(invoice)
        return
    invoice.status = "paid"
    invoice.paid_at = to_storage(now)
    clear_due(invoice)  # off the overdue sweep's index
    uow.emit([_paid_event(invoice, now, provider)])
    reactions.run(reactions.INVOICE_PAID, uow, invoice, now)


def take_back(uow: UnitOfWork, invoice: Invoice, amount: int, now: datetime) -> None:
    """``amount`` paid on the invoice was refunded. A paid invoice no longer covered is no longer settled:
    ``refunded`` when nothing is left paid (the money went back: it is not reminded, and may be paid
    again, docs/payments.md), else ``unpaid`` and back on the overdue sweep's index; either way every
    reaction to an unsettled invoice runs in ``uow``."""
    invoice = uow.hold(invoice)
    invoice.amount_paid = max(0, invoice.amount_paid - amount)
    uow.save(invoice)
    if invoice.status != "paid" or invoice.amount_paid >= invoice.total:
        return  # still settled, or never was (a partial payment of an unpaid invoice)
    if invoice.amount_paid == 0:
        invoice.status = "refunded"
    else:
        invoice.status = "unpaid"
        # Owed again: reminded from today's stage on (the stages passed while it was paid are not sent).
        today = local_date(now)
        invoice.reminders_sent = sum(1 for stage in reminder_stages() if reminder_day(invoice, stage) < today)
        schedule_reminder(invoice)
    invoice.paid_at = None
    reactions.run(reactions.INVOICE_UNSETTLED, uow, invoice, now)


def _paid_event(invoice: Invoice, now: datetime, provider: str | None) -> EventRecord:
    return new_event(EventType.INVOICE_PAID, client_id=invoice.client_id, occurred_at=now, payload={
        "invoice_id": invoice.invoice_id, "total": invoice.total, "currency": invoice.currency,
        "provider": provider, "upgrade_id": invoice.upgrade_id, "service_ids": invoice.service_ids(),
    })


def credit(uow: UnitOfWork, client: Client, currency: str, amount: int, now: datetime, reason: str,
           **details) -> None:
    """``amount`` (negative: taken back) on the client's credit balance, with its event."""
    client = uow.hold(client)
    client.adjust_credit(currency, amount)
    client.updated_at = to_storage(now)
    uow.save(client)
    uow.emit([new_event(EventType.CLIENT_CREDITED, client_id=client.client_id, occurred_at=now, payload={
        "client_id": client.client_id, "amount": amount, "currency": currency, "reason": reason, **details,
    })])
