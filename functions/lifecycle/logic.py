"""Cancelling a service (holder only, confirmed with the account password), withdrawing it, a domain's
auto-renewal, staff's administrative termination and restore requests for a kept backup."""

from dataclasses import dataclass
from datetime import date, datetime

from lifecycle.schemas import (
    CancellationOut,
    CancellationPreview,
    CancellationRequest,
    RestoreRequestIn,
    RestoreRequestOut,
    ServiceChange,
    StaffTermination,
)

from shared import lifecycle, upgrades
from shared.auth import Identity, Permission, Role, authorize, require_account, require_staff
from shared.calendar import local_date
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, Contact, ContactRights, PasswordAttempts
from shared.dal.billing import Billing
from shared.dal.lifecycle import Cancellation, Lifecycle, RestoreRequest
from shared.dal.services import ENDED_STATUSES, Service, Services
from shared.dal.table import not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.dal.upgrades import Upgrades
from shared.errors import Conflict, Forbidden
from shared.events import EventType, new_event
from shared.ids import id_at, is_valid_id
from shared.invoices import settle_at_issue
from shared.password_check import PasswordCheck, confirm_password
from shared.schemas import invoice_out, service_summary


@dataclass
class LifecycleStores:
    services: Services
    accounts: Accounts
    billing: Billing
    lifecycles: Lifecycle
    plan_changes: Upgrades


class DomainCannotBeCancelled(Conflict):
    code = "domain_cannot_be_cancelled"
    message = ("Los dominios no pueden darse de baja: se pagan por año adelantado. Puede pedir que no se renueve: "
               "desactive la renovación automática (PATCH /services/{id} con {\"auto_renew\": false}) y el dominio "
               "vencerá al terminar el año pagado.")


def _ended(service: Service) -> Conflict:
    return Conflict("El servicio ya fue dado de baja: no puede volver a activarse. Para tenerlo otra vez, "
                    "contrate un servicio nuevo.", code="service_ended")


def _holder_only(identity: Identity, service: Service) -> None:
    """Only the holder cancels (help centre: "con su email de cliente y la clave de seguridad")."""
    if identity.is_staff:
        raise Forbidden("El personal no puede pedir ni retirar la baja por el cliente: solo el titular, con su "
                        "email y su clave. Para una baja administrativa use POST /staff/services/{id}/termination.",
                        code="staff_has_no_account")
    if identity.client_id != service.client_id:
        raise not_found()
    if identity.role is not Role.HOLDER:
        raise Forbidden("Solo el titular de la cuenta puede pedir o retirar la baja de un servicio.",
                        code="holder_only")


def _cancellable(service: Service, pending: Cancellation | None) -> None:
    if service.product_kind == "domain":
        raise DomainCannotBeCancelled()
    if service.status in ENDED_STATUSES:
        raise _ended(service)
    if pending is not None and pending.status == "pending":
        raise Conflict("Ya hay una baja pendiente para este servicio. Puede retirarla antes de que se haga "
                       "efectiva.", code="cancellation_pending")
    if service.status not in ("active", "suspended") or not service.period_end:
        raise Conflict("El servicio todavía no está activo: su factura impaga se cancela si no se paga.",
                       code="service_not_active")


# --- preview ----------------------------------------------------------------------------------------------


