"""Who may read a service: its holder, a contact with ``services`` whose scope includes it, and staff (who check
what a client sees). One rule for the capabilities that show something of a service (its downloads, its
self-diagnostics)."""

from shared.auth import Identity, Permission, authorize, require_account
from shared.dal.accounts import Accounts
from shared.dal.services import Service, Services


def readable_service(services: Services, accounts: Accounts, identity: Identity, service_id: str) -> Service:
    """The service, or the one NotFound (another account's service answers exactly like a missing one)."""
    if identity.is_staff:
        return services.get_service(service_id)
    require_account(identity)
    service, rights = accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    authorize(identity, service.client_id, Permission.SERVICES, rights, services=[service.service_id])
    return service
