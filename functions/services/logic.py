"""Who sees which service, and its credentials (decrypted only for those who may manage it)."""

from typing import Any

from shared.auth import Identity, Permission, Role, authorize, require_account, require_staff
from shared.credentials import decrypt_credentials
from shared.dal.repositories import Store
from shared.schemas import Credential, ServiceDetail, ServiceSummary, service_detail, service_summary


def my_services(store: Store, identity: Identity) -> list[ServiceSummary]:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.SERVICES, store.contact_permissions)
    return [service_summary(s) for s in store.list_services(client_id)]


def client_services(store: Store, identity: Identity, client_id: str) -> list[ServiceSummary]:
    # No existence check of the client (one Query, not two reads): an unknown client has no services.
    require_staff(identity)
    return [service_summary(s) for s in store.list_services(client_id)]


def my_service(store: Store, kms: Any, identity: Identity, service_id: str) -> ServiceDetail:
    client_id = require_account(identity)
    granted: set[str] | None = None
    if identity.role is Role.CONTACT:
        granted = store.contact_permissions(client_id, identity.contact_id or "")
    service = store.get_service(service_id)
    # Another client's service answers exactly like a missing one (authorize raises NotFound).
    authorize(identity, service.client_id, Permission.SERVICES, lambda *_: granted)
    may_manage = identity.role is Role.HOLDER or (granted is not None and "manage_services" in granted)
    credentials = None
    if may_manage and service.credentials_ciphertext:
        values = decrypt_credentials(kms, service.service_id, service.credentials_ciphertext)
        credentials = [Credential(name=k, value=v) for k, v in values.items()]
    return service_detail(service, credentials)
