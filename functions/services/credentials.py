"""A service's credentials: revealed only to those who may manage the service, every reveal recorded before the
decryption and listed to the holder ("quién vio las claves y cuándo"), and changed on the server when the holder
asks (after a contact who saw them left, say). docs/service-access.md.

- Reveal: the holder, or a contact with ``manage_services`` within its scope. The record (who, when, from where)
  commits first: no record, no reveal. A contact's reveal is announced to the holder (alert ``claves_vistas``);
  the holder's own reveals are only listed.
- Reveals: the holder (and staff, for an investigation), the newest 100, each saying whether that person can still
  see them; ``rotation_advised`` when someone who saw them since the last change no longer can.
- Rotation: the holder asks; the provisioning worker sets a new password with WHM ``passwd`` and the service keeps
  the new credentials (functions/activation/server_accounts.py ``rotate_password``).
"""

from datetime import datetime, timedelta
from typing import Any

from services.schemas import (
    Credential,
    CredentialRevealOut,
    CredentialRevealsOut,
    RevealedCredentials,
    RotationOut,
)

from shared import activation
from shared.auth import Identity, Permission, Role, authorize, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.credentials import decrypt_credentials
from shared.dal.accounts import Accounts, Contact
from shared.dal.credential_reveals import CredentialReveal, CredentialReveals
from shared.dal.services import ENDED_STATUSES, Service, Services
from shared.dal.table import not_found
from shared.dal.unit_of_work import UnitOfWork, save_change
from shared.errors import ConcurrentModification, Conflict, Forbidden
from shared.events import EventType, new_event
from shared.ids import id_at

# The modules whose accounts we can give a new password (cPanel/WHM: ``passwd``).
ROTATING_MODULES = ("cpanel",)
ALERT_EVERY = timedelta(hours=1)  # a contact's reveals of one service tell the holder once an hour at most
# A rotation asked this long ago and not done (WHM failing until its command went to the dead-letter queue) may be
# asked again: the new command carries on from the stored pending password, if any.
ROTATION_STALE = timedelta(hours=1)


class NoCredentials(Conflict):
    code = "no_credentials"
    message = "Este servicio todavía no tiene claves: aparecen aquí cuando se activa."


class RotationNotAvailable(Conflict):
    code = "rotation_not_available"
    message = ("Las claves de este servicio no se pueden cambiar desde el panel: pídalo por ticket y lo hacemos "
               "nosotros.")


class RotationUnderWay(Conflict):
    code = "rotation_under_way"
    message = "Ya estamos cambiando las claves de este servicio: en unos minutos verá las nuevas."


def rotatable(service: Service) -> bool:
    """Whether we can give the service's server account a new password ourselves."""
    return (service.provisioning_module in ROTATING_MODULES and bool(service.provisioning_account)
            and service.status not in ENDED_STATUSES)


def _own_service(identity: Identity, service: Service, *, staff_may: bool) -> None:
    """The holder of the service's account (and staff when ``staff_may``); a contact, whatever its rights, 403."""
    if identity.is_staff:
        if staff_may:
            return
        require_account(identity)  # staff have no account: 403 staff_has_no_account
    if identity.client_id != service.client_id:
        raise not_found()  # another account's service answers like a missing one
    if identity.role is not Role.HOLDER:
        raise Forbidden("Solo el titular de la cuenta puede hacer esto con las claves.", code="holder_only")


def _told_lately(repo: CredentialReveals, service_id: str, contact_id: str, now: datetime) -> bool:
    """Whether this contact's reveal of this service within the last hour already told the holder."""
    since = to_storage(now - ALERT_EVERY)
    return any(r.contact_id == contact_id and r.revealed_at >= since for r in repo.of_service(service_id, newest=20))