def cancellation_preview(stores: LifecycleStores, clock: Clock, policy: lifecycle.LifecyclePolicy,
                         identity: Identity, service_id: str, kind: str) -> CancellationPreview:
    """Exactly what a cancellation filed now would do, before anything changes (nothing is written)."""
    service, pending, _ = stores.lifecycles.service_with_cancellation(service_id)
    if not identity.is_staff:  # staff may read what would happen; of the account, only the holder
        _holder_only(identity, service)
    _cancellable(service, pending)
    now = clock.now()
    effective_at = lifecycle.cancellation_effective_at(service, kind, now)
    unpaid = [i for i in stores.billing.list_invoices(service.client_id)
              if i.status == "unpaid" and service.service_id in i.service_ids() and not i.upgrade_id]
    renewal = next((i for i in unpaid if i.invoice_id == service.renewal_invoice_id), None)  # unpaid, if issued
    voided = [i for i in unpaid if policy.late_cancellation_renewal == "void"
              and i.invoice_id == service.renewal_invoice_id and not i.amount_paid]
    to_pay = [i for i in unpaid if i not in voided]
    effective_on = local_date(from_storage(effective_at))
    has_account = bool(service.provisioning_account)
    kept_until = lifecycle.retained_until(None, effective_on) if has_account else None
    messages = [
        ("La baja se hace efectiva hoy, " if kind == "immediate" else "La baja se hace efectiva el ")
        + f"{effective_on.strftime('%d/%m/%Y')}"
        + (": el servicio sigue totalmente operativo hasta entonces y no se renueva." if kind != "immediate" else "."),
        "No se reintegra ningún importe abonado.",
    ]
    if to_pay:
        refs = ", ".join(i.invoice_id[-8:] for i in to_pay)
        messages.append(f"Las facturas de los períodos en curso deben abonarse igual: {refs}.")
    if renewal is not None:
        messages.append(
            "La factura de renovación ya emitida se anula con la baja." if renewal in voided
            else "La factura de renovación ya emitida se mantiene y debe abonarse; el servicio no se renueva: "
                 + ("termina hoy igual." if kind == "immediate" else
                    "termina al fin del período en curso, o del que esa factura paga si la abona."))
    if has_account:
        messages.append("Al hacerse efectiva se elimina del servidor todo lo del servicio: "
                        + ", ".join(lifecycle.DELETED_ES) + ".")
        messages.append(f"Conservamos el último backup hasta el {kept_until.strftime('%d/%m/%Y')} (10 años); "
                        "obtenerlo puede tener un costo adicional.")
    messages.append("Si más adelante quiere el servicio otra vez, deberá contratar uno nuevo.")
    return CancellationPreview(
        service_id=service.service_id, type=kind, effective_at=from_storage(effective_at), effective_on=effective_on,
        renewal_policy=policy.late_cancellation_renewal, invoices_to_pay=[invoice_out(i) for i in to_pay],
        invoices_voided=[invoice_out(i) for i in voided], refund="none",
        deleted=list(lifecycle.DELETED_ES) if has_account else [], backup_retained_until=kept_until,
        messages=messages,
    )


# --- request and withdrawal -------------------------------------------------------------------------------


def request_cancellation(stores: LifecycleStores, passwords: PasswordCheck, clock: Clock,
                         policy: lifecycle.LifecyclePolicy, identity: Identity, service_id: str,
                         body: CancellationRequest) -> CancellationOut:
    # The service, its cancellation, the holder's client and password attempts: one consistent BatchGetItem.
    holder = identity.client_id if isinstance(identity.client_id, str) and is_valid_id(identity.client_id) else None
    service, existing, found = stores.lifecycles.service_with_cancellation(
        service_id, Client.key(holder) if holder else None, PasswordAttempts.key(holder) if holder else None,
        consistent=True)
    _holder_only(identity, service)
    _cancellable(service, existing)
    client = found.get(Client.key(service.client_id))
    if not isinstance(client, Client):
        raise not_found()
    now = clock.now()
    attempts = confirm_password(stores.accounts, passwords, client, found.get(PasswordAttempts.key(client.client_id)),
                                 body.password, now)
    renewal = stores.billing.find_invoice(service.renewal_invoice_id)
    uow = UnitOfWork()
    uow.save(service)
    if renewal is not None:
        uow.save(renewal)
    if attempts is not None:
        uow.delete(attempts)  # the right password: the count starts over
    if service.pending_upgrade_id:  # a pending plan change is cancelled with the request
        _close_pending_change(stores, uow, service, client, now)
    cancellation, events = lifecycle.new_cancellation(service, body.type, body.reason, now, identity.subject,
                                                      renewal, policy)
    if existing is not None:  # a withdrawn one: the new request takes its place (version-checked)
        cancellation.version = existing.version
        uow.save(cancellation)
    else:
        uow.create(cancellation, error=Conflict("Ya hay una baja pendiente para este servicio.",
                                                code="cancellation_pending"))
    uow.emit(events)
    uow.commit()
    return cancellation_out(cancellation, service)


