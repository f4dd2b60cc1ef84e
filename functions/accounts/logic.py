"""Account rules: one client per email, Argentine phones for WhatsApp, contacts with chosen rights."""

from collections.abc import Callable

from accounts import invitations, memberships
from accounts.schemas import (
    AddContact,
    ClientOut,
    ContactOut,
    IdentityOut,
    MeOut,
    RegisterClient,
    StaffCreateClient,
    UpdateContact,
    UpdateProfile,
)
from aws_lambda_powertools import Logger

from shared.auth import ContactRevoked, Identity, Permission, Role, authorize, require_account, require_staff
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, Contact, EmailTaken, Invitation
from shared.dal.services import Services
from shared.dal.table import not_found
from shared.dal.unit_of_work import UnitOfWork, save_change
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events import EventType, new_event
from shared.ids import is_valid_id, new_id
from shared.logins import CognitoLogins, LoginExists
from shared.money import Currency, Money
from shared.phones import phone_for_alerts
from shared.schemas import MoneyOut

logger = Logger(child=True)


def _login_then_write(logins: CognitoLogins, email: str, write: Callable[[], None], **login: str | None) -> None:
    """Create the sign-in first, then the items (with their event) in one transaction.

    In this order because the event committed with the items is published at once: items written first
    and undone after a refused login (weak password, Cognito down) would have announced an account that
    never existed. Concurrent sign-ups with one email are settled by Cognito (one username) and again by
    the table's email marker; whoever loses either gets 409 and its login, if any, is removed.
    """
    try:
        logins.create(email, **login)
    except LoginExists:
        raise EmailTaken() from None
    try:
        write()
    except Exception:
        logins.delete_quietly(email)
        raise


def register_client(accounts: Accounts, logins: CognitoLogins, clock: Clock, data: RegisterClient) -> Client:
    return _open_account(accounts, logins, clock, data, password=data.password)


def staff_create_client(
    accounts: Accounts, logins: CognitoLogins, clock: Clock, identity: Identity, data: StaffCreateClient
) -> Client:
    require_staff(identity)
    return _open_account(
        accounts,
        logins,
        clock,
        data,
        password=None,  # Cognito emails the client an invitation with a temporary password
        support_plan=data.support_plan,
        account_executive=data.account_executive,
        opened_by=identity.subject,
    )


def _open_account(
    accounts: Accounts,
    logins: CognitoLogins,
    clock: Clock,
    data: RegisterClient | StaffCreateClient,
    *,
    password: str | None,
    support_plan: str = "standard",
    account_executive: str | None = None,
    opened_by: str | None = None,
) -> Client:
    now = clock.now()
    client_id = new_id()
    client = Client(
        *Client.key(client_id),
        client_id=client_id,
        email=data.email,
        name=data.name,
        company=data.company or None,
        tax_id=data.tax_id,
        country=data.country,
        phone=phone_for_alerts(data.phone, data.whatsapp_opt_in),
        whatsapp_opt_in=data.whatsapp_opt_in,
        support_plan=support_plan,
        account_executive=account_executive,
        created_at=to_storage(now),
        updated_at=to_storage(now),
    )
    event = new_event(
        EventType.CLIENT_REGISTERED,
        client_id=client_id,
        payload={"client_id": client_id, "email": client.email, "opened_by": opened_by or "self"},
        occurred_at=now,
    )
    def stage(uow: UnitOfWork) -> None:
        memberships.claim_email(accounts, uow, client.email, client_id, None, now, proven=False)
        uow.create(client, error=EmailTaken())

    _login_then_write(logins, client.email, lambda: _write(stage, event), client_id=client_id, password=password)
    return client


def my_account(accounts: Accounts, identity: Identity) -> MeOut:
    """The account's details and what the caller may do on it. A contact without `profile` still
    learns its own rights (so the client area can show the right menu), but not the details."""
    client_id = require_account(identity)
    permissions = list(Permission)
    if identity.role is Role.CONTACT:
        granted = accounts.contact_permissions(client_id, identity.contact_id or "")
        if granted is None:
            raise ContactRevoked()
        permissions = sorted(Permission(p) for p in granted)
    account = None
    if Permission.PROFILE in permissions:
        account = client_out(accounts.get_client(client_id))
    return MeOut(
        account=account,
        identity=IdentityOut(role=identity.role.value, contact_id=identity.contact_id, permissions=permissions),
    )


