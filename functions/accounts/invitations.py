"""Secondary contacts by invitation (docs/accounts.md): adding a contact invites it. A one-time token (32 random
bytes) goes by email to the contact's address — the only place it exists: the table keeps its sha256 — and is
valid 7 days, once; the holder revokes it by removing the contact, or replaces it by sending it again. Accepting
it with a password creates the contact's login, with the account's ids set by the backend. An address that
already signs in to Paneldecliente is linked instead (accounts.memberships): that login accepts, signed in, and
acts on both accounts.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared import snapstart
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, Contact, Invitation, Membership
from shared.dal.mail import SentEmails
from shared.dal.rate_limits import RateWindows
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, NotFound, TooManyAttempts
from shared.events import EventType, new_event
from shared.logins import CognitoLogins, LoginExists

if TYPE_CHECKING:
    from shared import outbound_email

# Imported by the requests that send an email (an invitation, an email change), not at init: the stdlib email
# package they build on is ~25 ms of a cold start that GET /me and the contacts list do not need. With SnapStart,
# imported before the snapshot.
snapstart.prime("shared.outbound_email", "shared.email_delivery")

logger = Logger(child=True)
LIFETIME = timedelta(days=7)
# Each invitation is an email to an address the holder typed: a few an hour are plenty for a real team, and the
# limit keeps an account from using us to send mail to strangers.
INVITATIONS_PER_HOUR = 20


class TooManyInvitations(TooManyAttempts):
    code = "too_many_invitations"
    message = "Envió muchas invitaciones en la última hora. Espere un rato para enviar más."


class InvitationNotValid(NotFound):
    code = "invitation_not_valid"
    message = ("La invitación no es válida, ya se usó o venció. Pida al titular de la cuenta que se la envíe de "
               "nuevo.")


class EmailHasLogin(Conflict):
    code = "email_has_login"
    message = ("Ese email ya tiene un acceso a Paneldecliente: inicie sesión con él, o pida al titular que lo "
               "invite con otro email.")


@dataclass
class Postman:
    """What sending an invitation needs: SES, the sent-email records, who it comes from, the panel's address."""

    sesv2: Any
    sent: SentEmails
    clock: Clock
    sender: str  # "Paneldecliente <avisos@…>"
    panel_url: str
    configuration_set: str | None = None


def deliver(postman: Postman, mail: "outbound_email.Mail", to: str, cause: str, client_id: str) -> str | None:
    """One email of the accounts' own (an invitation, an email change's code or notice), once per cause and
    address (shared.email_delivery)."""
    from shared import email_delivery, outbound_email

    email = outbound_email.OutgoingEmail(sender=postman.sender, to=(to,), subject=mail.subject, text=mail.text,
                                         html=mail.html)
    courier = email_delivery.Courier(postman.sent, postman.sesv2, postman.clock, postman.configuration_set)
    return email_delivery.send_once(courier, email, event_id=cause, kind=mail.kind, client_id=client_id,
                                    message_id=outbound_email.recipient_message_id(cause, to),
                                    message_id_domain=outbound_email.parse_address("From", postman.sender).domain)


def count_invitation(uow: UnitOfWork, client_id: str, now: datetime) -> None:
    """One more invitation of the account this hour, counted in the change that makes it (else 429)."""
    if not RateWindows().take(uow, "invitation", client_id, now, INVITATIONS_PER_HOUR):
        raise TooManyInvitations()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def invite(contact: Contact, now: datetime) -> tuple[str, Invitation]:
    """A new token for the contact (the contact records which one is pending)."""
    token = secrets.token_urlsafe(32)
    key = token_hash(token)
    valid_until = to_storage(now + LIFETIME)
    contact.status, contact.invitation_key, contact.invitation_expires_at = "invited", key, valid_until
    invitation = Invitation(*Invitation.key(key), client_id=contact.client_id, contact_id=contact.contact_id,
                            email=contact.email, valid_until=valid_until, expires_at=now + LIFETIME + timedelta(days=1))
    return token, invitation


