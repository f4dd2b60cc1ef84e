"""How a plan change takes effect on a service (docs/billing.md). Shared by the upgrade API (free changes),
payment settlement (paid ones), the sweep (scheduled ones and unpaid expiries) and the provisioning
consumer (the server's package changed).

Pure rules on the items: they change them and return the events to write with them in one transaction.
A change may move the service's period or its renewal: the caller puts the service back on the lifecycle
sweep's index (``shared.lifecycle.schedule``).
"""

from datetime import datetime

from shared.activation import CYCLE_MONTHS
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import from_storage, to_storage
from shared.dal import table
from shared.dal.accounts import Client
from shared.dal.billing import Invoice
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.upgrades import Upgrade
from shared.events import EventType, new_event

OPEN_STATUSES = ("awaiting_payment", "scheduled")


def paid_this_cycle(service: Service) -> int:
    """What was paid for the service's current cycle (the recurring price unless a change altered it)."""
    if service.paid_this_cycle is not None and service.paid_for_period == service.period_start:
        return service.paid_this_cycle
    return service.recurring_amount


def mark_due(upgrade: Upgrade, at: str) -> None:
    """List the change on the sweep's sparse index: it has something due at ``at``."""
    table.mark_due(upgrade, "UPGRADE", upgrade.upgrade_id, at)


def apply(upgrade: Upgrade, service: Service, now: datetime, renewal: Invoice | None = None) -> list[EventRecord]:
    """The change takes effect: the service is on the new plan from now on. A package change on the
    server is queued (through the outbox) and completes the change when done; without a server account
    the change completes at once."""
    paid_before = paid_this_cycle(service)
    # What the service was, so that a refund of the change's invoice can restore it (``revert``).
    upgrade.from_paid_this_cycle = paid_before
    upgrade.from_period_start, upgrade.from_period_end = service.period_start, service.period_end
    upgrade.from_manual = service.manual
    service.product_id = upgrade.to_product_id
    service.product_name = upgrade.to_product_name
    service.product_group = upgrade.to_product_group
    if upgrade.to_manual:
        service.manual = upgrade.to_manual
    service.upgrade_targets = list(upgrade.to_upgrade_targets) if upgrade.to_upgrade_targets is not None else None
    service.billing_cycle = upgrade.to_billing_cycle
    service.recurring_amount = upgrade.to_recurring_amount
    if upgrade.period_restarts:
        # A longer cycle starts on the day the change was ordered: the day its price counted the unused
        # part of the old cycle up to, so that no day is both credited and used.
        start = local_midnight(local_date(from_storage(upgrade.created_at)))
        service.period_start = to_storage(start)
        service.period_end = to_storage(
            local_midnight(add_months(start.date(), CYCLE_MONTHS[upgrade.to_billing_cycle])))
        service.paid_this_cycle = upgrade.to_recurring_amount
        service.anniversary_on = start.date().isoformat()  # the new cycle's periods end on its day
    elif upgrade.takes_effect == "next_renewal":
        service.paid_this_cycle = None  # the renewal pays the new cycle
    else:
        service.paid_this_cycle = (paid_before + upgrade.amount_due - upgrade.renewal_difference
                                   - upgrade.credit)
    service.paid_for_period = upgrade.applied_period_start = service.period_start
    service.updated_at = to_storage(now)
    upgrade.due_pk = upgrade.due_sk = None
    upgrade.updated_at = to_storage(now)
    if renewal is not None:
        _renewal_follows(renewal, service, upgrade)
    if service.provisioning_module and service.provisioning_account:
        upgrade.status = "applying"
        return [new_event(EventType.SERVICE_PROVISIONING_REQUESTED, client_id=service.client_id, occurred_at=now,
                          payload={"service_id": service.service_id, "action": "change_package",
                                   "module": service.provisioning_module, "plan": upgrade.to_product_id,
                                   "upgrade_id": upgrade.upgrade_id})]
    return complete(upgrade, service, now)


def revert(upgrade: Upgrade, service: Service, now: datetime, renewal: Invoice | None = None) -> list[EventRecord]:
    """The money of an applied change was refunded: the service goes back to the plan, cycle, period and
    paid amount it had before (and its server to the old package); the change is ``reverted``. A change
    the service has since moved on from is left to staff (the event says so)."""
    # Moved on: another plan since, or another period (a renewal paid at the new price is the client's).
    moved_on = ((service.product_id, service.billing_cycle) != (upgrade.to_product_id, upgrade.to_billing_cycle)
                or service.period_start != upgrade.applied_period_start)
    upgrade.status = "reverted"
    upgrade.updated_at = to_storage(now)
    if service.pending_upgrade_id == upgrade.upgrade_id:
        service.pending_upgrade_id = None
    events = [new_event(EventType.UPGRADE_REVERTED, client_id=service.client_id, occurred_at=now, payload={
        "upgrade_id": upgrade.upgrade_id, "service_id": service.service_id, "invoice_id": upgrade.invoice_id,
        "to_product": upgrade.from_product_name, "from_product": upgrade.to_product_name,
        "left_to_staff": moved_on,
    })]
    if moved_on:
        return events
    service.product_id, service.product_name = upgrade.from_product_id, upgrade.from_product_name
    service.manual = upgrade.from_manual
    service.upgrade_targets = None  # read again from the old plan's product
    service.billing_cycle = upgrade.from_billing_cycle
    service.recurring_amount = upgrade.from_recurring_amount
    if upgrade.period_restarts and upgrade.from_period_start:
        service.period_start, service.period_end = upgrade.from_period_start, upgrade.from_period_end
        service.anniversary_on = local_date(from_storage(service.period_start)).isoformat()
    service.paid_this_cycle = upgrade.from_paid_this_cycle
    service.paid_for_period = service.period_start
    service.updated_at = to_storage(now)
    if renewal is not None:
        reprice_renewal(renewal, service, upgrade.from_product_name, upgrade.from_recurring_amount,
                        upgrade.from_billing_cycle)
    if service.provisioning_module and service.provisioning_account:
        events.append(new_event(EventType.SERVICE_PROVISIONING_REQUESTED, client_id=service.client_id,
                                occurred_at=now, payload={"service_id": service.service_id, "action": "change_package",
                                                          "module": service.provisioning_module,
                                                          "plan": upgrade.from_product_id}))
    return events


