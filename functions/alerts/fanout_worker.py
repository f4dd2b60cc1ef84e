"""SQS consumer of the alerts queue (events relayed from the outbox): one delivery per recipient, queued
for the sender. Partial batch responses: only the events that failed come back."""

import json
from typing import Any

from alerts.dispatch import fan_out
from alerts.queue import send_batch
from aws_lambda_powertools import Logger

from shared import config
from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.alerts import Alerts

logger = Logger()
deliveries, accounts = Alerts(), Accounts()
clock = SystemClock()
sqs = LazyClient("sqs")


def ops_numbers() -> list[str]:
    return [n.strip() for n in config.env(config.OPS_WHATSAPP_NUMBERS, "").split(",") if n.strip()]


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    messages, failures = [], []
    for record in event.get("Records", []):
        try:
            envelope = json.loads(record["body"])
            if not isinstance(envelope, dict):
                raise ValueError("not an object")
            messages.append((record["messageId"], envelope))
        except (KeyError, ValueError, RecursionError):
            logger.error("not an event envelope; dropped", extra={"message_id": record.get("messageId")})
    result = fan_out(deliveries, accounts, lambda pks, delays: send_batch(sqs, pks, delays), clock, messages,
                     ops_numbers(), config.env(config.QUIET_HOURS, "21:00-09:00"),
                     int(config.env(config.INVOICE_ALERT_HOLD_SECONDS, "120")))
    failures = [{"itemIdentifier": message_id} for message_id in result.failed_messages]
    logger.info("alerts fanned out", extra={"deliveries_created": result.created, "deliveries_queued": result.queued,
                                            "deliveries_waiting": result.waiting, "events_failed": len(failures)})
    return {"batchItemFailures": failures}
