"""A service's life after activation (docs/billing.md, "Renewals" and "Cancellation"):

- its renewal invoice is issued ``renewal_days_before`` days before the period ends, once per period;
- paid, the next period starts when the current one ends, on the anniversary day (31 Jan monthly →
  28/29 Feb → 31 Mar), however late it was paid; a change scheduled for the renewal applies then;
- unpaid ``suspend_after_days`` after the period end it is suspended, ``terminate_after_days`` after it is
  terminated (a domain is never suspended: it expires when its paid year ends);
- a cancellation ends it (the help centre: nothing is refunded, the account is deleted from the server,
  its last backup is kept 10 years) and it is never active again.

Each service carries exactly one entry on the sparse by_due index: the instant of its next step
(``next_step``), so the daily sweep reads only what is due. Pure rules on the items: they change them and
return the events to write with them in one transaction.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared import config, upgrades
from shared.activation import CYCLE_MONTHS, server_command
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import from_storage, to_storage
from shared.dal.billing import Invoice, InvoiceLine
from shared.dal.lifecycle import CANCELLATION_DUE, Cancellation, mark_service_due
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import clear_due, mark_due
from shared.dal.upgrades import Upgrade
from shared.events import EventType, new_event
from shared.invoices import CYCLE_LABEL_ES, credit, issue_invoice
from shared.money import Currency, Money

BACKUP_RETENTION_YEARS = 10
OVERDUE = "overdue"  # Service.suspension_reason of an unpaid renewal
STAFF = "staff"
LATE_CANCELLATION_POLICIES = ("stands", "void")
CANCELLATION_TYPES = ("immediate", "end_of_period")
# What an ended service loses on its server (help centre: "eliminar todos los archivos del servidor").
DELETED_ES = ["sitio web", "cuentas y mensajes de email", "cuentas FTP", "bases de datos", "archivos del servidor"]


@dataclass(frozen=True)
class LifecyclePolicy:
    renewal_days_before: int = 14
    suspend_after_days: int = 5
    terminate_after_days: int = 30
    late_cancellation_renewal: str = "stands"  # a renewal issued before a cancellation: stands | void

    @classmethod
    def from_env(cls) -> "LifecyclePolicy":
        policy = config.env(config.LATE_CANCELLATION_RENEWAL, "stands")
        suspend_after = int(config.env(config.SUSPEND_AFTER_DAYS, "5"))
        return cls(
            renewal_days_before=int(config.env(config.RENEWAL_INVOICE_DAYS_BEFORE, "14")),
            suspend_after_days=suspend_after,
            # Terminated only after it was suspended: a setting at or below the suspension's is read as a day later.
            terminate_after_days=max(int(config.env(config.TERMINATE_AFTER_DAYS, "30")), suspend_after + 1),
            late_cancellation_renewal=policy if policy in LATE_CANCELLATION_POLICIES else "stands",
        )


# --- calendar -----------------------------------------------------------------------------------------


def local_day(stored: str) -> date:
    return local_date(from_storage(stored))


def at_day(day: date) -> str:
    """A local calendar day as the stored instant it starts."""
    return to_storage(local_midnight(day))


def period_end_after(anniversary: date, end: date, months: int) -> date:
    """The end of the period that follows one ending on ``end``: ``months`` more from the anniversary,
    counted from it (not from ``end``), so a month's short end never shortens the following ones."""
    elapsed = (end.year - anniversary.year) * 12 + end.month - anniversary.month
    return add_months(anniversary, elapsed + months)


def anniversary_of(service: Service) -> date:
    return date.fromisoformat(service.anniversary_on) if service.anniversary_on else local_day(service.period_start)


def next_period(service: Service) -> tuple[str, str]:
    """(start, end) of the period after the current one, on the service's current cycle."""
    end = local_day(service.period_end)
    return service.period_end, at_day(period_end_after(anniversary_of(service), end,
                                                        CYCLE_MONTHS[service.billing_cycle]))


