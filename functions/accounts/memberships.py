"""One login, several accounts (docs/accounts.md), as WHMCS 8 has it: a person may be the contact of several accounts
and the holder of at most one, with one email and one password.

A login's home is the account it was created for (the token's ``custom:client_id``). Inviting an address that
already signs in links that login instead of refusing the address: the contact gets no login nor marker of its own,
and a Membership (beside the email's marker) waits for that login to accept, signed in — the token's sub is then
written into it, and only that login may act through it. Each request names the account it acts on with
``X-Account-Id`` (shared.auth.acting_on); ``GET /me/accounts`` lists them.
"""

from collections.abc import Callable

from accounts.schemas import AccountOut

from shared.auth import Identity, Permission, Role, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, Contact, EmailMarker, EmailTaken, Membership
from shared.dal.table import batch_get
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, Forbidden
from shared.logins import CognitoLogins


class AlreadyInAccount(Conflict):
    code = "already_in_account"
    message = "Ese email ya es del titular o de un contacto de esta cuenta."


class SignInToAccept(Conflict):
    code = "sign_in_to_accept"
    message = ("Ese email ya tiene acceso a Paneldecliente: inicie sesión con él y acepte la invitación desde el "
               "panel. Verá esta cuenta junto a las suyas.")


class AcceptWithPassword(Conflict):
    code = "accept_with_password"
    message = "Esta invitación crea un acceso nuevo: acéptela eligiendo su clave, sin iniciar sesión."


class InvitationForAnotherEmail(Forbidden):
    code = "invitation_for_another_email"
    message = "La invitación es para otro email: inicie sesión con el email al que llegó."


# A login's memberships move with its email in one transaction (3 writes each: accounts.email_change): a bound that
# keeps it far below DynamoDB's 100 items, and far above any real person's accounts.
MAX_MEMBERSHIPS = 20


class TooManyAccounts(Conflict):
    code = "too_many_accounts"
    message = "Esa persona ya es contacto de demasiadas cuentas: pídale que deje alguna antes de invitarla."


def stage_invited(accounts: Accounts, uow: UnitOfWork, contact: Contact, now) -> None:
    """The invited contact's items. An address that signs in nowhere gets its own marker (its login is made when
    it accepts); one that already signs in — another account's holder or contact — gets a pending Membership
    instead (``contact.linked``), and keeps its one login."""
    marker, memberships = accounts.login_of(contact.email)
    if marker is not None and (marker.client_id == contact.client_id
                               or any(m.client_id == contact.client_id for m in memberships)):
        raise AlreadyInAccount()
    if marker is None:
        accounts.add_contact(uow, contact)  # a login made for it on accepting: one login per email, claimed now
        return
    if len(memberships) >= MAX_MEMBERSHIPS:
        raise TooManyAccounts()
    contact.linked = True
    uow.save(marker, error=ConcurrentModification())  # at the version read: the login, as it was when we decided
    uow.check(Client, *Client.key(contact.client_id), Client.pk.exists(), error=ConcurrentModification())
    uow.create(contact)
    uow.create(Membership(*Membership.key(contact.email, contact.client_id), client_id=contact.client_id,
                          contact_id=contact.contact_id, created_at=to_storage(now)), error=AlreadyInAccount())


def claim_email(accounts: Accounts, uow: UnitOfWork, email: str, client_id: str, contact_id: str | None, now,
                *, proven: bool) -> None:
    """The address's marker, for the login being made now (a sign-up; a contact accepting with a password). An
    address held only by a contact still invited somewhere — nobody signs in with it yet — does not block forever the
    person who shows up with it: the marker becomes theirs, and that invitation waits, linked, for this login to
    accept it signed in. Only when it is ``proven`` theirs (an invitation's link reached them at it) or that
    invitation expired: a sign-up proves nothing, and must not take an address from a 7-day invitation of it."""
    marker, _ = accounts.login_of(email)
    if marker is None:
        uow.create(EmailMarker(*EmailMarker.key(email), client_id=client_id, contact_id=contact_id),
                   error=EmailTaken())
        return
    if (marker.client_id, marker.contact_id) == (client_id, contact_id):
        return  # the accepting contact's own claim, made when it was invited
    waiting = accounts.get_contact(marker.client_id, marker.contact_id) if marker.contact_id else None
    if waiting is None or waiting.status != "invited" or waiting.linked:
        raise EmailTaken()
    if not proven and waiting.invitation_expires_at and from_storage(waiting.invitation_expires_at) > now:
        raise EmailTaken()
    waiting.linked = True
    uow.save(waiting, error=EmailTaken())  # version-checked: accepted at this instant, the address is theirs
    uow.create(Membership(*Membership.key(email, waiting.client_id), client_id=waiting.client_id,
                          contact_id=waiting.contact_id, created_at=to_storage(now)), error=EmailTaken())
    marker.client_id, marker.contact_id = client_id, contact_id
    uow.save(marker, error=EmailTaken())


