"""Who is calling, and what they may do on an account.

Identity comes only from the claims API Gateway verified (Cognito user pool authorizer) — never from
the body, query or path. One check, ``authorize``, decides every access to an account:
- the holder may do everything on their own account;
- a secondary contact may do what the holder granted it (its permissions are read from the table at
  request time, so a revoked right stops working at once, not when a token expires);
- staff may act on every account.
Another client's resource answers 404, not 403: we do not confirm that it exists.
"""

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from shared.errors import Forbidden, NotFound, Unauthenticated

STAFF_GROUP = "staff"
CLAIM_CLIENT_ID = "custom:client_id"
CLAIM_CONTACT_ID = "custom:contact_id"


class ContactRevoked(Forbidden):
    code = "contact_revoked"
    message = "Su acceso como contacto de esta cuenta fue revocado."


class Role(StrEnum):
    HOLDER = "holder"
    CONTACT = "contact"
    STAFF = "staff"


class Permission(StrEnum):
    PROFILE = "profile"
    SERVICES = "services"
    MANAGE_SERVICES = "manage_services"
    INVOICES = "invoices"
    RECEIVE_INVOICES = "receive_invoices"  # the invoices' emails, with their PDF (docs/accounts.md)
    TICKETS = "tickets"
    ORDERS = "orders"
    MANAGE_DOMAINS = "manage_domains"


PERMISSION_LABELS_ES = {
    Permission.PROFILE: "ver y editar los datos de la cuenta",
    Permission.SERVICES: "ver los servicios",
    Permission.MANAGE_SERVICES: "gestionar los servicios y ver sus claves",
    Permission.INVOICES: "ver y pagar las facturas",
    Permission.RECEIVE_INVOICES: "recibir las facturas por email",
    Permission.TICKETS: "ver y abrir tickets",
    Permission.ORDERS: "hacer pedidos y upgrades",
    Permission.MANAGE_DOMAINS: "gestionar la renovación de los dominios",
}


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    role: Role
    client_id: str | None
    contact_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF


def _groups(raw: Any) -> set[str]:
    """The token's groups, compared as whole names. The REST API's Cognito authorizer passes every claim as
    a string: one group as its name ("staff"), several joined by commas ("ops,staff"). Nothing is
    trimmed or unbracketed: "[staff]" or " staff" is another group's name (Cognito names have no spaces).
    A group whose name holds a comma reads as several: group names must not have one (docs/decisions.md).
    Anything but a string (claims API Gateway did not pass) is no group at all."""
    return set(raw.split(",")) if isinstance(raw, str) and raw else set()


