"""Who sees which service, and its credentials (decrypted only for those who may manage it)."""

from typing import Any

from shared.auth import Identity, Permission, Role, authorize, in_scope, require_account, require_staff
from shared.credentials import decrypt_credentials
from shared.dal.accounts import Accounts
from shared.dal.services import Service, Services
from shared.schemas import Credential, ServiceDetail, ServiceSummary, service_detail, service_summary


def my_services(services: Services, accounts: Accounts, identity: Identity) -> list[ServiceSummary]:
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.SERVICES, accounts.contact_permissions)
    return [service_summary(s) for s in services.list_services(client_id) if in_scope(grant, [s.service_id])]


def client_services(services: Services, identity: Identity, client_id: str) -> list[ServiceSummary]:
    # No existence check of the client (one Query, not two reads): an unknown client has no services.
    require_staff(identity)
    return [service_summary(s) for s in services.list_services(client_id)]


def my_service(services: Services, accounts: Accounts, kms: Any, identity: Identity,
               service_id: str) -> ServiceDetail:
    require_account(identity)
    # The service and a calling contact's rights in one BatchGetItem.
    service, rights = accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    # Another client's service answers exactly like a missing one (authorize raises the same NotFound).
    authorize(identity, service.client_id, Permission.SERVICES, rights, services=[service.service_id])
    granted = rights(identity.client_id, identity.contact_id or "") if identity.role is Role.CONTACT else None
    may_manage = identity.role is Role.HOLDER or (granted is not None and "manage_services" in granted)
    credentials = None
    if may_manage and service.credentials_ciphertext:
        values = decrypt_credentials(kms, service.service_id, service.credentials_ciphertext)
        credentials = [Credential(name=k, value=v) for k, v in values.items()]
    return service_detail(service, credentials)
