"""Every minute: remote support reminders due (the sparse by_due index, never a Scan) — the day before and 15
minutes before, each once (support.remote_booking.send_due_reminders); the alerts fan-out sends them."""

from typing import Any

from aws_lambda_powertools import Logger
from support.remote_booking import send_due_reminders

from shared.clock import SystemClock
from shared.dal.support import RemoteBookings

logger = Logger()
bookings = RemoteBookings()
clock = SystemClock()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> dict:
    done = send_due_reminders(bookings, clock)
    logger.info("remote support reminders", extra=done)
    return done
