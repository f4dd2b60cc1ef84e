"""SQS consumer of the alerts queue (events relayed from the outbox): one delivery per recipient and channel, queued
for the sender. Partial batch responses (Powertools BatchProcessor): only the events that failed come back."""

import json
from typing import Any

from alerts.dispatch import fan_out
from alerts.queue import send_batch
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared import config
from shared.aws import LazyClient
from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.alerts import Alerts

logger = Logger()
deliveries, accounts = Alerts(), Accounts()
clock = SystemClock()
sqs = LazyClient("sqs")


def _listed(variable: str) -> list[str]:
    """A comma-separated setting (the staff on-call numbers, their addresses) as its items."""
    return [item.strip() for item in config.env(variable, "").split(",") if item.strip()]


def ops_numbers() -> list[str]:
    return _listed(config.OPS_WHATSAPP_NUMBERS)


def ops_emails() -> list[str]:
    return _listed(config.OPS_ALERT_EMAILS)


class NotFannedOut(Exception):
    """Some deliveries of the event could not be stored or queued: its redelivery finishes the job."""


def fan_out_record(record: SQSRecord) -> None:
    try:
        envelope = json.loads(record.body)
        if not isinstance(envelope, dict):
            raise ValueError("not an object")
    except (TypeError, ValueError, RecursionError):
        logger.error("not an event envelope; dropped", extra={"message_id": record.message_id})
        return  # consumed: no retry makes it readable
    # One event per call: its deliveries share one SendMessageBatch (SQS calls stay within deliveries ÷ 10
    # plus events, the bench's budget).
    result = fan_out(deliveries, accounts, lambda pks, delays: send_batch(sqs, pks, delays), clock,
                     [(record.message_id, envelope)], ops_numbers(), config.env(config.QUIET_HOURS, "21:00-09:00"),
                     int(config.env(config.INVOICE_ALERT_HOLD_SECONDS, "120")), ops_emails())
    logger.info("alert fanned out", extra={"deliveries_created": result.created, "deliveries_queued": result.queued,
                                           "deliveries_waiting": result.waiting, "event_type": envelope.get("type")})
    if result.failed_messages:
        raise NotFannedOut(record.message_id)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, fan_out_record, context)