def reveal(accounts: Accounts, repo: CredentialReveals, kms: Any, clock: Clock, identity: Identity, service_id: str,
           source_ip: str | None, user_agent: str | None) -> RevealedCredentials:
    require_account(identity)
    # The service and a calling contact (its rights, its name for the record) in one BatchGetItem.
    service, rights = accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    authorize(identity, service.client_id, Permission.MANAGE_SERVICES, rights, services=[service.service_id])
    if not service.credentials_ciphertext:
        raise NoCredentials()
    contact = rights.contact if identity.role is Role.CONTACT else None
    now = clock.now()
    stamp, reveal_id = to_storage(now), id_at(now)
    record = CredentialReveal(
        *CredentialReveal.key(service.service_id, stamp, reveal_id), reveal_id=reveal_id,
        service_id=service.service_id, client_id=service.client_id, role=identity.role.value,
        contact_id=identity.contact_id if contact else None, name=contact.name if contact else None,
        email=identity.email or (contact.email if contact else None), subject=identity.subject, revealed_at=stamp,
        source_ip=source_ip, user_agent=(user_agent or "")[:300] or None)
    with UnitOfWork() as uow:
        uow.create(record)
        if contact is not None:
            # Still the contact whose rights were read: one removed (or changed) meanwhile gets nothing.
            uow.check(Contact, *Contact.key(contact.client_id, contact.contact_id), Contact.version == contact.version,
                      error=ConcurrentModification())
            if not _told_lately(repo, service.service_id, contact.contact_id, now):
                # Someone else saw them: the holder hears of it (the event names no value), once an hour at most
                # per contact and service (a page that reveals on every view must not send a WhatsApp each time).
                uow.emit([new_event(EventType.SERVICE_CREDENTIALS_REVEALED, client_id=service.client_id,
                                    occurred_at=now, payload={
                                        "service_id": service.service_id,
                                        "service": service.domain or service.product_name,
                                        "by": contact.name or record.email, "revealed_at": stamp})])
    values = decrypt_credentials(kms, service.service_id, service.credentials_ciphertext)
    return RevealedCredentials(credentials=[Credential(name=k, value=v) for k, v in values.items()], revealed_at=now)


def reveals(services: Services, accounts: Accounts, repo: CredentialReveals, identity: Identity,
            service_id: str) -> CredentialRevealsOut:
    service = services.get_service(service_id)
    _own_service(identity, service, staff_may=True)
    found = repo.of_service(service.service_id)
    _, contacts = accounts.account_people(service.client_id)
    # As shared.auth.authorize would decide a reveal by each of them now (a removed contact's item is gone).
    may_see = {c.contact_id for c in contacts
               if Permission.MANAGE_SERVICES.value in c.grant() and c.grant().covers([service.service_id])}

    def still(record: CredentialReveal) -> bool:
        if record.client_id != service.client_id:
            return False  # the account that held the service before a transfer
        return record.role == Role.HOLDER.value or record.contact_id in may_see

    def shown(record: CredentialReveal) -> CredentialRevealOut:
        if record.client_id != service.client_id:  # another client's people: when, and nothing about who
            return CredentialRevealOut(revealed_at=from_storage(record.revealed_at), role=record.role,
                                       previous_holder=True, still_has_access=False)
        return CredentialRevealOut(revealed_at=from_storage(record.revealed_at), role=record.role,
                                   contact_id=record.contact_id, name=record.name, email=record.email,
                                   source_ip=record.source_ip, user_agent=record.user_agent,
                                   still_has_access=still(record))

    changed = service.credentials_rotated_at
    return CredentialRevealsOut(
        reveals=[shown(r) for r in found],
        rotation_advised=rotatable(service) and any(not still(r) and (changed is None or r.revealed_at > changed)
                                                    for r in found),
        rotation=service.credentials_rotation,
        rotated_at=from_storage(changed) if changed else None,
    )


def request_rotation(services: Services, clock: Clock, identity: Identity, service_id: str) -> RotationOut:
    service = services.get_service(service_id, consistent=True)
    _own_service(identity, service, staff_may=False)
    if not rotatable(service):
        raise RotationNotAvailable()
    now = clock.now()
    asked = service.credentials_rotation_requested_at
    if service.credentials_rotation and asked and from_storage(asked) > now - ROTATION_STALE:
        raise RotationUnderWay()
    service.credentials_rotation = service.credentials_rotation or "requested"  # a stale one carries on
    service.credentials_rotation_requested_at = service.updated_at = to_storage(now)
    # Version-checked: of two requests at once one commits, the other is 409 concurrent_modification.
    save_change([service], activation.server_command(service, now, "rotate_password"))
    return RotationOut(rotation=service.credentials_rotation, requested_at=now)
