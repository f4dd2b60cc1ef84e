"""Who sees which service, and its page: the manual with the service's data, and what the caller may do with its
credentials (their values only through the audited reveal: services.credentials)."""

from services import manual
from services.credentials import rotatable
from services.schemas import CredentialsAccess, MyService, ServiceDetail, ServiceFact, StatusNotice

from shared.auth import Identity, Permission, Role, authorize, in_scope, require_account, require_staff
from shared.clock import from_storage
from shared.dal.accounts import Accounts
from shared.dal.services import ENDED_STATUSES, Service, Services
from shared.dal.status import StatusRepository
from shared.schemas import ServiceSummary, service_fields, service_summary
from shared.status_page import notices_for


def status_notices(status_document: dict, service: Service) -> list[StatusNotice]:
    """The status page's incidents and maintenance that touch the service's server ("server-linked issues"); none
    on a service that ended (nothing of it runs anywhere)."""
    if service.status in ENDED_STATUSES:
        return []
    return [StatusNotice(kind=n["kind"], id=n["id"], title=n["title"], status=n["status"], impact=n["impact"],
                         starts_at=from_storage(n["starts_at"]), ends_at=from_storage(n["ends_at"]) if n["ends_at"]
                         else None, updated_at=from_storage(n["updated_at"]))
            for n in notices_for(status_document, service.server)]


def my_services(services: Services, accounts: Accounts, status: StatusRepository,
                identity: Identity) -> list[MyService]:
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.SERVICES, accounts.contact_permissions)
    mine = [s for s in services.list_services(client_id) if in_scope(grant, [s.service_id])]
    document = (status.page().document or {}) if mine else {}  # no services: no read
    return [MyService(**service_fields(s), status_notices=status_notices(document, s)) for s in mine]


def client_services(services: Services, identity: Identity, client_id: str) -> list[ServiceSummary]:
    # No existence check of the client (one Query, not two reads): an unknown client has no services.
    require_staff(identity)
    return [service_summary(s) for s in services.list_services(client_id)]


def my_service(accounts: Accounts, status: StatusRepository, identity: Identity, service_id: str,
               nameservers: list[str]) -> ServiceDetail:
    require_account(identity)
    # The service and a calling contact's rights in one BatchGetItem.
    service, rights = accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    # Another client's service answers exactly like a missing one (authorize raises the same NotFound).
    grant = authorize(identity, service.client_id, Permission.SERVICES, rights, services=[service.service_id])
    holder = identity.role is Role.HOLDER
    facts = manual.facts_of(kind=service.product_kind, module=service.provisioning_module, domain=service.domain,
                            server=service.server, account=service.provisioning_account, nameservers=nameservers)
    available = bool(service.credentials_ciphertext)
    return ServiceDetail(
        **service_fields(service),
        status_notices=status_notices(status.page().document or {}, service),
        period_start=from_storage(service.period_start) if service.period_start else None,
        manual=manual.render(service.manual, facts),
        facts=[ServiceFact(key=f.key, label=f.label, value=f.value) for f in facts],
        credentials=CredentialsAccess(
            available=available,
            may_reveal=available and (holder or (grant is not None and Permission.MANAGE_SERVICES.value in grant)),
            may_rotate=holder and rotatable(service) and not service.credentials_rotation,
            rotation=service.credentials_rotation,
            rotated_at=from_storage(service.credentials_rotated_at) if service.credentials_rotated_at else None,
        ),
    )