def complete(upgrade: Upgrade, service: Service, now: datetime) -> list[EventRecord]:
    upgrade.status = "completed"
    upgrade.completed_at = upgrade.updated_at = to_storage(now)
    if service.pending_upgrade_id == upgrade.upgrade_id:
        service.pending_upgrade_id = None
        service.updated_at = to_storage(now)
    return [new_event(EventType.UPGRADE_COMPLETED, client_id=service.client_id, occurred_at=now, payload={
        "upgrade_id": upgrade.upgrade_id, "service_id": service.service_id, "change": upgrade.change,
        "from_product": upgrade.from_product_name, "to_product": upgrade.to_product_name,
        "billing_cycle": upgrade.to_billing_cycle, "recurring_amount": upgrade.to_recurring_amount,
        "currency": upgrade.currency, "next_due_at": service.period_end,
    })]


def close(upgrade: Upgrade, service: Service, invoice: Invoice | None, status: str, by: str, now: datetime,
          renewal: Invoice | None = None, client: Client | None = None) -> list[EventRecord]:
    """An open change ends without taking effect: cancelled, or expired unpaid. Its unpaid invoice is
    cancelled with it (anything already paid on it goes to the client's credit: pass the ``client``), the
    service is free for another change, and a renewal repriced for it goes back to the current plan."""
    events = []
    if upgrade.status == "scheduled" and renewal is not None:
        reprice_renewal(renewal, service, service.product_name, service.recurring_amount,
                        service.billing_cycle)
    upgrade.status = status
    upgrade.updated_at = to_storage(now)
    upgrade.due_pk = upgrade.due_sk = None
    if service.pending_upgrade_id == upgrade.upgrade_id:
        service.pending_upgrade_id = None
        service.updated_at = to_storage(now)
    if invoice is not None and invoice.status == "unpaid":
        invoice.status = "cancelled"
        invoice.due_pk = invoice.due_sk = None  # no more overdue reminders
        if invoice.amount_paid:
            if client is None:
                raise ValueError("a partly paid invoice is cancelled only with its client, to credit it")
            client.adjust_credit(invoice.currency, invoice.amount_paid)
            events.append(new_event(EventType.CLIENT_CREDITED, client_id=client.client_id, occurred_at=now, payload={
                "client_id": client.client_id, "amount": invoice.amount_paid, "currency": invoice.currency,
                "reason": "upgrade_cancelled", "upgrade_id": upgrade.upgrade_id,
            }))
    event_type = EventType.UPGRADE_EXPIRED if status == "expired" else EventType.UPGRADE_CANCELLED
    events.insert(0, new_event(event_type, client_id=service.client_id, occurred_at=now, payload={
        "upgrade_id": upgrade.upgrade_id, "service_id": service.service_id, "invoice_id": upgrade.invoice_id,
        "to_product": upgrade.to_product_name, "by": by,
    }))
    return events


def renewal_has_payment(renewal: Invoice | None) -> bool:
    return renewal is not None and (renewal.status == "paid" or renewal.amount_paid > 0)


def reprice_renewal(renewal: Invoice, service: Service, product_name: str, amount: int, billing_cycle: str) -> None:
    """An unpaid invoice for the service's next cycle follows the plan and cycle that cycle will be on
    (docs/billing.md)."""
    if renewal.status != "unpaid" or renewal.amount_paid:
        return  # partly paid: staff settle the difference by hand rather than move money silently
    for line in renewal.lines:
        if line.service_id == service.service_id:
            line.amount = int(amount)
            line.description = f"{product_name} - renovación"
            if line.period_start:
                start = local_date(from_storage(line.period_start))
                line.period_end = to_storage(local_midnight(add_months(start, CYCLE_MONTHS[billing_cycle])))
    renewal.total = sum(line.amount for line in renewal.lines)


def _renewal_follows(renewal: Invoice, service: Service, upgrade: Upgrade) -> None:
    if upgrade.period_restarts:
        # The new, longer cycle covers the old cycle's renewal (orders with a paid renewal never restart).
        if renewal.status == "unpaid" and not renewal.amount_paid:
            renewal.status = "cancelled"
            renewal.due_pk = renewal.due_sk = None
            service.renewal_invoice_id = None
        return
    reprice_renewal(renewal, service, upgrade.to_product_name, upgrade.to_recurring_amount,
                    upgrade.to_billing_cycle)
