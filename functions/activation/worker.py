"""SQS consumer of provisioning commands (`service.provisioning_requested`, relayed from the outbox).

A failed attempt is recorded on the service and the message comes back with exponential backoff
(ChangeMessageVisibility: 10 s, 20 s, 40 s …); after the last attempt the service shows
`activation_failed` and the message is consumed. Redelivered commands are skipped (state check).
Partial batch responses (Powertools BatchProcessor): only the failed commands come back.
"""

import json
from typing import Any

from activation import cpanel
from activation.server_accounts import SERVER_ACTIONS, RetryLater, apply_to_server, provision, rotate_password
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared import config
from shared.aws import LazyClient, delay_redelivery, json_secret
from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.dal.upgrades import Upgrades

logger = Logger()
services, accounts, plan_changes = Services(), Accounts(), Upgrades()
clock = SystemClock()
kms = LazyClient("kms")
sqs = LazyClient("sqs")


def whm() -> cpanel.WhmApi | None:
    values = json_secret(config.PROVISIONING_SECRETS_ID)
    if not values.get("whm_url") or not values.get("whm_token"):
        return None
    return cpanel.WhmApi(values["whm_url"], values["whm_token"])


def run_command(record: SQSRecord) -> None:
    service_id = None
    try:
        command = json.loads(record.body)["payload"]
        service_id = command["service_id"]
        action = command.get("action", "create")
        if action == "create":
            outcome = provision(services, accounts, kms, clock, whm(), service_id)
        elif action == "rotate_password":
            outcome = rotate_password(services, kms, clock, whm(), service_id)
        elif action in SERVER_ACTIONS or action == "terminate":
            outcome = apply_to_server(services, plan_changes, clock, whm(), command)
        else:
            logger.warning("unsupported provisioning action", extra={"command": command})
            return
        logger.info("provisioning done", extra={"service_id": service_id, "outcome": outcome})
    except RetryLater as retry:
        backoff = min(10 * 2 ** (retry.attempts - 1), 900)
        if not delay_redelivery(sqs, config.env(config.PROVISIONING_QUEUE_URL), record.raw_event, backoff):
            logger.warning("could not delay the retry; the queue's visibility timeout brings it back")
        logger.warning("provisioning failed; retrying", extra={"service_id": service_id, "in_s": backoff})
        raise
    except Exception:
        logger.exception("provisioning crashed", extra={"service_id": service_id})
        raise


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, run_command, context)
