"""Cambio de titular: a service moves from one client to another (help centre: "Como cambio el titular de un
servicio a otro cliente"; docs/transfers.md).

1. Both must be clients. The source holder asks in the panel with the password (``request_transfer``), or by a
   ticket from the holder's email, which staff turn into a request (``staff_open``) that the holder then
   confirms in the panel with the password (``confirm``).
2. The target holder accepts with their own password, or declines. Each consent is recorded (who, when).
3. Staff approve every transfer, or reject it. When the two accounts' data differ much (``differences``) the
   approval carries the note of staff's verification (the phone call the help centre mentions).
4. The move is one transaction: the service's owner and listing key, its pending transfer cleared and its
   credentials flagged for a change (the previous holder knew them). Past invoices stay with the account that
   paid them; the next ones are the new holder's. Afterwards each holder sees only what is theirs.

Refused while the service is not active (pending, suspended, ended), has an unpaid invoice, a plan change or a
cancellation under way, or another transfer open (Blesta's rule: a transfer never carries a debt or a half-done
change to someone else). The same checks run again at approval, on the service read then, and the move is
version-checked against it: a payment, a renewal or a plan change at that instant makes one of the two lose.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from transfers.schemas import Approval, Consent, Rejection, StaffTransferRequest, TransferOut, TransferRequest

from shared.auth import Identity, Role, require_staff
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, EmailMarker, PasswordAttempts
from shared.dal.billing import Billing
from shared.dal.services import Service, Services
from shared.dal.table import batch_get, clear_due, mark_due, not_found
from shared.dal.tickets import Ticket
from shared.dal.transfers import DUE_KIND, OPEN_STATUSES, Transfer, Transfers, TransferTarget
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at, is_valid_id
from shared.password_check import PasswordCheck, confirm_password

NEXT_STEP_ES = {
    "awaiting_source": "El titular debe confirmarlo en Paneldecliente con su clave.",
    "awaiting_target": "El cliente que lo recibe debe aceptarlo en Paneldecliente con su clave.",
    "awaiting_staff": "Nuestro equipo lo revisa y lo aprueba (si los datos de las cuentas difieren, antes lo "
                      "verificamos por teléfono).",
    "completed": "Hecho: el servicio es de la nueva cuenta; cada titular ve solo lo suyo.",
    "declined": "El cliente que lo recibía no lo aceptó.",
    "rejected": "Nuestro equipo no lo aprobó.",
    "cancelled": "El titular lo retiró.",
}
REASONS_ES = {"tax_id": "CUIT/CUIL distintos", "country": "países distintos", "name": "nombres sin nada en común"}


@dataclass
class TransferStores:
    transfers: Transfers
    services: Services
    accounts: Accounts
    billing: Billing


class TransferNotPossible(Conflict):
    code = "transfer_not_possible"


# --- who may do what -----------------------------------------------------------------------------------------


def _holder(identity: Identity) -> str:
    """The caller's own account, as its holder: transfers are never delegated to contacts (issue: cancelling,
    transferring and managing contacts are the holder's alone)."""
    if identity.is_staff:
        raise Forbidden("El personal no transfiere servicios por el cliente: abre el pedido desde el ticket del "
                        "titular (POST /staff/transfers) y el titular lo confirma.", code="staff_has_no_account")
    if identity.role is not Role.HOLDER or not identity.client_id:
        raise Forbidden("Solo el titular de la cuenta puede transferir servicios o aceptarlos.", code="holder_only")
    return identity.client_id


def _transfer_of(stores: TransferStores, transfer_id: str, client_id: str, side: str) -> Transfer:
    """The transfer, when the caller's account is on ``side`` (from | to); otherwise the one 404."""
    transfer = stores.transfers.find(transfer_id) if is_valid_id(transfer_id) else None
    owner = None if transfer is None else transfer.from_client_id if side == "from" else transfer.to_client_id
    # The target knows of a transfer only once its holder consented (one staff opened may never be confirmed).
    if transfer is None or owner != client_id or (side == "to" and not transfer.source_consent_at):
        raise not_found()
    return transfer


