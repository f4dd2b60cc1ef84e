"""Lifecycle's reactions to a renewal invoice (shared.lifecycle holds the rules): paid, the next period is
paid for (a suspension it caused is lifted at once, and a standing invoice of a pending end-of-period
cancellation moves the end to the period it pays); its money taken back, the period is unpaid again."""

from datetime import datetime

from shared import lifecycle
from shared.clock import from_storage
from shared.dal.billing import Invoice
from shared.dal.lifecycle import Cancellation, Lifecycle
from shared.dal.services import Services
from shared.dal.unit_of_work import UnitOfWork
from shared.dal.upgrades import Upgrade, Upgrades
from shared.reactions import INVOICE_PAID, INVOICE_UNSETTLED, on

services, lifecycles, plan_changes = Services(), Lifecycle(), Upgrades()


@on(INVOICE_PAID)
def next_period_paid(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.purpose != "renewal":
        return
    policy = lifecycle.LifecyclePolicy.from_env()
    for service in services.held_services(uow, invoice.service_ids()):
        upgrade = None
        if service.pending_upgrade_id and from_storage(service.period_end) <= now:  # paid late: it starts now
            upgrade = uow.held(Upgrade, *Upgrade.key(service.pending_upgrade_id)) or plan_changes.find_upgrade(
                service.pending_upgrade_id)
            if upgrade is not None:
                uow.save(uow.hold(upgrade))
        events = lifecycle.renewal_paid(service, invoice, now, policy, upgrade)
        if events is None:
            continue
        _follow_cancellation(uow, service)
        uow.save(service)
        uow.emit(events)


@on(INVOICE_UNSETTLED)
def next_period_unpaid(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.purpose != "renewal":
        return
    policy = lifecycle.LifecyclePolicy.from_env()
    for service in services.held_services(uow, invoice.service_ids()):
        if service.client_id != invoice.client_id:
            continue  # a previous holder's renewal taken back: the service changed hands since, it is not theirs
        events = lifecycle.renewal_unsettled(service, invoice, now, policy)
        if events is None:
            continue
        _follow_cancellation(uow, service)
        uow.save(service)
        uow.emit(events)


def _follow_cancellation(uow: UnitOfWork, service) -> None:
    """A pending end-of-period cancellation follows the last paid period."""
    if not service.cancellation_type:
        return
    cancellation = uow.held(Cancellation, *Cancellation.key(service.service_id)) or lifecycles.find_cancellation(
        service.service_id)
    if cancellation is not None:
        lifecycle.follow_paid_period(uow.hold(cancellation), service)
        uow.save(cancellation)
