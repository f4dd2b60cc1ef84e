"""The daily overdue reminder (no API models: the scheduled function stays light)."""

from shared.calendar import local_date
from shared.clock import Clock, from_storage, to_storage
from shared.dal.repositories import Store
from shared.events import EventType, new_event


def remind_overdue_invoices(store: Store, clock: Clock) -> int:
    """One invoice.overdue event per unpaid, past-due invoice and local day. Returns how many were sent.

    Idempotent within a day: a rerun of the schedule (or an overlap) finds today's date already set
    and the version check stops a concurrent duplicate.
    """
    now = clock.now()
    today = local_date(now).isoformat()
    reminded = 0
    for invoice in store.invoices_due_before(to_storage(now)):
        if invoice.status != "unpaid" or invoice.last_overdue_notice_on == today:
            continue
        days_overdue = (local_date(now) - local_date(from_storage(invoice.due_at))).days
        invoice.last_overdue_notice_on = today
        event = new_event(
            EventType.INVOICE_OVERDUE,
            client_id=invoice.client_id,
            payload={
                "invoice_id": invoice.invoice_id, "due_at": invoice.due_at, "days_overdue": days_overdue,
                "balance": int(invoice.total) - int(invoice.amount_paid), "currency": invoice.currency,
            },
            occurred_at=now,
        )
        store.save_with_events([invoice], [event])
        reminded += 1
    return reminded