def _expect(transfer: Transfer, *statuses: str) -> None:
    if transfer.status not in statuses:
        raise Conflict(f"La transferencia no espera este paso: {NEXT_STEP_ES[transfer.status]}",
                       code="transfer_not_in_this_step")


# --- the rules ---------------------------------------------------------------------------------------------------


def blockers(stores: TransferStores, service: Service) -> list[str]:
    """Why the service cannot change hands now (empty: it can)."""
    found = []
    if service.status != "active":
        found.append("el servicio no está activo (pendiente, suspendido o dado de baja)")
    unpaid = [i.invoice_id[-8:] for i in stores.billing.list_invoices(service.client_id)
              if i.balance and service.service_id in i.service_ids()]
    if unpaid:
        found.append(f"tiene facturas impagas ({', '.join(sorted(unpaid))})")
    if service.renewal_invoice_id:  # issued (and maybe paid ahead) by this holder for a period not yet started
        found.append("ya tiene facturada la renovación del próximo período: transfiéralo cuando ese período empiece")
    if service.pending_upgrade_id:
        found.append("tiene un cambio de plan en curso")
    if service.cancellation_type:
        found.append("tiene una baja pendiente")
    return found


def _transferable(stores: TransferStores, service: Service, *, own_transfer: str | None = None) -> None:
    found = blockers(stores, service)
    if service.pending_transfer_id and service.pending_transfer_id != own_transfer:
        other = stores.transfers.find(service.pending_transfer_id)
        if other is not None and other.status in OPEN_STATUSES:
            found.append("ya tiene otra transferencia en curso")
    if found:
        raise TransferNotPossible("No se puede transferir el servicio: " + "; ".join(found) + ".")


def _words(text: str | None) -> set[str]:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return {w for w in re.findall(r"[a-z0-9]+", plain) if len(w) >= 3}


def differences(source: Client, target: Client) -> list[str]:
    """What differs much between the two accounts (help centre: "si ambos datos difieren mucho … alguna
    verificación telefónica"): different tax ids (CUIT/CUIL), different countries, names and companies without a
    word in common. The same tax id waives the rest only with a name in common and the same country: a client
    can type any CUIT, so a copied one alone never spares the call."""
    tax = [re.sub(r"\D", "", t or "") for t in (source.tax_id, target.tax_id)]
    found = []
    if tax[0] and tax[1] and tax[0] != tax[1]:
        found.append("tax_id")
    if (source.country or "AR") != (target.country or "AR"):
        found.append("country")
    if not (_words(source.name) | _words(source.company)) & (_words(target.name) | _words(target.company)):
        found.append("name")
    return found


def _target_client(email: str, source_client_id: str) -> Client:
    marker = batch_get([EmailMarker.key(email)]).get(EmailMarker.key(email))
    if not isinstance(marker, EmailMarker) or marker.contact_id:
        raise InvalidInput("No hay ningún cliente con ese email. Quien recibe el servicio debe ser cliente: puede "
                           "darse de alta en Paneldecliente (POST /clients) y luego pedir la transferencia.",
                           code="target_not_a_client", field="target_email")
    if marker.client_id == source_client_id:
        raise InvalidInput("El servicio ya es de esa cuenta.", code="same_account", field="target_email")
    client = batch_get([Client.key(marker.client_id)]).get(Client.key(marker.client_id))
    if not isinstance(client, Client):
        raise InvalidInput("No hay ningún cliente con ese email.", code="target_not_a_client", field="target_email")
    return client


def _terms(service: Service) -> str:
    """What the target agrees to receive: the plan, its cycle and price, and whether it renews by itself. The
    move refuses a service whose terms changed since (the target must be asked again)."""
    return f"{service.product_id}|{service.billing_cycle}|{service.recurring_amount} {service.currency}|" \
           f"{'auto' if service.auto_renew else 'manual'}"