def accept_signed_in(accounts: Accounts, clock: Clock, identity: Identity, token: str) -> Contact:
    """An invitation to an address that already signs in, accepted by that login: its sub goes into the
    Membership (single use: the invitation is gone with the same transaction)."""
    from accounts import invitations

    require_account(identity)  # staff sign in to no client's account
    now = clock.now()
    invitation, contact = invitations.pending(accounts, token, now)
    if not contact.linked:
        raise AcceptWithPassword()
    if (identity.email or "").lower() != contact.email:
        raise InvitationForAnotherEmail()
    marker, memberships = accounts.login_of(contact.email)
    if marker is None:
        raise AcceptWithPassword()  # its login is gone (its last account removed it): a new one, with a password
    membership = next((m for m in memberships if m.client_id == contact.client_id), None)
    if membership is None or membership.contact_id != contact.contact_id or membership.login_sub:
        raise invitations.InvitationNotValid()
    membership.login_sub = identity.subject
    uow = invitations.accepting(contact, invitation, now)  # removed or invited again at this instant: nothing
    uow.save(membership, condition=Membership.login_sub.does_not_exist() & (
        Membership.contact_id == contact.contact_id), error=invitations.InvitationNotValid())
    uow.save(marker, error=ConcurrentModification())  # the login as read: not being removed at this instant
    uow.commit()
    return contact


def my_accounts(accounts: Accounts, identity: Identity, logins: CognitoLogins | None = None) -> list[AccountOut]:
    """The login's accounts: its own first, then those it accepted to be a contact of (a removed one is gone).

    A login whose home contact was removed while it is a contact elsewhere was re-homed after that removal
    (``stage_removal``); if Cognito missed it, its tokens still name the removed contact — repaired here, where a
    client area looks first after signing in: the account the marker names becomes the login's home again."""
    home, home_contact = require_account(identity), identity.contact_id
    marker, memberships = accounts.login_of((identity.email or "").lower()) if identity.email else (None, [])
    mine = [m for m in memberships if m.login_sub == identity.subject]
    if home_contact and marker is not None and (marker.client_id, marker.contact_id) != (home, home_contact) \
            and accounts.get_contact(home, home_contact) is None \
            and any((m.client_id, m.contact_id) == (marker.client_id, marker.contact_id) for m in mine):
        home, home_contact = marker.client_id, marker.contact_id
        if logins is not None:
            logins.rehome(marker.pk.removeprefix("EMAIL#"), home, home_contact)
    places = [(home, home_contact, True)] + [
        (m.client_id, m.contact_id, False) for m in mine if m.client_id != home]  # a re-homed login's own too
    keys = [Client.key(c) for c, _, _ in places] + [Contact.key(c, k) for c, k, _ in places if k]
    found = batch_get(keys)
    listed = []
    for client_id, contact_id, is_home in places:
        client = found.get(Client.key(client_id))
        contact = found.get(Contact.key(client_id, contact_id)) if contact_id else None
        if not isinstance(client, Client) or (contact_id and not isinstance(contact, Contact)):
            continue
        if contact is None:
            listed.append(AccountOut(client_id=client_id, name=client.name, role=Role.HOLDER.value,
                                     permissions=list(Permission), home=is_home))
            continue
        grant = contact.grant()
        listed.append(AccountOut(client_id=client_id, name=client.name, role=Role.CONTACT.value,
                                 contact_id=contact_id, permissions=sorted(Permission(p) for p in grant),
                                 service_ids=sorted(grant.services) if grant.services is not None else None,
                                 home=is_home))
    return listed


def stage_removal(accounts: Accounts, uow: UnitOfWork, contact: Contact
                  ) -> Callable[[CognitoLogins], None] | None:
    """What removing a contact does to its login, staged in the removal's unit of work; returns what to do in
    Cognito once it commits. A contact that linked another account's login leaves that login alone (only its
    membership goes). A contact that is its login's home: the login goes with it — unless the person is a contact
    elsewhere too, then the login stays and one of those accounts becomes its home (marker and token claims).
    The marker is written or deleted at the version read, so an acceptance, an invitation, another removal or an
    email change of this login at the same instant makes one of the two try again on what the other did."""
    marker, memberships = accounts.login_of(contact.email)
    for own in (m for m in memberships if m.client_id == contact.client_id):
        uow.delete(own)
    if marker is None:
        return None
    if (marker.client_id, marker.contact_id) != (contact.client_id, contact.contact_id):
        uow.save(marker, error=ConcurrentModification())  # the login is another account's: it stays, as read
        return None
    heirs = [m for m in memberships if m.login_sub and m.client_id != contact.client_id]
    if not heirs:
        uow.delete(marker, error=ConcurrentModification())
        return lambda logins: logins.delete_quietly(contact.email)
    heir = heirs[0]
    uow.check(Contact, *Contact.key(heir.client_id, heir.contact_id), Contact.pk.exists(),
              error=ConcurrentModification())  # being removed itself at this instant: we try again without it
    marker.client_id, marker.contact_id = heir.client_id, heir.contact_id
    uow.save(marker, error=ConcurrentModification())
    return lambda logins: logins.rehome(contact.email, heir.client_id, heir.contact_id)