def update_my_account(accounts: Accounts, clock: Clock, identity: Identity, changes: UpdateProfile) -> Client:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.PROFILE, accounts.contact_permissions)
    client = accounts.get_client(client_id)
    sent = changes.model_dump(exclude_unset=True)
    if not sent:
        raise InvalidInput("No envió ningún dato para modificar.", code="empty_update")
    if identity.role is Role.CONTACT and {"phone", "whatsapp_opt_in"} & set(sent):
        # The account's number gets every holder alert: only the holder sets it. A contact's own number
        # and opt-in are its own (PATCH /me/alerts/settings).
        raise Forbidden("El teléfono y las alertas de WhatsApp de la cuenta son del titular. Los suyos se "
                        "cambian en /me/alerts/settings.", code="holder_only_field",
                        field=next(f for f in ("phone", "whatsapp_opt_in") if f in sent))
    for field in ("name", "company", "tax_id", "country"):
        if field in sent:
            setattr(client, field, sent[field])
    opt_in = sent.get("whatsapp_opt_in", client.whatsapp_opt_in)
    phone_raw = sent.get("phone", client.phone)
    client.phone = phone_for_alerts(phone_raw, opt_in)
    client.whatsapp_opt_in = opt_in
    now = clock.now()
    client.updated_at = to_storage(now)
    event = new_event(
        EventType.CLIENT_UPDATED,
        client_id=client_id,
        payload={"client_id": client_id, "fields": sorted(sent), "by": identity.subject},
        occurred_at=now,
    )
    save_change([client], [event])
    return client


def add_contact(
    accounts: Accounts, services: Services, postman: "invitations.Postman", clock: Clock, identity: Identity,
    data: AddContact,
) -> Contact:
    """The contact, invited: its items and its Invitation in one transaction, then the email with the token
    (accounts.invitations). It signs in once it accepts; until then no token can name it."""
    client_id = _holder_account(identity)
    now = clock.now()
    contact_id = new_id()
    contact = Contact(
        *Contact.key(client_id, contact_id),
        client_id=client_id,
        contact_id=contact_id,
        email=data.email,
        name=data.name,
        phone=phone_for_alerts(data.phone, data.whatsapp_opt_in),
        whatsapp_opt_in=data.whatsapp_opt_in,
        permissions=sorted({p.value for p in data.permissions}),
        scoped=data.service_ids is not None, service_ids=_scope(services, client_id, data.service_ids),
        created_at=to_storage(now),
    )
    event = new_event(
        EventType.CONTACT_ADDED,
        client_id=client_id,
        payload={"client_id": client_id, "contact_id": contact_id, "permissions": contact.permissions,
                 "status": "invited"},
        occurred_at=now,
    )
    token, invitation = invitations.invite(contact, now)
    with UnitOfWork() as uow:
        invitations.count_invitation(uow, client_id, now)
        memberships.stage_invited(accounts, uow, contact, now)  # its marker, or the login it links
        uow.create(invitation)
        uow.emit([event])
    invitations.send(postman, accounts.get_client(client_id), contact, token)
    return contact


def resend_invitation(accounts: Accounts, postman: "invitations.Postman", clock: Clock, identity: Identity,
                      contact_id: str) -> Contact:
    """A new token for a contact still invited (the one before stops working): lost, expired, or never sent."""
    client_id = _holder_account(identity)
    contact = _existing_contact(accounts, client_id, contact_id)
    if contact.status != "invited":
        raise Conflict("Ese contacto ya aceptó la invitación: entra con su email y su clave.",
                       code="contact_already_active")
    previous = contact.invitation_key
    now = clock.now()
    token, invitation = invitations.invite(contact, now)
    with UnitOfWork() as uow:
        invitations.count_invitation(uow, client_id, now)
        uow.save(contact)  # version-checked: of two requests at once, one token stands
        if previous:
            uow.delete(Invitation(*Invitation.key(previous)))
        uow.create(invitation)
    invitations.send(postman, accounts.get_client(client_id), contact, token)
    return contact


def list_contacts(accounts: Accounts, identity: Identity) -> list[ContactOut]:
    client_id = _holder_account(identity)
    return [contact_out(c) for c in accounts.list_contacts(client_id)]


