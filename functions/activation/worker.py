"""SQS consumer of provisioning commands (`service.provisioning_requested`, relayed from the outbox).

A failed attempt is recorded on the service and the message comes back with exponential backoff
(ChangeMessageVisibility: 10 s, 20 s, 40 s …); after the last attempt the service shows
`activation_failed` and the message is consumed. Redelivered commands are skipped (state check).
"""

import json
from typing import Any

from activation import cpanel
from activation.server_accounts import SERVER_ACTIONS, RetryLater, apply_to_server, provision
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from shared import config
from shared.aws import LazyClient, delay_redelivery
from shared.clock import SystemClock
from shared.dal.repositories import Store

logger = Logger()
store = Store()
clock = SystemClock()
kms = LazyClient("kms")
sqs = LazyClient("sqs")


def whm() -> cpanel.WhmApi | None:
    values = parameters.get_secret(config.env(config.PROVISIONING_SECRETS_ID), transform="json", max_age=300)
    if not values.get("whm_url") or not values.get("whm_token"):
        return None
    return cpanel.WhmApi(values["whm_url"], values["whm_token"])


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    failures = []
    for record in event.get("Records", []):
        service_id = None
        try:
            command = json.loads(record["body"])["payload"]
            service_id = command["service_id"]
            action = command.get("action", "create")
            if action == "create":
                outcome = provision(store, kms, clock, whm(), service_id)
            elif action in SERVER_ACTIONS:
                outcome = apply_to_server(store, clock, whm(), command)
            else:
                logger.warning("unsupported provisioning action", extra={"command": command})
                continue
            logger.info("provisioning done", extra={"service_id": service_id, "outcome": outcome})
        except RetryLater as retry:
            backoff = min(10 * 2 ** (retry.attempts - 1), 900)
            _delay_or_log(record, backoff)
            logger.warning("provisioning failed; retrying", extra={"service_id": service_id, "in_s": backoff})
            failures.append({"itemIdentifier": record["messageId"]})
        except Exception:
            logger.exception("provisioning crashed", extra={"service_id": service_id})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _delay_or_log(record: dict, seconds: int) -> None:
    if not delay_redelivery(sqs, config.env(config.PROVISIONING_QUEUE_URL), record, seconds):
        logger.warning("could not delay the retry; the queue's visibility timeout brings it back")
