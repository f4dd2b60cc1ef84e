"""Scheduled (EventBridge, daily): reminds clients of past-due invoices through invoice.overdue events."""

from typing import Any

from aws_lambda_powertools import Logger
from billing.reminders import remind_overdue_invoices

from shared.clock import SystemClock
from shared.dal.billing import Billing

logger = Logger()
billing = Billing()
clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    reminded = remind_overdue_invoices(billing, clock)
    logger.info("overdue sweep done", extra={"reminded": reminded})
    return {"reminded": reminded}
