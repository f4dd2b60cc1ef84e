"""Activation's reactions: a paid invoice starts (or restores) its services; money taken back suspends
them or cancels their activation (shared.activation holds the rules). An upgrade's invoice and a renewal
are not a service's first money: the plan-change and renewal reactions deal with them."""

from datetime import datetime

from shared import activation
from shared.dal.billing import Invoice
from shared.dal.services import Service, Services
from shared.dal.unit_of_work import UnitOfWork
from shared.reactions import INVOICE_PAID, INVOICE_UNSETTLED, on

services = Services()


def services_of(uow: UnitOfWork, invoice: Invoice) -> list[Service]:
    """The invoice's services that are still its account's: one that changed holder since (Cambio de titular) is
    not activated, suspended or restored by the previous holder's invoice."""
    return [s for s in services.held_services(uow, invoice.service_ids()) if s.client_id == invoice.client_id]


@on(INVOICE_PAID)
def activate_or_restore(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.upgrade_id or invoice.purpose == "renewal":
        return
    for service in services_of(uow, invoice):
        events = (activation.start_activation(service, now)
                  or activation.paid_again(service, now, invoice.invoice_id))
        if events:
            uow.save(service)
            uow.emit(events)


@on(INVOICE_UNSETTLED)
def withdraw(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    if invoice.upgrade_id or invoice.purpose == "renewal":
        return
    for service in services_of(uow, invoice):
        events = activation.withdraw(service, now, invoice.invoice_id)
        if events is not None:
            uow.save(service)
            uow.emit(events)