def _close_pending_change(stores: LifecycleStores, uow: UnitOfWork, service: Service, client: Client,
                          now: datetime) -> None:
    upgrade = stores.plan_changes.find_upgrade(service.pending_upgrade_id)
    if upgrade is None or upgrade.status not in upgrades.OPEN_STATUSES:
        return
    client = uow.hold(client)  # the one this change may already hold (a renewal's credit)
    invoice = stores.billing.find_invoice(upgrade.invoice_id) if upgrade.status == "awaiting_payment" else None
    repriced = (stores.billing.find_invoice(upgrade.repriced_renewal_id)
                if upgrade.repriced_renewal_id else None)
    repriced = uow.hold(repriced) if repriced is not None else None
    for item in (upgrade, invoice, repriced, client if invoice is not None and invoice.amount_paid else None):
        if item is not None:
            uow.save(item)
    uow.emit(upgrades.close(upgrade, service, invoice, "cancelled", "cancellation", now, repriced,
                            client=client if invoice is not None and invoice.amount_paid else None))


def withdraw_cancellation(stores: LifecycleStores, clock: Clock, policy: lifecycle.LifecyclePolicy,
                          identity: Identity, service_id: str) -> CancellationOut:
    service, cancellation, _ = stores.lifecycles.service_with_cancellation(service_id, consistent=True)
    _holder_only(identity, service)
    now = clock.now()
    if (cancellation is None or cancellation.status != "pending" or service.status in ENDED_STATUSES
            or from_storage(cancellation.effective_at) <= now):
        raise Conflict("No hay una baja pendiente que pueda retirarse: o no se pidió, o ya se hizo efectiva.",
                       code="no_pending_cancellation")
    events = lifecycle.withdraw_cancellation(cancellation, service, now, policy)
    uow = UnitOfWork()
    uow.save(cancellation)
    uow.save(service)
    uow.emit(events)
    uow.commit()  # version-checked: executed at this very moment → 409, and it stays executed
    return cancellation_out(cancellation, service)


def cancellation_of(stores: LifecycleStores, identity: Identity, service_id: str) -> CancellationOut:
    if not identity.is_staff:
        require_account(identity)
    contact_key = (Contact.key(identity.client_id, identity.contact_id)
                   if identity.client_id and identity.contact_id else None)
    service, cancellation, found = stores.lifecycles.service_with_cancellation(service_id, contact_key)
    contact = found.get(contact_key)
    authorize(identity, service.client_id, Permission.SERVICES,
              ContactRights(contact if isinstance(contact, Contact) else None), services=[service.service_id])
    if cancellation is None or cancellation.client_id != service.client_id:
        raise not_found()  # none, or the previous holder's (the service changed hands since): not this one's
    return cancellation_out(cancellation, service)


def cancellation_out(cancellation: Cancellation, service: Service) -> CancellationOut:
    def at(text):
        return from_storage(text) if text else None

    return CancellationOut(
        service_id=cancellation.service_id, type=cancellation.type, status=cancellation.status,
        reason=cancellation.reason, effective_at=from_storage(cancellation.effective_at),
        renewal_policy=cancellation.renewal_policy, standing_invoice_id=cancellation.standing_invoice_id,
        requested_at=from_storage(cancellation.requested_at), withdrawn_at=at(cancellation.withdrawn_at),
        executed_at=at(cancellation.executed_at), service=service_summary(service),
    )


# --- domains ------------------------------------------------------------------------------------------------


def change_service(stores: LifecycleStores, clock: Clock, policy: lifecycle.LifecyclePolicy, identity: Identity,
                   service_id: str, body: ServiceChange):
    """A domain's auto-renewal: off voids its unpaid renewal (a known WHMCS gap) and lets it expire at the
    end of the paid year; on again before that issues the renewal at once if it is due already."""
    if not identity.is_staff:
        require_account(identity)
    service, rights = stores.accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    authorize(identity, service.client_id, Permission.MANAGE_DOMAINS, rights, services=[service.service_id])
    if service.product_kind != "domain":
        raise Conflict("Solo los dominios cambian su renovación automática. Para que un servicio no se renueve, "
                       "pida la baja al fin del período (POST /services/{id}/cancellation).",
                       code="not_a_domain")
    if service.status in ENDED_STATUSES:
        raise _ended(service)
    if service.status not in ("active", "suspended"):
        raise Conflict("El dominio todavía no está activo.", code="service_not_active")
    if service.auto_renew == body.auto_renew:
        return service_summary(service)
    now = clock.now()
    uow = UnitOfWork()
    uow.save(service)
    service.auto_renew = body.auto_renew
    service.updated_at = to_storage(now)
    renewal = stores.billing.find_invoice(service.renewal_invoice_id)
    if not body.auto_renew:
        if renewal is not None and lifecycle.void_renewal(renewal, service):
            uow.save(renewal)
    elif service.renewal_invoice_id is None and service.next_cycle_paid is None:
        step = lifecycle.next_step(service, policy)
        if step is not None and step[0] == "issue_renewal" and step[1] <= to_storage(now):
            invoice, events = lifecycle.renewal_invoice(service, id_at(now), now)
            uow.create(invoice)
            uow.emit(events)
            settle_at_issue(uow, invoice, stores.accounts.get_client(service.client_id), now)
    lifecycle.schedule(service, policy)
    uow.commit()
    return service_summary(service)


