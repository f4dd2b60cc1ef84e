"""SQS consumer of the deliveries queue: each message sends one alert, by WhatsApp or by email (alerts.deliver).

Retryable failures come back after a backoff (ChangeMessageVisibility) and, after the queue's
maxReceiveCount, land in its DLQ (`python -m tools.redrive_dlq --stack <name> DeliveriesDeadLetterQueue` puts them
back). An expired (or missing) token is a metric with its own alarm: every send fails until someone
renews it.
"""

import json
from typing import Any

from alerts.deliver import RetryLater, deliver
from alerts.email_alerts import AlertMail, NotConfigured
from alerts.whatsapp import SendFailed, WhatsAppApi
from alerts.whatsapp_secrets import whatsapp_secrets
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared import config, email_delivery
from shared.aws import LazyClient, delay_redelivery
from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.alerts import Alerts
from shared.dal.billing import Billing
from shared.dal.mail import SentEmails

logger = Logger()
metrics = Metrics()
deliveries, billing = Alerts(), Billing()
clock = SystemClock()
sqs, sesv2 = LazyClient("sqs"), LazyClient("sesv2")
DEFAULT_API_URL = "https://graph.facebook.com/v21.0"


def api() -> WhatsAppApi:
    phone_number_id = config.env(config.WHATSAPP_PHONE_NUMBER_ID, "")
    token = whatsapp_secrets()["access_token"]
    if not phone_number_id or not token:
        # Not set up yet: the alerts wait (and retry) rather than fail for good.
        raise SendFailed("not_configured", None, "Falta configurar el número de WhatsApp o el token.")
    return WhatsAppApi(config.env(config.WHATSAPP_API_URL, DEFAULT_API_URL), phone_number_id, token)


def mail() -> AlertMail:
    domain = config.env(config.MAIL_DOMAIN, "")
    if not domain:
        raise NotConfigured("Falta configurar el dominio de los correos (MAIL_DOMAIN).")
    courier = email_delivery.Courier(SentEmails(), sesv2, clock, config.env(config.MAIL_CONFIGURATION_SET, "") or None)
    return AlertMail(courier, f"Paneldecliente <avisos@{domain}>", config.env(config.PANEL_URL, ""))


def still_unpaid(invoice_id: str) -> bool:
    invoice = billing.find_invoice(invoice_id)
    return invoice is None or invoice.status == "unpaid"


class ClaimedElsewhere(Exception):
    """Claimed by a run that may have died: the message comes back to look again once the claim is stale."""


def send_record(record: SQSRecord) -> None:
    delivery_pk = None
    try:
        delivery_pk = json.loads(record.body)["delivery"]
        outcome = deliver(deliveries, api, clock, delivery_pk, still_unpaid, mail)
    except RetryLater as retry:
        if retry.failure.kind in ("token_expired", "not_configured"):
            metrics.add_metric(name="WhatsAppTokenExpired", unit=MetricUnit.Count, value=1)
            logger.error("WhatsApp access token expired, revoked or missing", extra={"delivery": delivery_pk})
        metrics.add_metric(name="WhatsAppRetried", unit=MetricUnit.Count, value=1)
        # A retry that never claimed the delivery (no configuration yet) counted no attempt on it: the
        # queue's receive count does, so every kind of retry backs off the same way.
        receives = int(record.attributes.approximate_receive_count or 1)
        backoff = retry.backoff_after(max(retry.attempts, receives))
        if not delay_redelivery(sqs, config.env(config.DELIVERIES_QUEUE_URL), record.raw_event, backoff):
            logger.warning("could not delay the retry; the queue's visibility timeout brings it back")
        logger.warning("delivery will be retried", extra={"delivery": delivery_pk, "kind": retry.failure.kind,
                                                           "code": retry.failure.code, "in_s": backoff})
        raise
    except Exception:
        logger.exception("delivery crashed", extra={"delivery": delivery_pk})
        raise
    if outcome in ("sent", "failed", "interrupted"):
        metrics.add_metric(name=f"Alert{outcome.capitalize()}", unit=MetricUnit.Count, value=1)  # either channel
    logger.info("delivery done", extra={"delivery": delivery_pk, "outcome": outcome})
    if outcome == "in_flight":
        raise ClaimedElsewhere(delivery_pk)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, send_record, context)
