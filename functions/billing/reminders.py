"""The daily reminder sweep (no API models: the scheduled function stays light)."""

from aws_lambda_powertools import Logger

from shared.calendar import local_date
from shared.clock import Clock, to_storage
from shared.dal.billing import Billing
from shared.dal.table import clear_due
from shared.dal.unit_of_work import save_change
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event
from shared.invoices import reminder_day, reminder_stages, schedule_reminder

logger = Logger()


def remind_unpaid_invoices(billing: Billing, clock: Clock) -> int:
    """One reminder per unpaid invoice whose next stage of the schedule (InvoiceReminderDays: before the
    due date, on it, then +1, +3, +7 days) has come. Returns how many were sent.

    Each invoice sits on the index at its next stage only, so the sweep reads what is due today. After a
    gap (a missed run, the local test clock) only the latest stage that passed is sent, never a burst.
    Idempotent: the stage count moves with the event, and the version check stops a concurrent duplicate;
    a stale index copy loses that check and is skipped, not fatal.
    """
    now = clock.now()
    today = local_date(now)
    stages = reminder_stages()
    reminded = 0
    for invoice in billing.invoices_due_before(to_storage(now)):
        if invoice.status != "unpaid" or invoice.upgrade_id:
            clear_due(invoice)  # settled or closed meanwhile, or an upgrade's (no dunning: it expires)
            events = []
        else:
            passed = sum(1 for stage in stages if reminder_day(invoice, stage) <= today)
            if passed <= invoice.reminders_sent:
                schedule_reminder(invoice)  # an entry older than the schedule: put it where it belongs
                events = []
            else:
                invoice.reminders_sent = passed
                schedule_reminder(invoice)
                events = [_reminder(invoice, (today - reminder_day(invoice, 0)).days, now)]
        try:
            save_change([invoice], events)
        except ConcurrentModification:
            logger.info("invoice changed meanwhile; skipped", extra={"invoice_id": invoice.invoice_id})
            continue
        reminded += len(events)
    return reminded


def _reminder(invoice, days_past_due: int, now):
    payload = {"invoice_id": invoice.invoice_id, "due_at": invoice.due_at, "balance": invoice.balance,
               "currency": invoice.currency, "purpose": invoice.purpose, "service_ids": invoice.service_ids()}
    if days_past_due <= 0:
        return new_event(EventType.INVOICE_REMINDER, client_id=invoice.client_id, occurred_at=now,
                         payload={**payload, "days_left": -days_past_due})
    return new_event(EventType.INVOICE_OVERDUE, client_id=invoice.client_id, occurred_at=now,
                     payload={**payload, "days_overdue": days_past_due})