# --- the next step --------------------------------------------------------------------------------------


def next_step(service: Service, policy: LifecyclePolicy) -> tuple[str, str] | None:
    """(step, stored instant) of what happens next to the service on its own, or None (pending, ended, or
    waiting for a cancellation, whose own sweep ends it)."""
    if service.status not in ("active", "suspended") or not service.period_end:
        return None
    end = local_day(service.period_end)
    if service.next_cycle_paid is not None:
        return "advance", service.period_end
    if service.cancellation_type:
        return None  # nothing renews, nothing is suspended: the cancellation ends it
    if service.renewal_invoice_id is None:
        if service.auto_renew:
            return "issue_renewal", at_day(end - timedelta(days=policy.renewal_days_before))
        return "expire", service.period_end  # a domain whose renewal was turned off: nothing is due
    if service.product_kind == "domain":
        return "expire", at_day(end + timedelta(days=1))  # its renewal may be paid through its due day
    if service.status == "active":
        return "suspend", at_day(end + timedelta(days=policy.suspend_after_days))
    return "terminate", at_day(end + timedelta(days=policy.terminate_after_days))


def schedule(service: Service, policy: LifecyclePolicy) -> None:
    """Put the service on the sweep's index at its next step (or take it off)."""
    step = next_step(service, policy)
    mark_service_due(service, step[1] if step else None)


def started(service: Service) -> None:
    """A service just became active (shared.activation.activated): its anniversary is its first day."""
    service.anniversary_on = local_day(service.period_start).isoformat()


# --- renewals ---------------------------------------------------------------------------------------------


def renewal_invoice(service: Service, invoice_id: str, now: datetime, *, product_name: str | None = None,
                    amount: int | None = None, billing_cycle: str | None = None
                    ) -> tuple[Invoice, list[EventRecord]]:
    """The invoice of the service's next period, due the day the current one ends (as WHMCS). A change
    scheduled for the renewal prices it (``product_name``/``amount``/``billing_cycle`` of the new plan)."""
    cycle = billing_cycle or service.billing_cycle
    amount = service.recurring_amount if amount is None else amount
    start = service.period_end
    end = at_day(period_end_after(anniversary_of(service), local_day(start), CYCLE_MONTHS[cycle]))
    line = InvoiceLine(
        service_id=service.service_id,
        description=f"{product_name or service.product_name} ({CYCLE_LABEL_ES[cycle]}) - renovación"
                    + (f" - {service.domain}" if service.domain else ""),
        period_start=start, period_end=end, amount=amount,
    )
    invoice, events = issue_invoice(invoice_id, service.client_id, [line], Money(amount, Currency(service.currency)),
                                    now, due_at=from_storage(start), purpose="renewal")
    service.renewal_invoice_id = invoice_id
    service.updated_at = to_storage(now)
    # Said once, as a renewal (its alert names the service): not also as any new invoice.
    events = [e for e in events if e.type != EventType.INVOICE_CREATED]
    events.append(new_event(EventType.INVOICE_RENEWAL_CREATED, client_id=service.client_id, occurred_at=now, payload={
        "invoice_id": invoice_id, "service_id": service.service_id, "product_name": service.product_name,
        "domain": service.domain, "total": amount, "currency": service.currency, "due_at": invoice.due_at,
        "period_start": start, "period_end": end,
    }))
    return invoice, events


