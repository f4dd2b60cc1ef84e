"""How a paid service becomes active (help centre, "Demoras en activarse los servicios"):

- instant products: ACTIVE at most 2 minutes after the payment is credited — a provisioning command is
  queued (through the outbox) to the product's provisioning module;
- manual products: a delay in business days that starts when their requirements are met (staff mark
  them); Argentine national holidays and weekends do not count;
- custom products (self-managed web design, shops, e-commerce): 10 to 15 days once all the information
  is in (staff mark it).

Pure rules on a Service: they change it and return the events to write with it.
"""

from datetime import datetime, timedelta

from shared.calendar import add_business_days, add_months, local_date, local_midnight
from shared.clock import to_storage
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.events import EventType, new_event

CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "semiannually": 6, "annually": 12, "biennially": 24}
MAX_PROVISIONING_ATTEMPTS = 5
CUSTOM_DEFAULT_REQUIREMENT = "Toda la información del proyecto (textos, imágenes, accesos)"


def start_activation(service: Service, now: datetime) -> list[EventRecord]:
    """The invoice of a service awaiting payment was paid."""
    if service.activation_state != "awaiting_payment":
        return []
    service.updated_at = to_storage(now)
    if service.activation_mode == "instant" and not service.provisioning_module:
        return activated(service, now)  # nothing to create on a server (e.g. a support plan)
    if service.activation_mode == "instant":
        service.activation_state = "queued"
        return [new_event(EventType.SERVICE_PROVISIONING_REQUESTED, client_id=service.client_id, occurred_at=now,
                          payload={"service_id": service.service_id, "action": "create",
                                   "module": service.provisioning_module})]
    if service.activation_mode == "custom" and not service.requirements:
        service.requirements = [CUSTOM_DEFAULT_REQUIREMENT]
    if service.requirements:
        service.activation_state = "awaiting_requirements"
        return [_scheduled(service, now)]
    return requirements_met(service, now)


def requirements_met(service: Service, now: datetime) -> list[EventRecord]:
    """Staff confirm what a manual/custom product needed is in: the delay starts now."""
    if service.activation_mode == "manual":
        service.eta_from = add_business_days(now, service.activation_days_min).isoformat()
        service.eta_to = add_business_days(now, service.activation_days_max).isoformat()
    else:  # custom: calendar days ("de 10 a 15 días")
        today = local_date(now)
        service.eta_from = (today + timedelta(days=service.activation_days_min)).isoformat()
        service.eta_to = (today + timedelta(days=service.activation_days_max)).isoformat()
    service.activation_state = "in_progress"
    service.updated_at = to_storage(now)
    return [_scheduled(service, now)]


def activated(service: Service, now: datetime) -> list[EventRecord]:
    start = local_midnight(local_date(now))
    service.status = "active"
    service.activation_state = "active"
    service.activation_error = None
    service.period_start = to_storage(start)
    service.period_end = to_storage(local_midnight(add_months(start.date(), CYCLE_MONTHS[service.billing_cycle])))
    service.updated_at = to_storage(now)
    # Imported here: shared.lifecycle builds on this module's commands.
    from shared import lifecycle

    lifecycle.started(service)
    lifecycle.schedule(service, lifecycle.LifecyclePolicy.from_env())  # on the renewal sweep from today
    return [new_event(EventType.SERVICE_ACTIVATED, client_id=service.client_id, occurred_at=now, payload={
        "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
        "where": "Paneldecliente → Mis servicios → el servicio: allí están el MANUAL y sus claves",
    })]


def provisioning_failed(service: Service, error: str, now: datetime) -> list[EventRecord]:
    """One failed attempt; after the last one the service shows activation_failed (never a silent active)."""
    service.activation_attempts = service.activation_attempts + 1
    service.activation_error = error[:500]
    if service.activation_state == "provisioning":
        service.activation_state = "queued"
    service.updated_at = to_storage(now)
    if service.activation_attempts < MAX_PROVISIONING_ATTEMPTS:
        return []
    service.status = "activation_failed"
    service.activation_state = "failed"
    return [new_event(EventType.SERVICE_ACTIVATION_FAILED, client_id=service.client_id, occurred_at=now, payload={
        "service_id": service.service_id, "module": service.provisioning_module, "error": service.activation_error,
        "attempts": service.activation_attempts,
    })]


REFUNDED = "payment_refunded"  # Service.suspension_reason of a service whose money was taken back


def withdraw(service: Service, now: datetime, invoice_id: str | None = None) -> list[EventRecord] | None:
    """The money for a service (its invoice ``invoice_id``) was taken back: suspend it (on its server too)
    until that invoice is paid again, or cancel an activation under way. Returns the events to write with
    it, or None when the service does not change."""
    events: list[EventRecord] = []
    if service.status == "active":
        service.status = "suspended"
        service.suspension_reason = REFUNDED
        service.suspension_invoice_id = invoice_id
        events.extend(server_command(service, now, "suspend", reason="Pago devuelto"))
        events.append(new_event(EventType.SERVICE_SUSPENDED, client_id=service.client_id, occurred_at=now, payload={
            "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
            "reason": REFUNDED, "invoice_id": invoice_id}))
    elif service.activation_state in ("queued", "provisioning", "awaiting_requirements", "in_progress", "failed"):
        # A failed one too: a staff retry must not provision a service whose money went back.
        service.status = "pending"
        service.activation_state = "cancelled"
    else:
        return None
    service.updated_at = to_storage(now)
    return events


def paid_again(service: Service, now: datetime, invoice_id: str | None = None) -> list[EventRecord] | None:
    """The invoice of a service whose money was taken back is paid again: a service suspended for that
    refund is unsuspended (on its server too), a cancelled activation starts over (an account created
    meanwhile is unsuspended rather than created twice). None when the refund did not touch it."""
    if (service.status == "suspended" and service.suspension_reason == REFUNDED
            and service.suspension_invoice_id in (None, invoice_id)):
        service.status = "active"
        service.suspension_reason = service.suspension_invoice_id = None
        service.updated_at = to_storage(now)
        return [*server_command(service, now, "unsuspend"), new_event(
            EventType.SERVICE_RESTORED, client_id=service.client_id, occurred_at=now,
            payload={"service_id": service.service_id, "product_name": service.product_name, "reason": REFUNDED})]
    if service.activation_state != "cancelled" or service.status != "pending":
        return None
    if service.provisioning_account:
        return [*server_command(service, now, "unsuspend"), *activated(service, now)]
    service.activation_state = "awaiting_payment"
    service.activation_attempts = 0
    return start_activation(service, now)


def server_command(service: Service, now: datetime, action: str, **details) -> list[EventRecord]:
    """A command for the service's account on its server (none without one)."""
    if not (service.provisioning_module and service.provisioning_account):
        return []
    return [new_event(EventType.SERVICE_PROVISIONING_REQUESTED, client_id=service.client_id, occurred_at=now,
                      payload={"service_id": service.service_id, "action": action,
                               "module": service.provisioning_module, **details})]


def retry(service: Service, now: datetime) -> list[EventRecord]:
    """Staff retry a failed automatic activation."""
    service.status = "pending"
    service.activation_state = "awaiting_payment"  # so that start_activation queues it again
    service.activation_attempts = 0
    return start_activation(service, now)


def _scheduled(service: Service, now: datetime) -> EventRecord:
    return new_event(EventType.SERVICE_ACTIVATION_SCHEDULED, client_id=service.client_id, occurred_at=now, payload={
        "service_id": service.service_id, "state": service.activation_state, "requirements": service.requirements,
        "eta_from": service.eta_from, "eta_to": service.eta_to,
    })