# --- staff ------------------------------------------------------------------------------------------------------


def staff_terminate(stores: LifecycleStores, clock: Clock, identity: Identity, service_id: str,
                    body: StaffTermination):
    """An administrative termination (abuse, a legal order): at once, with its recorded reason and event."""
    require_staff(identity)
    service = stores.services.get_service(service_id, consistent=True)
    if service.status in ENDED_STATUSES:
        raise _ended(service)
    now = clock.now()
    uow = UnitOfWork()
    uow.save(service)
    renewal = stores.billing.find_invoice(service.renewal_invoice_id)
    if renewal is not None and renewal.status == "unpaid":
        lifecycle.close_renewal(uow, renewal, service, now, stores.accounts.get_client)
    if service.status == "pending":  # never activated: its unpaid order invoice goes with it (no reminders)
        for invoice in stores.billing.list_invoices(service.client_id):
            if (invoice.status == "unpaid" and not invoice.amount_paid and not invoice.upgrade_id
                    and invoice.service_ids() == [service.service_id] and lifecycle.void_renewal(invoice, service)):
                uow.save(invoice)
    if service.pending_upgrade_id:
        _close_pending_change(stores, uow, service, stores.accounts.get_client(service.client_id), now)
    uow.emit(lifecycle.end(service, now, lifecycle.STAFF, body.reason))
    uow.commit()
    return service_summary(service)


def request_restore(stores: LifecycleStores, clock: Clock, identity: Identity, service_id: str,
                    body: RestoreRequestIn) -> RestoreRequestOut:
    """The client asks for the backup kept after the end; staff quote it (help centre: it may cost extra)."""
    require_account(identity)
    service, rights = stores.accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    authorize(identity, service.client_id, Permission.MANAGE_SERVICES, rights, services=[service.service_id])
    now = clock.now()
    if (service.status not in ENDED_STATUSES or not service.backup_retained_until
            or service.backup_retained_until < local_date(now).isoformat()):
        raise Conflict("No hay un backup conservado de este servicio para restaurar.", code="no_backup_kept")
    request_id = id_at(now)
    request = RestoreRequest(*RestoreRequest.key(request_id), request_id=request_id, service_id=service.service_id,
                             client_id=service.client_id, note=body.note, status="open", created_at=to_storage(now),
                             gsi1pk="RESTORE_REQUESTS#open", gsi1sk=f"{to_storage(now)}#{request_id}")
    uow = UnitOfWork()
    uow.create(request)
    uow.emit([new_event(EventType.BACKUP_RESTORE_REQUESTED, client_id=service.client_id, occurred_at=now, payload={
        "request_id": request_id, "service_id": service.service_id, "domain": service.domain,
        "last_backup_on": service.last_backup_on, "note": body.note,
    })])
    uow.commit()
    return RestoreRequestOut(
        request_id=request_id, service_id=service.service_id, status="open", note=body.note,
        backup_retained_until=date.fromisoformat(service.backup_retained_until), created_at=now,
        message="Recibimos su pedido. El equipo le enviará el presupuesto de la restauración.",
    )


def staff_restore_requests(stores: LifecycleStores, identity: Identity) -> list[RestoreRequestOut]:
    """Staff: open restore requests, newest first (one Query of the open list)."""
    require_staff(identity)
    return [RestoreRequestOut(
        request_id=r.request_id, service_id=r.service_id, status=r.status, note=r.note, backup_retained_until=None,
        created_at=from_storage(r.created_at), message="Pedido de restauración: enviar presupuesto al cliente.",
    ) for r in stores.lifecycles.restore_requests("open")]
