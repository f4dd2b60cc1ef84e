"""Daily sweep of the services whose next lifecycle step is due (the sparse by_due index, never a Scan):
issue the renewal invoice, start the paid next period, suspend or terminate the unpaid, let a domain
whose renewal was turned off expire. Each service's entry is its next step, so the work grows with what
is due, not with the table. No API models are imported: the scheduled function stays light.
"""

from typing import Any

from aws_lambda_powertools import Logger

from shared import lifecycle, upgrades
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.lifecycle import Lifecycle
from shared.dal.services import Service, Services
from shared.dal.unit_of_work import UnitOfWork
from shared.dal.upgrades import Upgrades
from shared.errors import ConcurrentModification
from shared.ids import id_at
from shared.invoices import settle_at_issue

logger = Logger()
lifecycles, services, billing, accounts, plan_changes = Lifecycle(), Services(), Billing(), Accounts(), Upgrades()
clock = SystemClock()


class Repositories:
    def __init__(self, lifecycles: Lifecycle, services: Services, billing: Billing, accounts: Accounts,
                 plan_changes: Upgrades):
        self.lifecycles, self.services, self.billing = lifecycles, services, billing
        self.accounts, self.plan_changes = accounts, plan_changes


def run(repos: Repositories, clock: Clock, policy: lifecycle.LifecyclePolicy) -> dict[str, int]:
    now = clock.now()
    done = {"issue_renewal": 0, "advance": 0, "suspend": 0, "terminate": 0, "expire": 0, "rescheduled": 0,
            "skipped": 0, "failed": 0}
    for service in repos.lifecycles.services_due_before(to_storage(now)):
        # The index copy is complete (projection ALL) and every write is version-checked: a stale copy
        # loses that check and is read again, consistently, once.
        for attempt in range(2):
            try:
                done[step(repos, service, now, policy)] += 1
                break
            except ConcurrentModification:
                if attempt:
                    logger.info("service changed meanwhile; next run", extra={"service_id": service.service_id})
                    done["skipped"] += 1
                else:
                    service = repos.services.get_service(service.service_id, consistent=True)
            except Exception:  # one broken item must not stop the others: it stays due, and is logged each run
                logger.exception("lifecycle step failed", extra={"service_id": service.service_id})
                done["failed"] += 1
                break
    return done


def step(repos: Repositories, service: Service, now, policy: lifecycle.LifecyclePolicy) -> str:
    """Take the service's due step (at most one: the next is scheduled by it). Returns which."""
    uow = UnitOfWork()
    uow.save(service)
    due = lifecycle.next_step(service, policy)
    if due is None or due[1] > to_storage(now):
        lifecycle.schedule(service, policy)  # the entry was stale (a policy change, an older write)
        uow.commit()
        return "rescheduled"
    name = due[0]
    upgrade = repos.plan_changes.find_upgrade(service.pending_upgrade_id) if service.pending_upgrade_id else None
    if upgrade is not None:
        uow.save(upgrade)
    if name == "issue_renewal":
        scheduled = upgrade if upgrade is not None and upgrade.status == "scheduled" else None
        invoice_id = id_at(now)
        invoice, events = lifecycle.renewal_invoice(
            service, invoice_id, now,
            **({"product_name": scheduled.to_product_name, "amount": scheduled.to_recurring_amount,
                "billing_cycle": scheduled.to_billing_cycle} if scheduled else {}))
        if scheduled is not None:
            scheduled.repriced_renewal_id = invoice_id
        uow.create(invoice)
        uow.emit(events)
        # The client's credit pays what it can at once (as WHMCS), which may pay the next period already.
        settle_at_issue(uow, invoice, repos.accounts.get_client(service.client_id), now)
    elif name == "advance":
        renewal = repos.billing.find_invoice(service.renewal_invoice_id) if upgrade is not None else None
        if renewal is not None:
            uow.save(renewal)
        uow.emit(lifecycle.start_next_period(service, now, upgrade, renewal))
    elif name == "suspend":
        uow.emit(lifecycle.suspend(service, now, lifecycle.OVERDUE, service.renewal_invoice_id, "Falta de pago"))
    else:  # terminate | expire: the unpaid renewal pays a period that will never be served
        renewal = repos.billing.find_invoice(service.renewal_invoice_id)
        if renewal is not None and renewal.status == "unpaid":
            lifecycle.close_renewal(uow, renewal, service, now, repos.accounts.get_client)
        if upgrade is not None and upgrade.status in upgrades.OPEN_STATUSES:
            uow.emit(_close_change(repos, uow, upgrade, service, now))
        uow.emit(lifecycle.end(service, now, "overdue" if name == "terminate" else "expired"))
    lifecycle.schedule(service, policy)
    uow.commit()
    return name


def _close_change(repos: Repositories, uow: UnitOfWork, upgrade, service, now) -> list:
    invoice = repos.billing.find_invoice(upgrade.invoice_id) if upgrade.status == "awaiting_payment" else None
    client = uow.hold(repos.accounts.get_client(service.client_id)) if invoice is not None and invoice.amount_paid \
        else None  # held: the renewal's credit may already hold it
    for item in (invoice, client):
        if item is not None:
            uow.save(item)
    return upgrades.close(upgrade, service, invoice, "cancelled", "service_ended", now, client=client)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    done = run(Repositories(lifecycles, services, billing, accounts, plan_changes), clock,
               lifecycle.LifecyclePolicy.from_env())
    logger.info("lifecycle swept", extra=done)
    return done
