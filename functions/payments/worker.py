"""SQS consumer: settles queued payment notifications (partial-batch responses; DLQ after retries).

A notification seen before (same provider notification id) returns its first result without calling
the provider again (Powertools idempotency, records kept in the table); the Payment item makes the
settlement itself exactly-once whatever the notifications.
"""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from payments.providers import MercadoPagoApi, ProviderPayment, payment_from_message
from payments.settlement import settle

from shared import config
from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.provider_secrets import provider_secrets

logger = Logger()
billing = Billing()
accounts = Accounts()
clock = SystemClock()
# One notification of one payment: a redelivery returns the first result without asking the provider
# again; another notification (a later status) of the same payment is processed.
idempotency = IdempotencyConfig(
    event_key_jmespath="[provider, payment_id || payment.payment_id, notification_id]",
    expires_after_seconds=7 * 86400,
)


def reported_payment(message: dict[str, Any]) -> ProviderPayment:
    if message["provider"] == "mercadopago":
        secrets = provider_secrets()
        api = MercadoPagoApi(config.env(config.MERCADOPAGO_API_URL, "https://api.mercadopago.com"),
                             secrets["mercadopago_access_token"])
        return api.get_payment(message["payment_id"])
    return payment_from_message(message["payment"])


def process(message: dict[str, Any]) -> str:
    """One notification settled. Called through ``settle_once``: its name is part of the idempotency records' key
    (``<function>.payments.worker.process#<hash>``), kept as it was so that records written before stay valid."""
    return settle(billing, accounts, clock, reported_payment(message))


_settle_once: Callable[..., str] | None = None


def settle_once(message: dict[str, Any]) -> str:
    """``process`` behind Powertools' idempotency. Its persistence layer is made by the first message, not at
    import: it creates its boto3 client in its constructor (a client at every cold start), and a process that imports
    this module before pointing boto3 at its AWS would keep a client for the real one."""
    global _settle_once
    if _settle_once is None:
        persistence = DynamoDBPersistenceLayer(
            table_name=config.env(config.TABLE_NAME, "paneldecliente"),
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY#payment-notifications",
            expiry_attr="expires_at",  # the table's TTL attribute
        )
        _settle_once = idempotent_function(data_keyword_argument="message", config=idempotency,
                                           persistence_store=persistence)(process)
    return _settle_once(message=message)


def settle_record(record: SQSRecord) -> None:
    try:
        outcome = settle_once(json.loads(record.body))
    except Exception:
        # Back to the queue: retried after the visibility timeout, to the DLQ after maxReceiveCount.
        logger.exception("payment notification not settled", extra={"message_id": record.message_id})
        raise
    logger.info("payment notification settled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    idempotency.register_lambda_context(context)
    return process_sqs(event, settle_record, context)
