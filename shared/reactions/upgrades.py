"""Plan changes' reactions: paying a change's invoice applies it; refunding that money reverts it (the
service goes back to its old plan, and nothing else about the service changes)."""

from datetime import datetime

from shared import lifecycle, upgrades
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing, Invoice
from shared.dal.services import Service, Services
from shared.dal.table import clear_due
from shared.dal.unit_of_work import UnitOfWork
from shared.dal.upgrades import Upgrade, Upgrades
from shared.invoices import credit
from shared.reactions import INVOICE_PAID, INVOICE_UNSETTLED, on

billing, services, plan_changes, accounts = Billing(), Services(), Upgrades(), Accounts()


def _held_or_read(uow: UnitOfWork, model, item_id: str | None, read):
    if not item_id:
        return None
    item = uow.held(model, *model.key(item_id)) or read(item_id)
    return uow.hold(item) if item is not None else None


def _change_of(uow: UnitOfWork, invoice: Invoice) -> tuple[Upgrade, Service, Invoice | None] | None:
    upgrade = _held_or_read(uow, Upgrade, invoice.upgrade_id, plan_changes.find_upgrade)
    if upgrade is None:
        return None
    service = _held_or_read(uow, Service, upgrade.service_id, services.get_service)
    renewal = _held_or_read(uow, Invoice, service.renewal_invoice_id, billing.find_invoice)
    return upgrade, service, renewal


def _save(uow: UnitOfWork, items, events) -> None:
    for item in items:
        if item is not None:
            uow.save(item)
    uow.emit(events)


@on(INVOICE_PAID)
def apply_paid_change(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    change = _change_of(uow, invoice) if invoice.upgrade_id else None
    if change is None or change[0].status != "awaiting_payment":
        return  # cancelled or expired with its invoice, which then was not unpaid: never here
    upgrade, service, renewal = change
    events = upgrades.apply(upgrade, service, now, renewal)
    lifecycle.schedule(service, lifecycle.LifecyclePolicy.from_env())
    _save(uow, (upgrade, service, renewal), events)


@on(INVOICE_UNSETTLED)
def revert_refunded_change(uow: UnitOfWork, invoice: Invoice, now: datetime) -> None:
    change = _change_of(uow, invoice) if invoice.upgrade_id else None
    if change is None or change[0].status not in ("applying", "completed"):
        return
    upgrade, service, renewal = change
    events = upgrades.revert(upgrade, service, now, renewal)
    lifecycle.schedule(service, lifecycle.LifecyclePolicy.from_env())
    _save(uow, (upgrade, service, renewal), events)
    # The change is over: its invoice is closed, so paying it again cannot buy nothing. What is still paid
    # on it (a partial refund) goes to the client's credit.
    invoice.status = "cancelled"
    clear_due(invoice)
    if invoice.amount_paid:
        credit(uow, accounts.get_client(invoice.client_id), invoice.currency, invoice.amount_paid, now,
               "upgrade_reverted", upgrade_id=upgrade.upgrade_id)
