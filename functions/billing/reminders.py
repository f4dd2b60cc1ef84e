"""The daily overdue reminder (no API models: the scheduled function stays light)."""

from aws_lambda_powertools import Logger

from shared.calendar import local_date, local_midnight
from shared.clock import Clock, from_storage, to_storage
from shared.dal.billing import Billing
from shared.dal.unit_of_work import save_change
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event

logger = Logger()


def remind_overdue_invoices(billing: Billing, clock: Clock) -> int:
    """One invoice.overdue event per unpaid, past-due invoice and local day. Returns how many were sent.

    An invoice is overdue once its due date (a local calendar day) has passed. Idempotent within a day:
    a rerun finds today's date already set, and the version check stops a concurrent duplicate. The
    index is eventually consistent, so a stale copy may lose that check: it is skipped, not fatal.
    """
    now = clock.now()
    today = local_date(now)
    reminded = 0
    for invoice in billing.invoices_due_before(to_storage(local_midnight(today))):
        if invoice.status != "unpaid" or invoice.last_overdue_notice_on == today.isoformat():
            continue
        days_overdue = (today - local_date(from_storage(invoice.due_at))).days
        invoice.last_overdue_notice_on = today.isoformat()
        event = new_event(
            EventType.INVOICE_OVERDUE,
            client_id=invoice.client_id,
            payload={
                "invoice_id": invoice.invoice_id, "due_at": invoice.due_at, "days_overdue": days_overdue,
                "balance": invoice.balance, "currency": invoice.currency,
            },
            occurred_at=now,
        )
        try:
            save_change([invoice], [event])
        except ConcurrentModification:
            logger.info("invoice changed meanwhile; skipped", extra={"invoice_id": invoice.invoice_id})
            continue
        reminded += 1
    return reminded