def _same_terms(transfer: Transfer, service: Service) -> None:
    if transfer.terms and transfer.terms != _terms(service):
        raise Conflict("El servicio cambió desde que se pidió la transferencia (plan, ciclo, precio o renovación): "
                       "debe pedirse de nuevo para que quien lo recibe acepte lo que recibe.", code="service_changed")


def _label(service: Service) -> str:
    return f"{service.product_name}{' — ' + service.domain if service.domain else ''}"[:200]


def _event(kind: EventType, transfer: Transfer, client_id: str, now: datetime, **extra):
    return new_event(kind, client_id=client_id, occurred_at=now, payload={
        "transfer_id": transfer.transfer_id, "service_id": transfer.service_id, "service": transfer.service_label,
        "from_client_id": transfer.from_client_id, "to_client_id": transfer.to_client_id, **extra})


def _close(uow: UnitOfWork, stores: TransferStores, transfer: Transfer, status: str, by: str, now: datetime,
           reason: str | None = None) -> None:
    """A transfer that ends without moving anything: the service is free again (version-checked)."""
    transfer.status, transfer.decided_at, transfer.decided_by = status, to_storage(now), by
    transfer.decision_reason, transfer.updated_at = reason, to_storage(now)
    clear_due(transfer)
    uow.save(transfer)
    service = stores.services.get_service(transfer.service_id, consistent=True)
    if service.pending_transfer_id == transfer.transfer_id:
        service.pending_transfer_id = None
        uow.save(service)
    uow.emit([_event(EventType.TRANSFER_CLOSED, transfer, transfer.from_client_id, now, outcome=status)])


def _open(stores: TransferStores, uow: UnitOfWork, service: Service, source: Client, target: Client, now: datetime,
          *, status: str, by: str, via: str, ticket_id: str | None, note: str | None) -> Transfer:
    transfer_id = id_at(now)
    reasons = differences(source, target)
    transfer = Transfer(
        *Transfer.key(transfer_id), gsi1pk=f"CLIENT#{source.client_id}", gsi1sk=f"TRANSFER#{transfer_id}",
        transfer_id=transfer_id, service_id=service.service_id, service_label=_label(service),
        from_client_id=source.client_id, to_client_id=target.client_id, to_email=target.email, status=status,
        requested_by=by, requested_via=via, ticket_id=ticket_id, note=note, needs_verification=bool(reasons),
        verification_reasons=reasons, terms=_terms(service), created_at=to_storage(now), updated_at=to_storage(now))
    mark_due(transfer, DUE_KIND, transfer_id, transfer.created_at)
    service.pending_transfer_id = transfer_id
    uow.create(transfer)
    if status == "awaiting_target":
        transfer.source_consent_at, transfer.source_consent_by = to_storage(now), by
        _offer(uow, transfer)
    uow.save(service)  # version-checked: a payment, a plan change or another transfer at this instant loses
    uow.emit([_event(EventType.TRANSFER_REQUESTED, transfer, source.client_id, now, via=via, ticket_id=ticket_id,
                     to_email=target.email)])
    if status == "awaiting_target":
        uow.emit([_event(EventType.TRANSFER_OFFERED, transfer, target.client_id, now, from_name=source.name)])
    else:  # opened by staff from the holder's ticket: the holder is asked to confirm it
        uow.emit([_event(EventType.TRANSFER_TO_CONFIRM, transfer, source.client_id, now, ticket_id=ticket_id)])
    return transfer


def _offer(uow: UnitOfWork, transfer: Transfer) -> None:
    """The target's account lists it from now on: only once the source holder consented (a request staff opened
    from a ticket is nobody else's business until the holder confirms it)."""
    uow.create(TransferTarget(*TransferTarget.key(transfer.transfer_id), transfer_id=transfer.transfer_id,
                              gsi1pk=f"CLIENT#{transfer.to_client_id}", gsi1sk=f"TRANSFER#{transfer.transfer_id}"))


