"""A person changes the email they sign in with (holder or contact, each their own; docs/accounts.md).

1. ``POST /me/email-change`` with the new address and the current password: a 6-digit code of ours goes to the
   new address (its sha256 kept, salted with the request's id; valid 15 minutes, 5 tries). Nothing depends on
   Cognito's own attribute verification, which moto does not implement.
2. ``POST /me/email-change/confirm`` with the code: the table first — the new address's marker claimed (must
   not exist: a sign-up or another change that got there first wins), the old one freed, the person's email
   changed, the request used up, one transaction — then the login's email in Cognito
   (AdminUpdateUserAttributes, verified). If Cognito refuses, the table is put back as it was. The old address
   is told. A login that is a contact of other accounts too changes there as well (its memberships move).
"""

import hashlib
import secrets
from datetime import timedelta

from accounts.invitations import Postman, deliver

from shared.auth import ContactRevoked, Identity, Role, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import (
    Accounts,
    Client,
    Contact,
    EmailChange,
    EmailMarker,
    EmailTaken,
    Membership,
    PasswordAttempts,
)
from shared.dal.rate_limits import RateWindows
from shared.dal.table import batch_get, save_one
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import (
    ConcurrentModification,
    Conflict,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooManyAttempts,
)
from shared.events import EventType, new_event
from shared.ids import id_at
from shared.password_check import PasswordCheck, confirm_password

LIFETIME = timedelta(minutes=15)
MAX_TRIES = 5
CODES_PER_HOUR = 5  # each is an email to the address typed: asking again and again sends no flood


class TooManyCodes(TooManyAttempts):
    code = "too_many_codes"
    message = "Pidió varios códigos en la última hora. Espere un rato o use el último que recibió."


class NoEmailChange(NotFound):
    code = "no_email_change"
    message = "No hay un cambio de email pendiente, o ya venció: pídalo de nuevo."


class WrongCode(InvalidInput):
    code = "wrong_code"


def _person(accounts: Accounts, identity: Identity) -> tuple[Client, Contact | None]:
    client_id = require_account(identity)
    keys = [Client.key(client_id)] + ([Contact.key(client_id, identity.contact_id)] if identity.contact_id else [])
    found = batch_get(keys, consistent=True)
    client = found.get(Client.key(client_id))
    contact = found.get(Contact.key(client_id, identity.contact_id)) if identity.contact_id else None
    if not isinstance(client, Client) or (identity.role is Role.CONTACT and not isinstance(contact, Contact)):
        raise ContactRevoked() if identity.role is Role.CONTACT else NotFound()
    return client, contact if isinstance(contact, Contact) else None


def _code_hash(change_id: str, code: str) -> str:
    return hashlib.sha256(f"{change_id}:{code}".encode()).hexdigest()


def request_change(accounts: Accounts, passwords: PasswordCheck, postman: Postman, clock: Clock, identity: Identity,
                   new_email: str, password: str) -> EmailChange:
    client, contact = _person(accounts, identity)
    current = (contact or client).email
    if new_email == current.lower():
        raise InvalidInput("Ese ya es su email.", code="same_email", field="new_email")
    if batch_get([EmailMarker.key(new_email)]).get(EmailMarker.key(new_email)) is not None:
        raise EmailTaken()  # checked again, for good, when the code is confirmed
    now = clock.now()
    person_id = contact.contact_id if contact else None
    attempts = batch_get([PasswordAttempts.key(client.client_id, person_id)], consistent=True).get(
        PasswordAttempts.key(client.client_id, person_id))  # this login's own count, not the account's
    attempts = confirm_password(accounts, passwords, client, attempts, password, now, login_email=current,
                                contact_id=person_id)
    code = f"{secrets.randbelow(10**6):06d}"
    change_id = id_at(now)
    change = EmailChange(*EmailChange.key(client.client_id, contact.contact_id if contact else None),
                         change_id=change_id, new_email=new_email, code_hash=_code_hash(change_id, code), tries=0,
                         valid_until=to_storage(now + LIFETIME), expires_at=now + LIFETIME + timedelta(hours=1))
    previous = accounts.email_change(client.client_id, contact.contact_id if contact else None)
    if previous is not None:
        change.version = previous.version  # a new request replaces the one before (its code stops working)
        if from_storage(previous.valid_until) > now:
            change.tries = previous.tries  # asking again does not buy more guesses
    uow = UnitOfWork()
    if not RateWindows().take(uow, "email-code", f"{client.client_id}:{person_id or 'holder'}", now, CODES_PER_HOUR):
        raise TooManyCodes()
    uow.save(change)
    if attempts is not None:
        uow.delete(attempts)
    uow.commit()
    _mail(postman, client, new_email, f"email-change-{change_id}", "Confirme su nuevo email en Paneldecliente", (
        f"Su código para confirmar el cambio de email de su acceso a Paneldecliente es {code}.",
        "Vence en 15 minutos. Si no pidió este cambio, ignore este mensaje: su email no cambia."))
    return change


