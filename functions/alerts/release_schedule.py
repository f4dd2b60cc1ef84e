"""Every 15 minutes: queue the alerts held for the quiet hours whose window has ended (sparse by_due)."""

from typing import Any

from alerts.dispatch import release_waiting
from alerts.queue import send_batch
from aws_lambda_powertools import Logger

from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.alerts import Alerts

logger = Logger()
deliveries = Alerts()
clock = SystemClock()
sqs = LazyClient("sqs")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    released = release_waiting(deliveries, lambda pks, delays: send_batch(sqs, pks, delays), clock)
    logger.info("held alerts released", extra={"released": released})
    return {"released": released}