def _consent(stores: TransferStores, passwords: PasswordCheck, client: Client, password: str, now: datetime,
             uow: UnitOfWork) -> None:
    attempts = confirm_password(stores.accounts, passwords, client,
                                batch_get([PasswordAttempts.key(client.client_id)], consistent=True).get(
                                    PasswordAttempts.key(client.client_id)), password, now)
    if attempts is not None:
        uow.delete(attempts)  # the right password: the count starts over


# --- the holders -------------------------------------------------------------------------------------------------


def request_transfer(stores: TransferStores, passwords: PasswordCheck, clock: Clock, identity: Identity,
                     service_id: str, body: TransferRequest) -> TransferOut:
    client_id = _holder(identity)
    service = stores.services.get_service(service_id, consistent=True) if is_valid_id(service_id) else None
    if service is None or service.client_id != client_id:
        raise not_found()
    _transferable(stores, service)
    source = stores.accounts.get_client(client_id)
    now = clock.now()
    uow = UnitOfWork()
    _consent(stores, passwords, source, body.password, now, uow)  # before the target: no address book to probe
    target = _target_client(str(body.target_email), client_id)
    transfer = _open(stores, uow, service, source, target, now, status="awaiting_target", by=identity.subject,
                     via="panel", ticket_id=None, note=body.note)
    uow.commit()
    return transfer_out(transfer, "outgoing", source.name)


def my_transfers(stores: TransferStores, identity: Identity) -> list[TransferOut]:
    client_id = _holder(identity)
    found = stores.transfers.of_client(client_id)
    sources = {t.from_client_id for t in found if t.from_client_id != client_id}
    names = {c.client_id: c.name for c in batch_get(Client.key(i) for i in sources).values() if isinstance(c, Client)}
    return [transfer_out(t, "outgoing" if t.from_client_id == client_id else "incoming",
                         names.get(t.from_client_id)) for t in found]


def confirm(stores: TransferStores, passwords: PasswordCheck, clock: Clock, identity: Identity, transfer_id: str,
            body: Consent) -> TransferOut:
    """The source holder confirms a transfer staff opened from their ticket: the target is asked next."""
    return _consent_step(stores, passwords, clock, identity, transfer_id, body, side="from")


def accept(stores: TransferStores, passwords: PasswordCheck, clock: Clock, identity: Identity, transfer_id: str,
           body: Consent) -> TransferOut:
    """The target holder accepts: staff decide next."""
    return _consent_step(stores, passwords, clock, identity, transfer_id, body, side="to")


def _consent_step(stores: TransferStores, passwords: PasswordCheck, clock: Clock, identity: Identity,
                  transfer_id: str, body: Consent, *, side: str) -> TransferOut:
    transfer = _transfer_of(stores, transfer_id, _holder(identity), side)
    _expect(transfer, "awaiting_source" if side == "from" else "awaiting_target")
    client = stores.accounts.get_client(transfer.from_client_id if side == "from" else transfer.to_client_id)
    now = clock.now()
    uow = UnitOfWork()
    _consent(stores, passwords, client, body.password, now, uow)
    stamp = to_storage(now)
    if side == "from":
        transfer.status, transfer.source_consent_at, transfer.source_consent_by = "awaiting_target", stamp, \
            identity.subject
        event = _event(EventType.TRANSFER_OFFERED, transfer, transfer.to_client_id, now, from_name=client.name)
        _offer(uow, transfer)
    else:
        _same_terms(transfer, stores.services.get_service(transfer.service_id, consistent=True))
        transfer.status, transfer.target_consent_at, transfer.target_consent_by = "awaiting_staff", stamp, \
            identity.subject
        event = _event(EventType.TRANSFER_ACCEPTED, transfer, transfer.from_client_id, now)
    transfer.updated_at = stamp
    uow.save(transfer)  # version-checked: a withdrawal at this instant wins or loses whole
    uow.emit([event])
    uow.commit()
    return transfer_out(transfer, "outgoing" if side == "from" else "incoming", None)