def confirm_change(accounts: Accounts, logins, postman: Postman, clock: Clock, identity: Identity,
                   code: str) -> Client | Contact:
    client, contact = _person(accounts, identity)
    person = contact or client
    now = clock.now()
    for _ in range(5):  # the try is counted before the code is compared: parallel guesses each cost one
        change = accounts.email_change(client.client_id, contact.contact_id if contact else None)
        if change is None or from_storage(change.valid_until) <= now or change.tries >= MAX_TRIES:
            raise NoEmailChange()
        change.tries += 1
        try:
            save_one(change)
            break
        except ConcurrentModification:
            continue
    else:
        raise ConcurrentModification()
    if not secrets.compare_digest(change.code_hash, _code_hash(change.change_id, code.strip())):
        left = MAX_TRIES - change.tries
        raise WrongCode("El código no es correcto." + (f" Le quedan {left} intentos." if left else
                                                        " Pida el cambio de nuevo."), field="code")
    old = person.email
    person.email = change.new_email
    if isinstance(person, Client):
        person.updated_at = to_storage(now)
    uow = UnitOfWork()
    uow.save(person)
    _move_login(accounts, uow, old, change.new_email, person, client.client_id)
    uow.delete(change)
    uow.emit([new_event(EventType.CONTACT_UPDATED if contact else EventType.CLIENT_UPDATED, client_id=client.client_id,
                        occurred_at=now, payload={"client_id": client.client_id, "contact_id": person.contact_id
                                                  if contact else None, "fields": ["email"], "by": identity.subject})])
    uow.commit()
    try:
        logins.change_email(old, change.new_email)
    except Exception as error:
        if not isinstance(error, Conflict) and logins.exists(change.new_email):
            pass  # the answer was lost but Cognito applied it: the change stands
        else:
            _put_back(accounts, old, change.new_email, client, contact)
            if isinstance(error, Conflict):
                raise
            raise ServiceUnavailable() from error
    _mail(postman, client, old, f"email-changed-{change.change_id}", "Cambió el email de su acceso a Paneldecliente", (
        f"El email con que entra a Paneldecliente cambió a {_masked(change.new_email)}.",
        "Si no fue usted, respóndanos a este mensaje o escríbanos a soporte cuanto antes."), must_arrive=False)
    return person


def _put_back(accounts: Accounts, old: str, new: str, client: Client, contact: Contact | None) -> None:
    """Cognito refused the new email: the table as it was — the person's email (read again: anything else that
    changed meanwhile stays) and the old marker, claimed again only if nobody took the address meanwhile."""
    for _ in range(3):
        person = accounts.get_contact(client.client_id, contact.contact_id) if contact else \
            accounts.get_client(client.client_id)
        person.email = old
        uow = UnitOfWork()
        uow.save(person)
        _move_login(accounts, uow, new, old, person, client.client_id)
        try:
            uow.commit()
            return
        except ConcurrentModification:
            continue


class InvitedThereToo(Conflict):
    code = "invited_there_too"
    message = ("Ese email tiene una invitación pendiente de una cuenta de la que usted ya es contacto: pida a su "
               "titular que la quite, y vuelva a intentarlo.")


def _move_login(accounts: Accounts, uow: UnitOfWork, old: str, new: str, person: Client | Contact,
                client_id: str) -> None:
    """The login's marker moves to the new address (which must be free: a sign-up or another change that got there
    first wins), the old one deleted at the version read (an invitation or removal of this login at this instant
    makes one of us try again); its memberships of other accounts (kept under its email: accounts.memberships)
    follow, and so does its email as a contact there (their alerts and invoices go to it) — one transaction."""
    marker, memberships = accounts.login_of(old)
    uow.create(EmailMarker(*EmailMarker.key(new), client_id=client_id,
                           contact_id=person.contact_id if isinstance(person, Contact) else None), error=EmailTaken())
    if marker is not None:
        uow.delete(marker, error=ConcurrentModification())
    if not memberships:
        return
    _, waiting = accounts.login_of(new)  # invitations of the new address (it signs in nowhere yet): its own now
    if {m.client_id for m in waiting} & {m.client_id for m in memberships}:
        raise InvitedThereToo()
    keys = [Contact.key(m.client_id, m.contact_id) for m in memberships]
    contacts = batch_get(keys, consistent=True)
    for membership in memberships:
        uow.delete(membership)
        uow.create(Membership(*Membership.key(new, membership.client_id), client_id=membership.client_id,
                              contact_id=membership.contact_id, login_sub=membership.login_sub,
                              created_at=membership.created_at), error=ConcurrentModification())
        contact = contacts.get(Contact.key(membership.client_id, membership.contact_id))
        if isinstance(contact, Contact) and (contact.pk, contact.sk) != (person.pk, person.sk) \
                and contact.email == old:
            contact.email = new
            uow.save(contact)  # version-checked: a contact changed meanwhile makes the whole change try again


def _masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"


def _mail(postman: Postman, client: Client, to: str, cause: str, subject: str, paragraphs: tuple[str, ...],
          must_arrive: bool = True) -> None:
    from shared import outbound_email  # on first use: see accounts.invitations

    try:
        deliver(postman, outbound_email.Mail(kind="email_change", subject=subject, paragraphs=paragraphs), to, cause,
                client.client_id)
    except outbound_email.EmailFailure as error:
        if must_arrive and isinstance(error, outbound_email.PermanentEmailFailure):
            raise InvalidInput("No podemos enviar correo a esa dirección: revísela.", code="email_undeliverable",
                               field="new_email") from error
        if must_arrive:  # the code: without it nothing can be confirmed
            raise ServiceUnavailable("No pudimos enviar el email ahora: vuelva a intentarlo en unos minutos."
                                     ) from error
        # the notice of a change already made: the change stands