def send(postman: Postman, client: Client, contact: Contact, token: str) -> str | None:
    """The invitation's email (once per token). Not sent (SES out of reach): logged, and the holder sends it again
    from the panel — the contact is written either way."""
    from shared import outbound_email

    link = f"{postman.panel_url.rstrip('/')}/invitacion?token={token}"
    how = ("Usted ya entra a Paneldecliente con este email: para aceptar, abra el enlace e inicie sesión con su clave "
           "de siempre; verá esta cuenta junto a las suyas." if contact.linked else
           "Para aceptar, elija su clave en el enlace.")
    mail = outbound_email.Mail(
        kind="contact_invitation", subject=f"{client.name} lo invita a Paneldecliente",
        paragraphs=(f"Hola {contact.name}: {client.name} lo agregó como contacto de su cuenta de Paneldecliente, "
                    "donde se gestionan sus servicios de hosting, facturas y soporte.",
                    f"{how} Vence en 7 días y sirve una sola vez; si no esperaba esta invitación, ignórela."),
        link=("Aceptar la invitación", link))
    try:
        return deliver(postman, mail, contact.email, f"invitation-{contact.invitation_key[:32]}", client.client_id)
    except outbound_email.TransientEmailFailure:
        logger.warning("invitation not sent", extra={"client_id": client.client_id, "contact_id": contact.contact_id})
        return None


def pending(accounts: Accounts, token: str, now: datetime) -> tuple[Invitation, Contact]:
    """The invitation of ``token`` and its contact, while it may still be accepted; else InvitationNotValid."""
    key = token_hash(token)
    invitation = accounts.invitation(key)
    contact = accounts.get_contact(invitation.client_id, invitation.contact_id) if invitation else None
    if invitation is None or contact is None or contact.status != "invited" or contact.invitation_key != key \
            or from_storage(invitation.valid_until) <= now:
        raise InvitationNotValid()
    return invitation, contact


def accept(accounts: Accounts, logins: CognitoLogins, clock: Clock, token: str, password: str) -> Contact:
    """The contact's login, with the password it chose; the invitation is used up (single use). An address that
    already signs in accepts signed in instead (accounts.memberships.accept_signed_in)."""
    from accounts.memberships import SignInToAccept, claim_email

    now = clock.now()
    invitation, contact = pending(accounts, token, now)
    linked = contact.linked
    if linked and logins.exists(contact.email):
        raise SignInToAccept()
    # Linked, but to an address nobody signs in with (another invitation of it was never accepted): it becomes this
    # contact's login, as if the address had been free.
    try:
        logins.create(contact.email, client_id=contact.client_id, contact_id=contact.contact_id, password=password,
                      email_verified=True)
    except LoginExists:
        raise (SignInToAccept() if linked else EmailHasLogin()) from None
    uow = accepting(contact, invitation, now)  # removed or invited again at this instant: the login is taken back
    try:
        if linked:
            contact.linked = False
            uow.delete(Membership(*Membership.key(contact.email, contact.client_id)))
            claim_email(accounts, uow, contact.email, contact.client_id, contact.contact_id, now, proven=True)
        uow.commit()
    except Exception:
        logins.delete_quietly(contact.email)
        raise
    return contact


def accepting(contact: Contact, invitation: Invitation, now: datetime) -> UnitOfWork:
    """The change an acceptance commits: the contact active (version-checked), the invitation used up, the event."""
    contact.status, contact.invitation_key, contact.invitation_expires_at = "active", None, None
    uow = UnitOfWork()
    uow.save(contact)
    uow.delete(invitation)
    uow.emit([new_event(EventType.CONTACT_UPDATED, client_id=contact.client_id, occurred_at=now, payload={
        "client_id": contact.client_id, "contact_id": contact.contact_id, "fields": ["status"],
        "permissions": list(contact.permissions or [])})])
    return uow