def renewal_paid(service: Service, invoice: Invoice, now: datetime, policy: LifecyclePolicy,
                 upgrade: Upgrade | None = None) -> list[EventRecord] | None:
    """The renewal invoice is paid: the next period is paid for. A suspension this invoice caused is lifted
    at once; the period itself starts when the current one ends (now, if it already has: paid late, with
    the service's pending change ``upgrade``). None when the service does not change: it ended meanwhile
    (a standing invoice of a cancelled service: the help centre's periods "deben ser abonadas"), or the
    invoice is not its current renewal."""
    if service.status not in ("active", "suspended"):
        return None
    line_start = next((line.period_start for line in invoice.lines if line.service_id == service.service_id), None)
    if line_start == service.period_start and service.suspension_invoice_id == invoice.invoice_id:
        # It pays the period under way (refunded after it started, now paid again): that period is covered
        # again and its suspension lifted; the next one still needs its own renewal.
        events = unsuspend(service, now, invoice.invoice_id)
        schedule(service, policy)
        return events
    if service.renewal_invoice_id != invoice.invoice_id:
        return None
    service.updated_at = to_storage(now)
    service.next_cycle_paid = _line_amount(invoice, service)
    events = unsuspend(service, now, invoice.invoice_id)
    if from_storage(service.period_end) <= now:
        events.extend(start_next_period(service, now, upgrade, invoice))
    schedule(service, policy)
    return events


def start_next_period(service: Service, now: datetime, upgrade: Upgrade | None = None,
                      renewal: Invoice | None = None) -> list[EventRecord]:
    """The paid next period starts: a change scheduled for the renewal takes effect first (its cycle counts
    for the new period; a suspended service keeps its plan and the change is cancelled), then the period
    advances. ``upgrade``: the service's pending change, if any (held by the caller's unit of work)."""
    events: list[EventRecord] = []
    applied = None
    if upgrade is not None and upgrade.status == "scheduled":
        if service.status == "active":
            events.extend(upgrades.apply(upgrade, service, now, renewal))
            applied = upgrade
        else:
            events.extend(upgrades.close(upgrade, service, None, "cancelled", "renewal", now, renewal))
    events.extend(advance(service, now))
    if applied is not None:
        applied.applied_period_start = service.period_start  # the change belongs to the period it started
    return events


def advance(service: Service, now: datetime) -> list[EventRecord]:
    """The paid next period starts where the current one ends (a renewal paid late does not move the
    anniversary). The caller applies a change scheduled for the renewal first (its cycle counts)."""
    service.period_start, service.period_end = next_period(service)
    service.paid_this_cycle = service.next_cycle_paid
    service.paid_for_period = service.period_start
    service.next_cycle_paid = None
    service.renewal_invoice_id = None
    service.updated_at = to_storage(now)
    return [new_event(EventType.SERVICE_RENEWED, client_id=service.client_id, occurred_at=now, payload={
        "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
        "period_start": service.period_start, "period_end": service.period_end,
    })]


def renewal_unsettled(service: Service, invoice: Invoice, now: datetime, policy: LifecyclePolicy
                      ) -> list[EventRecord] | None:
    """The renewal's money was taken back: before its period starts, the next period is simply unpaid
    again; once it has started, the service is suspended until the invoice is paid again. None when the
    service does not change."""
    if service.status not in ("active", "suspended"):
        return None
    line_start = next((line.period_start for line in invoice.lines if line.service_id == service.service_id), None)
    events: list[EventRecord] = []
    if service.renewal_invoice_id == invoice.invoice_id and service.next_cycle_paid is not None:
        service.next_cycle_paid = None
    elif line_start == service.period_start and service.status == "active":
        # Paying it again lifts the suspension (suspension_invoice_id); the next period's renewal, if
        # issued, is left as it is.
        events = suspend(service, now, "payment_refunded", invoice.invoice_id, "Pago de la renovación devuelto")
    else:
        return None
    service.updated_at = to_storage(now)
    schedule(service, policy)
    return events


def suspend(service: Service, now: datetime, reason: str, invoice_id: str | None, server_reason: str
            ) -> list[EventRecord]:
    service.status = "suspended"
    service.suspension_reason = reason
    service.suspension_invoice_id = invoice_id
    service.updated_at = to_storage(now)
    return [*server_command(service, now, "suspend", reason=server_reason),
            new_event(EventType.SERVICE_SUSPENDED, client_id=service.client_id, occurred_at=now, payload={
                "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
                "reason": reason, "invoice_id": invoice_id,
            })]


