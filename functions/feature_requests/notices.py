"""SQS consumer of ``feature_request.status_changed`` (relayed from the outbox): every account that voted for the
request is told, one ``feature_request.status_notice`` event per account (its holder gets the alert
``funcionalidad_estado``).

Accounts are told in chunks of CHUNK, each chunk one transaction of its events and of a FeatureNotice marker per
account (keyed by the change): a redelivery, or a retry after a crash between chunks, finds the chunks already
written and skips them, so no account is told twice and none is forgotten."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.feature_requests import FeatureNotice, FeatureRequests
from shared.dal.table import find_item
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType, new_event

logger = Logger()
repo = FeatureRequests()
clock = SystemClock()
CHUNK = 45  # 45 events + 45 markers < 100 items


def tell_voters(change: dict[str, Any]) -> int:
    from datetime import timedelta

    now = clock.now()
    accounts = sorted(v.client_id for v in repo.votes(change["request_id"]))
    told = 0
    for start in range(0, len(accounts), CHUNK):
        chunk = accounts[start:start + CHUNK]
        if find_item(FeatureNotice, FeatureNotice.key(change["request_id"], change["changed_at"], chunk[0])):
            continue  # this chunk was written by an earlier delivery (a chunk is written whole or not at all)
        with UnitOfWork() as uow:
            for client_id in chunk:
                uow.create(FeatureNotice(*FeatureNotice.key(change["request_id"], change["changed_at"], client_id),
                                         request_id=change["request_id"], expires_at=now + timedelta(days=30)))
                uow.emit([new_event(EventType.FEATURE_REQUEST_STATUS_NOTICE, client_id=client_id, occurred_at=now,
                                    payload={k: change.get(k) for k in ("request_id", "title", "status",
                                                                        "public_note")})])
        told += len(chunk)
    return told


def run(record: SQSRecord) -> None:
    change = json.loads(record.body)["payload"]
    logger.info("voters told", extra={"request_id": change.get("request_id"), "accounts": tell_voters(change)})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, run, context)