def token_groups(authorization: str | None, subject: str) -> list[str] | None:
    """The groups of the ID token in the Authorization header, as the JSON list Cognito wrote (so a group
    named "ops,staff" is one name, not two). API Gateway's authorizer verified that very token before the
    function runs, so its payload is read, not verified again; it must be the token of ``subject``. None
    when there is no readable token (the claims' string is all there is)."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16384:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(payload, dict) or payload.get("sub") != subject:
        raise Unauthenticated()  # not the token the authorizer verified
    groups = payload.get("cognito:groups", [])
    return [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []


def identity_from_claims(claims: Mapping[str, Any] | None, authorization: str | None = None) -> Identity:
    """Who is calling, from the claims the authorizer verified (and, for groups, the token they came from:
    ``authorization``, the request's Authorization header)."""
    if not claims or not claims.get("sub"):
        raise Unauthenticated()
    if claims.get("token_use") not in (None, "id"):
        raise Unauthenticated("Use el token de identidad (ID token) de su sesión.", code="wrong_token")
    subject = str(claims["sub"])
    email = claims.get("email")
    groups = _groups(claims.get("cognito:groups"))
    listed = token_groups(authorization, subject) if authorization else None
    if listed is not None:
        # Staff only when both agree: the token's own list (so "ops,staff" is one name, not staff) and the
        # claims the authorizer verified (so a header that is not the verified token can add nothing).
        groups = groups & set(listed)
    if STAFF_GROUP in groups:
        return Identity(subject=subject, email=email, role=Role.STAFF, client_id=None)
    client_id = claims.get(CLAIM_CLIENT_ID)
    if not client_id:
        raise Forbidden("Su usuario no está asociado a ninguna cuenta de cliente.", code="no_account")
    contact_id = claims.get(CLAIM_CONTACT_ID) or None
    role = Role.CONTACT if contact_id else Role.HOLDER
    return Identity(subject=subject, email=email, role=role, client_id=client_id, contact_id=contact_id)


ACCOUNT_HEADER = "X-Account-Id"


class NotAMember(NotFound):
    code = "account_not_found"
    message = "No tiene acceso a esa cuenta. Las cuentas en que puede actuar están en GET /me/accounts."


# (login email, client_id) -> (the login's sub, the contact id) of its membership of that account, or None.
MembershipLoader = Callable[[str, str], "tuple[str | None, str] | None"]


def acting_on(identity: Identity, account_id: str | None, membership: MembershipLoader) -> Identity:
    """The caller acting on the account its request names (``X-Account-Id``; docs/accounts.md): its own account
    (the token's) when it names none or that one; another only as the contact it is there — bound by a
    Membership the backend wrote when this very login (its sub, not only its email) accepted the invitation.
    Staff act on every account through their own routes: the header changes nothing for them."""
    if identity.is_staff or not account_id or account_id == identity.client_id:
        return identity
    found = membership((identity.email or "").lower(), account_id) if identity.email else None
    if found is None or not found[0] or found[0] != identity.subject:
        raise NotAMember()
    return replace(identity, role=Role.CONTACT, client_id=account_id, contact_id=found[1])


class Grant(frozenset):
    """A contact's rights (a set of permission names) and the services they are limited to: ``services`` None is
    every service of the account; a set limits every right that concerns a service (seeing it, managing it,
    its invoices, its plan changes) to those. A developer may see one site's credentials and nothing else."""

    services: frozenset[str] | None = None

    @classmethod
    def of(cls, permissions, services=None) -> "Grant":
        grant = cls(permissions)
        grant.services = frozenset(services) if services is not None else None
        return grant

    def covers(self, service_ids) -> bool:
        """Whether any of these services is within the scope (an unscoped grant covers all)."""
        return self.services is None or bool(self.services & set(service_ids))


# (client_id, contact_id) -> the contact's Grant (a plain set: no scope), or None when it no longer exists.
ContactPermissionsLoader = Callable[[str, str], "set[str] | None"]


class ScopedContact(Forbidden):
    code = "scoped_contact"
    message = ("Su acceso está limitado a algunos servicios de la cuenta: no puede contratar servicios nuevos. "
               "Pídaselo al titular.")


def authorize(
    identity: Identity,
    client_id: str,
    permission: Permission,
    contact_permissions: ContactPermissionsLoader,
    *,
    services: "Iterable[str] | None" = None,
) -> "Grant | None":
    """Raise unless ``identity`` may exercise ``permission`` on the account ``client_id`` — and, when
    ``services`` names what the request concerns (a service, an invoice's services), on one of them: outside a
    contact's scope it answers the one 404, as another account's would.

    ``contact_permissions(client_id, contact_id)`` returns the contact's Grant (or a plain set: no scope), or
    None when the contact no longer exists; it is called only for contacts. Returns a contact's Grant (lists
    filter by its scope: ``in_scope``); None for the holder and staff.
    """
    if identity.is_staff:
        return None
    if identity.client_id != client_id:
        raise NotFound()
    if identity.role is Role.HOLDER:
        return None
    granted = contact_permissions(client_id, identity.contact_id or "")
    if granted is None:
        raise ContactRevoked()
    if permission.value not in granted:
        raise Forbidden(
            f"Su usuario de contacto no tiene permiso para {PERMISSION_LABELS_ES[permission]}.",
            code="permission_denied",
        )
    grant = granted if isinstance(granted, Grant) else Grant.of(granted)
    if services is not None and not grant.covers(services):
        raise NotFound()
    return grant


def sees(grant: "Grant | None", service_id: str | None, own: bool = False) -> bool:
    """Whether a thing of the account that may name one service (a ticket, a quote) is for the caller: everything
    for the holder, staff and unscoped contacts; for a scoped contact, what names a service in its scope, or
    what it made itself (``own``) — never what names none (it could be about anything)."""
    return grant is None or grant.services is None or own or (service_id is not None and service_id in grant.services)


def in_scope(grant: "Grant | None", service_ids) -> bool:
    """For lists: whether an item concerning these services is shown to the caller (holder, staff: always)."""
    return grant is None or grant.covers(service_ids)


def require_account(identity: Identity) -> str:
    """The account of a client or contact; staff have none and must name one in the path."""
    if identity.client_id is None:
        raise Forbidden(
            "El personal no tiene una cuenta propia: use las rutas /staff/clients/{client_id}.",
            code="staff_has_no_account",
        )
    return identity.client_id


def require_staff(identity: Identity) -> None:
    if not identity.is_staff:
        raise Forbidden("Esta acción es solo para el personal.", code="staff_only")