def decline(stores: TransferStores, clock: Clock, identity: Identity, transfer_id: str) -> TransferOut:
    transfer = _transfer_of(stores, transfer_id, _holder(identity), "to")
    _expect(transfer, "awaiting_target")
    uow = UnitOfWork()
    _close(uow, stores, transfer, "declined", identity.subject, clock.now())
    uow.commit()
    return transfer_out(transfer, "incoming", None)


def cancel(stores: TransferStores, clock: Clock, identity: Identity, transfer_id: str) -> TransferOut:
    """The source holder withdraws it, at any step before it is done."""
    transfer = _transfer_of(stores, transfer_id, _holder(identity), "from")
    _expect(transfer, *OPEN_STATUSES)
    uow = UnitOfWork()
    _close(uow, stores, transfer, "cancelled", identity.subject, clock.now())
    uow.commit()
    return transfer_out(transfer, "outgoing", None)


# --- staff ---------------------------------------------------------------------------------------------------------


def staff_queue(stores: TransferStores, identity: Identity) -> list[TransferOut]:
    require_staff(identity)
    found = stores.transfers.open_transfers()
    names = {c.client_id: c.name for c in batch_get(Client.key(t.from_client_id) for t in found).values()
             if isinstance(c, Client)}
    return [transfer_out(t, None, names.get(t.from_client_id)) for t in found]


def staff_open(stores: TransferStores, clock: Clock, identity: Identity, body: StaffTransferRequest) -> TransferOut:
    """The holder asked by ticket, from the holder's email (the help centre's way): staff open the request and the
    holder confirms it in the panel with the password."""
    require_staff(identity)
    found = batch_get([k for k in (Ticket.key(body.ticket_id) if is_valid_id(body.ticket_id) else None,
                                   Service.key(body.service_id) if is_valid_id(body.service_id) else None) if k],
                      consistent=True)
    ticket = found.get(Ticket.key(body.ticket_id)) if is_valid_id(body.ticket_id) else None
    service = found.get(Service.key(body.service_id)) if is_valid_id(body.service_id) else None
    if not isinstance(ticket, Ticket) or not isinstance(service, Service):
        raise not_found()
    source = stores.accounts.get_client(service.client_id)
    if ticket.client_id != service.client_id or (ticket.requester_email or "").lower() != source.email.lower():
        raise Conflict("El pedido debe llegar en un ticket de la cuenta del servicio, enviado desde el email del "
                       "titular.", code="ticket_not_from_holder")
    _transferable(stores, service)
    target = _target_client(str(body.target_email), service.client_id)
    now = clock.now()
    uow = UnitOfWork()
    transfer = _open(stores, uow, service, source, target, now, status="awaiting_source", by=identity.subject,
                     via="ticket", ticket_id=ticket.ticket_id, note=body.note)
    uow.commit()
    return transfer_out(transfer, None, source.name)


def reject(stores: TransferStores, clock: Clock, identity: Identity, transfer_id: str, body: Rejection) -> TransferOut:
    require_staff(identity)
    transfer = stores.transfers.find(transfer_id) if is_valid_id(transfer_id) else None
    if transfer is None:
        raise not_found()
    _expect(transfer, *OPEN_STATUSES)
    uow = UnitOfWork()
    _close(uow, stores, transfer, "rejected", identity.subject, clock.now(), body.reason)
    uow.commit()
    return transfer_out(transfer, None, None)


