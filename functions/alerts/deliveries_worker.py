"""SQS consumer of the deliveries queue: each message sends one WhatsApp alert (alerts.deliver).

Retryable failures come back after a backoff (ChangeMessageVisibility) and, after the queue's
maxReceiveCount, land in its DLQ (`python -m tools.redrive_dlq --stack <name> DeliveriesDeadLetterQueue` puts them
back). An expired (or missing) token is a metric with its own alarm: every send fails until someone
renews it.
"""

import json
from typing import Any

from alerts.deliver import RetryLater, deliver
from alerts.whatsapp import SendFailed, WhatsAppApi
from alerts.whatsapp_secrets import whatsapp_secrets
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared import config
from shared.aws import LazyClient, delay_redelivery
from shared.clock import SystemClock
from shared.dal.repositories import Store

logger = Logger()
metrics = Metrics()
store = Store()
clock = SystemClock()
sqs = LazyClient("sqs")
DEFAULT_API_URL = "https://graph.facebook.com/v21.0"


def api() -> WhatsAppApi:
    phone_number_id = config.env(config.WHATSAPP_PHONE_NUMBER_ID, "")
    token = whatsapp_secrets()["access_token"]
    if not phone_number_id or not token:
        # Not set up yet: the alerts wait (and retry) rather than fail for good.
        raise SendFailed("not_configured", None, "Falta configurar el número de WhatsApp o el token.")
    return WhatsAppApi(config.env(config.WHATSAPP_API_URL, DEFAULT_API_URL), phone_number_id, token)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    failures = []
    for record in event.get("Records", []):
        delivery_pk = None
        try:
            delivery_pk = json.loads(record["body"])["delivery"]
            outcome = deliver(store, api, clock, delivery_pk)
            if outcome in ("sent", "failed", "interrupted"):
                metrics.add_metric(name=f"WhatsApp{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
            logger.info("delivery done", extra={"delivery": delivery_pk, "outcome": outcome})
            if outcome == "in_flight":
                # Claimed by a run that may have died: look again once the claim is stale.
                failures.append({"itemIdentifier": record["messageId"]})
        except RetryLater as retry:
            if retry.failure.kind in ("token_expired", "not_configured"):
                metrics.add_metric(name="WhatsAppTokenExpired", unit=MetricUnit.Count, value=1)
                logger.error("WhatsApp access token expired, revoked or missing", extra={"delivery": delivery_pk})
            metrics.add_metric(name="WhatsAppRetried", unit=MetricUnit.Count, value=1)
            _delay_or_log(record, retry.backoff_seconds)
            logger.warning("delivery will be retried", extra={"delivery": delivery_pk, "kind": retry.failure.kind,
                                                               "code": retry.failure.code,
                                                               "in_s": retry.backoff_seconds})
            failures.append({"itemIdentifier": record["messageId"]})
        except Exception:
            logger.exception("delivery crashed", extra={"delivery": delivery_pk})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _delay_or_log(record: dict, seconds: int) -> None:
    if not delay_redelivery(sqs, config.env(config.DELIVERIES_QUEUE_URL), record, seconds):
        logger.warning("could not delay the retry; the queue's visibility timeout brings it back")