def update_contact(
    accounts: Accounts, services: Services, clock: Clock, identity: Identity, contact_id: str, changes: UpdateContact
) -> Contact:
    client_id = _holder_account(identity)
    contact = _existing_contact(accounts, client_id, contact_id)
    sent = changes.model_dump(exclude_unset=True)
    if not sent:
        raise InvalidInput("No envió ningún dato para modificar.", code="empty_update")
    if "name" in sent:
        contact.name = sent["name"]
    if "permissions" in sent:
        contact.permissions = sorted({Permission(p).value for p in sent["permissions"]})
    if "service_ids" in sent:
        contact.scoped = sent["service_ids"] is not None  # null lifts the limit; [] is a scope of no service
        contact.service_ids = _scope(services, client_id, sent["service_ids"])
    opt_in = sent.get("whatsapp_opt_in", contact.whatsapp_opt_in)
    contact.phone = phone_for_alerts(sent.get("phone", contact.phone), opt_in)
    contact.whatsapp_opt_in = opt_in
    now = clock.now()
    event = new_event(
        EventType.CONTACT_UPDATED,
        client_id=client_id,
        payload={"client_id": client_id, "contact_id": contact_id, "fields": sorted(sent),
                 "permissions": contact.permissions},
        occurred_at=now,
    )
    save_change([contact], [event])
    return contact


def remove_contact(
    accounts: Accounts, logins: CognitoLogins, clock: Clock, identity: Identity, contact_id: str
) -> None:
    """Revoke a contact: its rights end at once (every request reads them); its login is deleted, unless it is
    another account's or the person is a contact elsewhere too (accounts.memberships.stage_removal)."""
    client_id = _holder_account(identity)
    contact = _existing_contact(accounts, client_id, contact_id)
    event = new_event(
        EventType.CONTACT_REMOVED,
        client_id=client_id,
        payload={"client_id": client_id, "contact_id": contact_id},
        occurred_at=clock.now(),
    )
    login_after = None

    def stage(uow: UnitOfWork) -> None:
        nonlocal login_after
        uow.delete(contact)
        login_after = memberships.stage_removal(accounts, uow, contact)
        if contact.invitation_key:  # still invited: the invitation is revoked with it
            uow.delete(Invitation(*Invitation.key(contact.invitation_key)))

    _write(stage, event)
    # After the commit: a login left behind by a failure here has no contact and is refused anyway. Invited too:
    # an accept whose cleanup failed may have left one.
    if login_after is not None:
        try:
            login_after(logins)
        except Exception:  # the table is right; the token's claims catch up on the next attempt or sign-in
            logger.exception("login not updated after removing a contact", extra={"contact_id": contact_id})


def _scope(services: Services, client_id: str, service_ids: list[str] | None) -> list[str] | None:
    """The services a contact's rights are limited to, each one of the account's (else 422 naming it)."""
    if not service_ids:
        return None
    wanted = sorted(set(service_ids))
    found = {s.service_id for s in services.get_services(wanted) if s.client_id == client_id}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"Estos servicios no son de su cuenta: {', '.join(missing)}.",
                           code="service_not_in_account", field="service_ids")
    return wanted


def _write(stage: Callable[[UnitOfWork], None], event) -> None:
    with UnitOfWork() as uow:
        stage(uow)
        uow.emit([event])


def _holder_account(identity: Identity) -> str:
    client_id = require_account(identity)
    if identity.role is not Role.HOLDER:
        # A contact managing contacts could grant itself rights it was not given.
        raise Forbidden("Solo el titular de la cuenta puede administrar sus contactos.", code="holder_only")
    return client_id


def _existing_contact(accounts: Accounts, client_id: str, contact_id: str) -> Contact:
    contact = accounts.get_contact(client_id, contact_id) if is_valid_id(contact_id) else None
    if contact is None:
        raise not_found()
    return contact


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        email=client.email,
        name=client.name,
        company=client.company,
        tax_id=client.tax_id,
        country=client.country,
        phone=client.phone,
        whatsapp_opt_in=client.whatsapp_opt_in,
        support_plan=client.support_plan,
        account_executive=client.account_executive,
        credit=[MoneyOut.of(Money(amount, Currency(currency)))
                for currency, amount in sorted((client.credit.as_dict() if client.credit else {}).items())
                if amount],  # a negative balance is shown too: the client owes it
        created_at=from_storage(client.created_at),
    )


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        contact_id=contact.contact_id,
        email=contact.email,
        name=contact.name,
        phone=contact.phone,
        whatsapp_opt_in=contact.whatsapp_opt_in,
        permissions=[Permission(p) for p in contact.permissions],
        service_ids=list(contact.service_ids or []) if contact.scoped else None,
        status=contact.status,
        invitation_expires_at=from_storage(contact.invitation_expires_at) if contact.invitation_expires_at else None,
        created_at=from_storage(contact.created_at),
    )