def approve(stores: TransferStores, clock: Clock, identity: Identity, transfer_id: str, body: Approval) -> TransferOut:
    """Both consented: the service moves, in one transaction."""
    require_staff(identity)
    transfer = stores.transfers.find(transfer_id) if is_valid_id(transfer_id) else None
    if transfer is None:
        raise not_found()
    _expect(transfer, "awaiting_staff")
    # The accounts as they are now, besides as they were when asked: data edited meanwhile spare no call.
    accounts = batch_get([Client.key(transfer.from_client_id), Client.key(transfer.to_client_id)], consistent=True)
    now_differ = differences(accounts[Client.key(transfer.from_client_id)], accounts[Client.key(transfer.to_client_id)])
    transfer.verification_reasons = sorted(set(transfer.verification_reasons or []) | set(now_differ))
    transfer.needs_verification = bool(transfer.verification_reasons)
    if transfer.needs_verification and not body.verification_note:
        reasons = ", ".join(REASONS_ES[r] for r in transfer.verification_reasons)
        raise InvalidInput(f"Los datos de las cuentas difieren ({reasons}): anote cómo lo verificó (por ejemplo, la "
                           "llamada al titular) en verification_note.", code="verification_required",
                           field="verification_note")
    service = stores.services.get_service(transfer.service_id, consistent=True)
    if service.client_id != transfer.from_client_id:
        raise Conflict("El servicio ya no es de la cuenta que lo transfería.", code="service_changed")
    _transferable(stores, service, own_transfer=transfer.transfer_id)
    _same_terms(transfer, service)
    now = clock.now()
    stamp = to_storage(now)
    if body.verification_note:
        transfer.verified_at, transfer.verified_by = stamp, identity.subject
        transfer.verification_note = body.verification_note
    transfer.status, transfer.decided_at, transfer.decided_by, transfer.updated_at = "completed", stamp, \
        identity.subject, stamp
    clear_due(transfer)
    service.client_id, service.gsi1pk = transfer.to_client_id, f"CLIENT#{transfer.to_client_id}"
    service.pending_transfer_id, service.updated_at = None, stamp
    # The previous holder knew its passwords: the new holder's account gets a ticket for staff to change them.
    rotate = bool(service.credentials_ciphertext or service.provisioning_account)
    uow = UnitOfWork()
    uow.save(transfer)
    uow.save(service)  # version-checked: a payment, renewal or plan change of this instant makes one of us lose
    # Consistent: a scope widened to this service a moment ago must lose it too (a stale read would skip it).
    for contact in stores.accounts.list_contacts(transfer.from_client_id, consistent=True):
        if contact.scoped and service.service_id in (contact.service_ids or []):
            contact.service_ids = [i for i in contact.service_ids if i != service.service_id]  # may be none now
            uow.save(contact)
    uow.emit([_event(EventType.SERVICE_TRANSFERRED_OUT, transfer, transfer.from_client_id, now),
              _event(EventType.SERVICE_TRANSFERRED_IN, transfer, transfer.to_client_id, now,
                     rotate_credentials=rotate)])
    uow.commit()
    return transfer_out(transfer, None, None)


# --- answers --------------------------------------------------------------------------------------------------------


def transfer_out(transfer: Transfer, direction: str | None, from_name: str | None) -> TransferOut:
    staff = direction is None

    def when(value: str | None):
        return from_storage(value) if value else None

    return TransferOut(
        transfer_id=transfer.transfer_id, service_id=transfer.service_id, service=transfer.service_label,
        status=transfer.status, direction=direction,
        from_client_id=transfer.from_client_id if staff else None,
        to_client_id=transfer.to_client_id if staff else None,
        from_name=from_name if direction != "outgoing" else None, to_email=transfer.to_email,
        requested_via=transfer.requested_via, ticket_id=transfer.ticket_id if direction != "incoming" else None,
        needs_verification=transfer.needs_verification,
        verification_reasons=list(transfer.verification_reasons or []) if staff else [],
        verified_at=when(transfer.verified_at), source_consent_at=when(transfer.source_consent_at),
        target_consent_at=when(transfer.target_consent_at), decided_at=when(transfer.decided_at),
        decision_reason=transfer.decision_reason, note=transfer.note if direction != "incoming" else None,
        created_at=from_storage(transfer.created_at),
        next_step=NEXT_STEP_ES[transfer.status])
