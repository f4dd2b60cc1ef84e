"""Every 15 minutes: the reminders of scheduled maintenance that are due (the sparse by_due index, never a Scan),
each announced once (status.logic.send_due_reminders); functions/status/notices.py tells the affected accounts."""

from typing import Any

from aws_lambda_powertools import Logger
from status.logic import send_due_reminders

from shared.clock import SystemClock
from shared.dal.status import StatusRepository

logger = Logger()
repo = StatusRepository()
clock = SystemClock()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> dict:
    done = send_due_reminders(repo, clock)
    logger.info("maintenance reminders", extra=done)
    return done