def unsuspend(service: Service, now: datetime, paid_invoice_id: str | None) -> list[EventRecord]:
    """Lift a suspension — only the one the paid invoice caused (``paid_invoice_id``; None: staff lift any)."""
    if service.status != "suspended":
        return []
    if paid_invoice_id is not None and service.suspension_invoice_id != paid_invoice_id:
        return []
    reason = service.suspension_reason
    service.status = "active"
    service.suspension_reason = service.suspension_invoice_id = None
    service.updated_at = to_storage(now)
    return [*server_command(service, now, "unsuspend"),
            new_event(EventType.SERVICE_UNSUSPENDED, client_id=service.client_id, occurred_at=now, payload={
                "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
                "reason": reason,
            })]


# --- the end -----------------------------------------------------------------------------------------------


END_STATUS = {"cancellation": "cancelled", "overdue": "terminated", "staff": "terminated", "expired": "expired"}
END_EVENT = {"cancellation": EventType.SERVICE_CANCELLED, "overdue": EventType.SERVICE_TERMINATED,
             "staff": EventType.SERVICE_TERMINATED, "expired": EventType.SERVICE_EXPIRED}


def end(service: Service, now: datetime, cause: str, reason: str | None = None) -> list[EventRecord]:
    """The service ends for good: off every sweep, its credentials gone, and (but for a domain, which only
    lapses) its server account removed through the provisioning queue, which first records the last
    backup for 10 years. Nothing about it is ever reactivated: ordering again makes a new service."""
    service.status = END_STATUS[cause]
    service.end_cause = cause
    service.end_reason = reason
    service.ended_at = to_storage(now)
    service.auto_renew = False
    service.cancellation_type = service.cancellation_effective_at = None
    service.next_cycle_paid = None
    service.suspension_reason = service.suspension_invoice_id = None
    service.credentials_ciphertext = None
    service.pending_credentials_ciphertext = service.credentials_rotation = None  # nothing left to rotate
    service.activation_state = "active" if service.activation_state == "active" else "cancelled"
    service.updated_at = to_storage(now)
    clear_due(service)
    events: list[EventRecord] = []
    if cause != "expired" and service.provisioning_account:
        events.extend(server_command(service, now, "terminate"))
    events.append(new_event(END_EVENT[cause], client_id=service.client_id, occurred_at=now, payload={
        "service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
        "cause": cause, "reason": reason, "ended_at": service.ended_at,
    }))
    return events


def void_renewal(invoice: Invoice | None, service: Service) -> bool:
    """Cancel an unpaid invoice of the service's (its renewal, or the order of one never activated) with
    nothing paid on it; True when it was."""
    if invoice is None or invoice.status != "unpaid" or invoice.amount_paid:
        return False
    invoice.status = "cancelled"
    clear_due(invoice)
    if service.renewal_invoice_id == invoice.invoice_id:
        service.renewal_invoice_id = None
    return True


def close_renewal(uow, renewal: Invoice, service: Service, now: datetime, get_client) -> None:
    """The unpaid renewal of a service that ends is cancelled in ``uow``; what was already paid on it goes
    to the client's credit (``get_client(client_id)`` reads the client only then)."""
    paid = renewal.amount_paid
    renewal.amount_paid = 0  # so that it can be voided: the money moves to the credit just below
    void_renewal(renewal, service)
    uow.save(renewal)
    if paid:
        credit(uow, get_client(service.client_id), renewal.currency, paid, now, "renewal_of_ended_service",
               invoice_id=renewal.invoice_id, service_id=service.service_id)


def retained_until(last_backup_on: date | None, ended_on: date) -> date:
    """Ten years from the last backup (help centre), or from the end when the server listed none."""
    start = last_backup_on or ended_on
    return add_months(start, 12 * BACKUP_RETENTION_YEARS)


# --- cancellation ---------------------------------------------------------------------------------------------


def last_paid_end(service: Service) -> str:
    """The end of the last period paid for: the current one's, or the next one's once its renewal is paid."""
    return next_period(service)[1] if service.next_cycle_paid is not None else service.period_end


