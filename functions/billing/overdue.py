"""Scheduled (EventBridge, daily): reminds clients of unpaid invoices on a schedule (invoice.reminder before
and on the due date, invoice.overdue after it)."""

from typing import Any

from aws_lambda_powertools import Logger
from billing.reminders import remind_unpaid_invoices

from shared.clock import SystemClock
from shared.dal.billing import Billing

logger = Logger()
billing = Billing()
clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    reminded = remind_unpaid_invoices(billing, clock)
    logger.info("reminder sweep done", extra={"reminded": reminded})
    return {"reminded": reminded}
