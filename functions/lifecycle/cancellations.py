"""Executes due cancellations: every 15 minutes from the sparse by_due index (the safety net), and at once
for an immediate one through the cancellations queue. Each ends its service exactly once: the
cancellation and the service are written together, both version-checked, so of two concurrent sweeps or
a sweep and a redelivered message only one commits; the others find it executed and stop.
No API models are imported: the scheduled function stays light.
"""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared import lifecycle, upgrades
from shared.batch import process_sqs
from shared.clock import Clock, SystemClock, from_storage, to_storage
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.lifecycle import Cancellation, Lifecycle
from shared.dal.services import Services
from shared.dal.unit_of_work import UnitOfWork
from shared.dal.upgrades import Upgrades
from shared.errors import ConcurrentModification

logger = Logger()
lifecycles, services, billing, accounts, plan_changes = Lifecycle(), Services(), Billing(), Accounts(), Upgrades()
clock = SystemClock()


def execute(services: Services, billing: Billing, plan_changes: Upgrades, clock: Clock,
            cancellation: Cancellation) -> str:
    """End the service of a due, pending cancellation. Returns what happened."""
    now = clock.now()
    if cancellation.status != "pending":
        return "skipped:" + cancellation.status
    # An immediate one is due when filed: the worker's clock a moment behind the API's must not drop it.
    if cancellation.type != "immediate" and from_storage(cancellation.effective_at) > now:
        return "skipped:not_due"
    service = services.get_service(cancellation.service_id, consistent=True)
    uow = UnitOfWork()
    uow.save(cancellation)
    uow.save(service)
    if service.status in ("cancelled", "terminated", "expired"):
        # Ended another way meanwhile (unpaid, by staff): the request has nothing left to do.
        cancellation.status = "executed"
        cancellation.executed_at = to_storage(now)
        cancellation.due_pk = cancellation.due_sk = None
        uow.commit()
        return "closed:already_ended"
    if service.pending_upgrade_id:
        upgrade = plan_changes.find_upgrade(service.pending_upgrade_id)
        if upgrade is not None and upgrade.status in upgrades.OPEN_STATUSES:
            uow.save(upgrade)
            uow.emit(upgrades.close(upgrade, service, None, "cancelled", "cancellation", now))
    if cancellation.renewal_policy == "void" and service.renewal_invoice_id:
        renewal = billing.find_invoice(service.renewal_invoice_id)
        if renewal is not None and lifecycle.void_renewal(renewal, service):
            uow.save(renewal)
    uow.emit(lifecycle.execute_cancellation(cancellation, service, now))
    uow.commit()
    return "executed"


def sweep(lifecycles: Lifecycle, services: Services, billing: Billing, plan_changes: Upgrades,
          clock: Clock) -> dict[str, int]:
    done = {"executed": 0, "skipped": 0}
    for due in lifecycles.cancellations_due_before(to_storage(clock.now())):
        try:
            outcome = execute(services, billing, plan_changes, clock, due)
        except ConcurrentModification:  # withdrawn, paid or executed at this very moment: look again next run
            outcome = "skipped:changed"
        except Exception:  # one broken item must not stop the others: it stays due, and is logged each run
            logger.exception("cancellation failed", extra={"service_id": due.service_id})
            outcome = "skipped:failed"
        done["executed" if outcome.startswith(("executed", "closed")) else "skipped"] += 1
    return done


def execute_now(record: SQSRecord) -> None:
    """An immediate cancellation's message (``service.cancellation_due``, relayed from the outbox)."""
    service_id = json.loads(record.body)["payload"]["service_id"]
    cancellation = lifecycles.find_cancellation(service_id)
    if cancellation is None:
        logger.warning("no cancellation for the service", extra={"service_id": service_id})
        return
    try:
        outcome = execute(services, billing, plan_changes, clock, cancellation)
    except ConcurrentModification:
        outcome = "skipped:changed"  # another run executed it (or the holder withdrew it) just now
    logger.info("cancellation", extra={"service_id": service_id, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
def sweep_handler(event: dict, context: Any) -> dict:
    done = sweep(lifecycles, services, billing, plan_changes, clock)
    logger.info("cancellations swept", extra=done)
    return done


@logger.inject_lambda_context(clear_state=True)
def queue_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, execute_now, context)