def cancellation_effective_at(service: Service, kind: str, now: datetime) -> str:
    """When a cancellation filed now takes effect: immediate → now (today); at the end of the period →
    the end of the period in the last paid invoice."""
    return to_storage(now) if kind == "immediate" else last_paid_end(service)


def new_cancellation(service: Service, kind: str, reason: str, now: datetime, subject: str,
                     renewal: Invoice | None, policy: LifecyclePolicy) -> tuple[Cancellation, list[EventRecord]]:
    """The holder's request: the service stays active until it takes effect, never renews, and is not
    suspended meanwhile. A renewal issued before it stands (it must be paid) or is voided (the policy)."""
    effective_at = cancellation_effective_at(service, kind, now)
    standing = None
    # Under void, one already partly paid stands all the same: its money is never moved silently.
    if renewal is not None and renewal.status == "unpaid" and not (
            policy.late_cancellation_renewal == "void" and void_renewal(renewal, service)):
        standing = renewal.invoice_id
    cancellation = Cancellation(
        *Cancellation.key(service.service_id), service_id=service.service_id, client_id=service.client_id,
        type=kind, reason=reason, status="pending", effective_at=effective_at,
        renewal_policy=policy.late_cancellation_renewal, standing_invoice_id=standing,
        requested_at=to_storage(now), requested_by=subject,
    )
    mark_due(cancellation, CANCELLATION_DUE, service.service_id, effective_at)
    service.cancellation_type = kind
    service.cancellation_effective_at = effective_at
    service.auto_renew = False
    service.updated_at = to_storage(now)
    schedule(service, policy)
    payload = {"service_id": service.service_id, "product_name": service.product_name, "domain": service.domain,
               "type": kind, "effective_at": effective_at, "standing_invoice_id": standing}
    events = [new_event(EventType.SERVICE_CANCELLATION_REQUESTED, client_id=service.client_id, occurred_at=now,
                        payload=payload)]
    if kind == "immediate":  # executed at once by the cancellations worker (the sweep is the safety net)
        events.append(new_event(EventType.SERVICE_CANCELLATION_DUE, client_id=service.client_id, occurred_at=now,
                                payload={"service_id": service.service_id}))
    return cancellation, events


def withdraw_cancellation(cancellation: Cancellation, service: Service, now: datetime,
                          policy: LifecyclePolicy) -> list[EventRecord]:
    cancellation.status = "withdrawn"
    cancellation.withdrawn_at = to_storage(now)
    clear_due(cancellation)
    service.cancellation_type = service.cancellation_effective_at = None
    service.auto_renew = True
    service.updated_at = to_storage(now)
    schedule(service, policy)
    return [new_event(EventType.SERVICE_CANCELLATION_WITHDRAWN, client_id=service.client_id, occurred_at=now,
                      payload={"service_id": service.service_id, "product_name": service.product_name,
                               "domain": service.domain})]


def follow_paid_period(cancellation: Cancellation, service: Service) -> None:
    """An end-of-period cancellation ends the service when the last paid period ends: under ``stands``, a
    renewal issued before it and then paid moves the end to the period it pays; its money taken back,
    the end moves back to the current period's."""
    if cancellation.status != "pending" or cancellation.type != "end_of_period":
        return
    cancellation.effective_at = last_paid_end(service)
    mark_due(cancellation, CANCELLATION_DUE, service.service_id, cancellation.effective_at)
    service.cancellation_effective_at = cancellation.effective_at


def execute_cancellation(cancellation: Cancellation, service: Service, now: datetime) -> list[EventRecord]:
    """A due cancellation ends the service (exactly once: the caller writes both version-checked)."""
    cancellation.status = "executed"
    cancellation.executed_at = to_storage(now)
    clear_due(cancellation)
    return end(service, now, "cancellation", cancellation.reason)


def _line_amount(invoice: Invoice, service: Service) -> int:
    return sum(line.amount for line in invoice.lines if line.service_id == service.service_id)
