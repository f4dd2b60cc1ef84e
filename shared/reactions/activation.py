"""Activation's reactions: a paid invoice starts (or restores) its services; money taken back suspends
them or cancels their activation (shared.activation holds the rules). An upgrade's invoice is not the
services' own money: the plan-change reactions deal with it."""

from datetime import datetime

from shared import activation
from shared.dal.billing import Invoice
from shared.dal.services import Service, Services
from shared.dal.unit_of_work import UnitOfWork
from shared.reactions import INVOICE_PAID, INVOICE_UNSETTLED, on

services = Services()


def services_of(uow: UnitOfWork, invoice: Invoice) -> list[Service]:
    """The invoice's services, as this change holds them (one BatchGetItem for those it does not)."""
    ids = invoice.service_ids()
    held = {i: uow.held(Service, *Service.key(i)) for i in ids}
    missing = [i for i, service in held.items() if service is None]
    # Consistent: a change is about to be written on top of what is read.
    loaded = {s.service_id: s for s in services.get_services(missing, consistent=True)} if missing else {}
    return [uow.hold(held[i] or loaded[i]) for i in ids if held[i] or i in loaded]


@on(INVOICE_PAID)
def activate_or_restore(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.upgrade_id:
        return
    for service in services_of(uow, invoice):
        events = activation.start_activation(service, now) or activation.paid_again(service, now)
        if events:
            uow.save(service)
            uow.emit(events)


@on(INVOICE_UNSETTLED)
def withdraw(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.upgrade_id:
        return
    for service in services_of(uow, invoice):
        events = activation.withdraw(service, now)
        if events is not None:
            uow.save(service)
            uow.emit(events)
