"""SQS consumer of the status page's announcements (``status.incident_opened``, ``status.incident_resolved``,
``status.maintenance_scheduled``, ``status.maintenance_reminder``, relayed from the outbox): every account with a
live service on an affected server is told once, one ``status.*_notice`` event each (its alert, by its people's
preferences).

Who is affected is read when the announcement is handled: the ServerMember markers of each server (one Query each)
and the services they name (BatchGetItem), so a service transferred or ended meanwhile counts as it is now. Accounts
are told in chunks of CHUNK, each one transaction of the events and of a StatusNotice marker per account keyed by the
announcement; the markers already written are read first, so a redelivery (or a retry after a crash between chunks)
tells nobody twice and forgets nobody."""

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.services import ENDED_STATUSES, Service
from shared.dal.status import StatusNotice, StatusRepository
from shared.dal.table import batch_get
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType, new_event

logger = Logger()
repo = StatusRepository()
clock = SystemClock()
CHUNK = 45  # 45 events + 45 markers < 100 items
NAMED = 3  # services named in an alert; more are "y N más"
NOTICE_OF = {EventType.STATUS_INCIDENT_OPENED: EventType.STATUS_INCIDENT_OPENED_NOTICE,
             EventType.STATUS_INCIDENT_RESOLVED: EventType.STATUS_INCIDENT_RESOLVED_NOTICE,
             EventType.STATUS_MAINTENANCE_SCHEDULED: EventType.STATUS_MAINTENANCE_NOTICE,
             EventType.STATUS_MAINTENANCE_REMINDER: EventType.STATUS_MAINTENANCE_REMINDER_NOTICE}


def affected_accounts(servers: list[str]) -> dict[str, list[Service]]:
    """The accounts with live services on these servers, and those services."""
    ids = repo.services_on(servers)
    found = batch_get(Service.key(service_id) for service_id in ids)
    accounts: dict[str, list[Service]] = {}
    for service in sorted((s for s in found.values() if isinstance(s, Service)), key=lambda s: s.service_id):
        if service.status not in ENDED_STATUSES:
            accounts.setdefault(service.client_id, []).append(service)
    return accounts


def _named(services: list[Service]) -> str:
    names = [s.domain or s.product_name for s in services]
    shown = ", ".join(names[:NAMED])
    return shown if len(names) <= NAMED else f"{shown} y {len(names) - NAMED} más"


def tell_affected(event_type: str, announcement: dict[str, Any]) -> int:
    now = clock.now()
    key = announcement["announcement"]
    accounts = affected_accounts(announcement.get("servers") or [])
    told = 0
    ordered = sorted(accounts)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start:start + CHUNK]
        already = repo.told(key, chunk)
        pending = [client_id for client_id in chunk if client_id not in already]
        if not pending:
            continue
        with UnitOfWork() as uow:
            for client_id in pending:
                services = accounts[client_id]
                uow.create(StatusNotice(*StatusNotice.key(key, client_id), announcement=key,
                                        expires_at=now + timedelta(days=30)))
                payload = {k: announcement.get(k) for k in ("incident_id", "maintenance_id", "title", "impact",
                                                            "starts_at", "ends_at") if announcement.get(k)}
                uow.emit([new_event(NOTICE_OF[event_type], client_id=client_id, occurred_at=now, payload={
                    **payload, "service_ids": [s.service_id for s in services], "services": _named(services)})])
        told += len(pending)
    return told


def run(record: SQSRecord) -> None:
    event = json.loads(record.body)
    told = tell_affected(event["type"], event["payload"])
    logger.info("affected accounts told", extra={"announcement": event["payload"].get("announcement"),
                                                  "accounts": told})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, run, context)
