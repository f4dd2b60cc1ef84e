"""Accounts: clients, their secondary contacts, the login-email markers that keep both unique, and the memberships
that let one login act on several accounts (docs/accounts.md)."""

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.auth import Grant
from shared.dal.table import IntegerAttribute, TableItem, batch_get, find_item, get_by_id, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.ids import is_valid_id


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Ya existe una cuenta con ese email. Inicie sesión o recupere su clave."


class EmailMarker(TableItem, discriminator="EmailMarker"):
    """Claims a login email (clients and contacts share one namespace: both sign in with it)."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    # Every change that decides from a login's marker and memberships (inviting it, accepting, removing its contact,
    # moving its email) writes or deletes the marker at the version it read: two such changes at once cannot both
    # stand on what the other changed (accounts.memberships).
    version = VersionAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"EMAIL#{email}", "EMAIL"


class Membership(TableItem, discriminator="Membership"):
    """One more account a login acts on, as a contact (WHMCS 8's "one user, several accounts"): the login's own
    account is its home (the token's ``custom:client_id``); every other one is a Membership, kept beside the
    email's marker (one Query reads a login's marker and all its memberships). Written when the holder invites an
    address that already signs in (``login_sub`` empty: nobody may act on it yet), completed when that login,
    signed in, accepts (``login_sub`` set: only that login may act through it)."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    login_sub = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    @staticmethod
    def key(email: str, client_id: str) -> tuple[str, str]:
        return f"EMAIL#{email}", f"MEMBER#{client_id}"


class Client(TableItem, discriminator="Client"):
    client_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    tax_id = UnicodeAttribute(null=True)
    country = UnicodeAttribute(default="AR")
    phone = UnicodeAttribute(null=True)
    whatsapp_opt_in = BooleanAttribute(default=False)
    alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # WhatsApp: kind -> on/off (absent: on)
    email_alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # email: kind -> on/off (absent: on)
    support_plan = UnicodeAttribute(default="standard")
    account_executive = UnicodeAttribute(null=True)
    # A contract that has SLA 4 (web design, software) answered outside business hours too.
    contract_around_the_clock = BooleanAttribute(default=False)
    credit = MapAttribute(of=IntegerAttribute, default=dict)  # currency -> minor units
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", "CLIENT"

    def credit_in(self, currency: str) -> int:
        return (self.credit.as_dict() if self.credit else {}).get(currency, 0)

    def adjust_credit(self, currency: str, delta: int) -> None:
        """The credit balance (minor units per currency) changes by ``delta``."""
        credit = self.credit.as_dict() if self.credit else {}
        credit[currency] = credit.get(currency, 0) + delta
        self.credit = credit


class Contact(TableItem, discriminator="Contact"):
    """A secondary contact of a client account, with the rights the holder chose."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    whatsapp_opt_in = BooleanAttribute(default=False)
    permissions = ListAttribute(of=UnicodeAttribute, default=list)
    # invited: the holder added it and it has no login yet (its invitation, an Invitation item, waits to be
    # accepted); active: it signs in. No token can carry an invited contact's id: it has no login.
    status = UnicodeAttribute(default="active")
    invitation_key = UnicodeAttribute(null=True)  # the pending Invitation's key (sha256 of its token)
    # Its person already signed in to Paneldecliente when invited (another account's login): it gets no login nor
    # marker of its own; a Membership binds that login to this account once, signed in, it accepts.
    linked = BooleanAttribute(default=False)
    invitation_expires_at = UnicodeAttribute(null=True)
    # Whether its rights are limited to service_ids (which may become empty: a scoped contact whose last service
    # changed holder sees none, never all); unscoped: every service of the account.
    scoped = BooleanAttribute(default=False)
    service_ids = ListAttribute(of=UnicodeAttribute, null=True)
    alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # WhatsApp: kind -> on/off (absent: on)
    email_alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # email: kind -> on/off (absent: on)
    created_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", f"CONTACT#{contact_id}"

    def grant(self) -> Grant:
        return Grant.of(self.permissions or [], (self.service_ids or []) if self.scoped else None)


class Invitation(TableItem, discriminator="Invitation"):
    """A contact's invitation, by the sha256 of its one-time token (the token itself is only in the email): single
    use (deleted when accepted, revoked or replaced), valid 7 days (and then gone: TTL)."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    email = UnicodeAttribute()
    valid_until = UnicodeAttribute()

    @staticmethod
    def key(token_hash: str) -> tuple[str, str]:
        return f"INVITATION#{token_hash}", "INVITATION"


class EmailChange(TableItem, discriminator="EmailChange"):
    """A person's pending change of login email: the new address and the sha256 of the code sent to it (salted
    with ``change_id``), 15 minutes, 5 tries. One per person: a new request replaces it."""

    change_id = UnicodeAttribute()
    new_email = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    tries = IntegerAttribute(default=0)
    valid_until = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str | None) -> tuple[str, str]:
        return f"CLIENT#{client_id}", f"EMAILCHANGE#{contact_id or 'holder'}"


class PasswordAttempts(TableItem, discriminator="PasswordAttempts"):
    """Failed confirmations of a login's password (cancelling or transferring a service, changing the email ask
    for it), counted against brute force: too many in a window lock that login's confirmations for a while — the
    holder's and each contact's apart, so a contact cannot lock the holder out. Expires with its window."""

    client_id = UnicodeAttribute()
    failures = IntegerAttribute(default=0)
    window_started_at = UnicodeAttribute()
    locked_until = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str | None = None) -> tuple[str, str]:
        return f"CLIENT#{client_id}", f"PASSWORD_ATTEMPTS#{contact_id}" if contact_id else "PASSWORD_ATTEMPTS"


class Accounts:
    """Reads and writes of the accounts context."""

    def password_attempts(self, client_id: str, contact_id: str | None = None) -> PasswordAttempts | None:
        try:
            return PasswordAttempts.get(*PasswordAttempts.key(client_id, contact_id), consistent_read=True)
        except DoesNotExist:
            return None

    def email_change(self, client_id: str, contact_id: str | None) -> EmailChange | None:
        return find_item(EmailChange, EmailChange.key(client_id, contact_id))

    def invitation(self, token_hash: str) -> Invitation | None:
        return find_item(Invitation, Invitation.key(token_hash))

    def login_of(self, email: str) -> tuple[EmailMarker | None, list[Membership]]:
        """Who signs in with ``email``: its marker (the login's home account) and its memberships of other
        accounts, in one Query of the email's partition (consistent: invitations decide by it)."""
        items = list(TableItem.query(EmailMarker.key(email)[0], consistent_read=True))
        marker = next((i for i in items if isinstance(i, EmailMarker)), None)
        return marker, [i for i in items if isinstance(i, Membership)]

    def membership(self, email: str, client_id: str) -> Membership | None:
        """The login's membership of account ``client_id`` (X-Account-Id), read per request."""
        if not email or not is_valid_id(client_id):
            return None
        try:  # consistent: a request right after accepting finds it
            return Membership.get(*Membership.key(email, client_id), consistent_read=True)
        except DoesNotExist:
            return None

    def get_client(self, client_id: str) -> Client:
        return get_by_id(Client, client_id)

    def get_contact(self, client_id: str, contact_id: str) -> Contact | None:
        if not is_valid_id(client_id) or not is_valid_id(contact_id):
            return None
        try:
            return Contact.get(*Contact.key(client_id, contact_id))
        except DoesNotExist:
            return None

    def contact_permissions(self, client_id: str, contact_id: str) -> Grant | None:
        """What shared.auth.authorize asks for a contact: its current rights and scope, or None if removed."""
        contact = self.get_contact(client_id, contact_id)
        return None if contact is None else contact.grant()

    def list_contacts(self, client_id: str, consistent: bool = False) -> list[Contact]:
        pk, _ = Client.key(client_id)
        return list(Contact.query(pk, Contact.sk.startswith("CONTACT#"), consistent_read=consistent))

    def account_people(self, client_id: str) -> tuple[Client | None, list[Contact]]:
        """A client and its contacts: one Query of the client's partition."""
        if not is_valid_id(client_id):
            return None, []
        items = list(TableItem.query(Client.key(client_id)[0]))
        client = next((i for i in items if isinstance(i, Client)), None)
        return client, [i for i in items if isinstance(i, Contact)]

    def with_rights(self, model: type[TableItem], item_id: str, client_id: str | None, contact_id: str | None
                    ) -> tuple[TableItem, "ContactRights"]:
        """An aggregate by id together with a calling contact's own item, in one BatchGetItem: what a route
        reads and the caller's current rights in one round trip. The one NotFound when it is absent."""
        key = model.key(item_id) if isinstance(item_id, str) and is_valid_id(item_id) else None
        contact_key = Contact.key(client_id, contact_id) if client_id and contact_id else None
        found = batch_get([k for k in (key, contact_key) if k])
        item, contact = found.get(key), found.get(contact_key)
        if not isinstance(item, model):
            raise not_found()
        return item, ContactRights(contact if isinstance(contact, Contact) else None)

    # --- writes (through the caller's unit of work) ---------------------------------------------

    def add_client(self, uow: UnitOfWork, client: Client) -> None:
        uow.save(EmailMarker(*EmailMarker.key(client.email), client_id=client.client_id),
                 condition=EmailMarker.pk.does_not_exist(), error=EmailTaken())
        uow.create(client, error=EmailTaken())

    def add_contact(self, uow: UnitOfWork, contact: Contact) -> None:
        uow.save(EmailMarker(*EmailMarker.key(contact.email), client_id=contact.client_id,
                             contact_id=contact.contact_id),
                 condition=EmailMarker.pk.does_not_exist(), error=EmailTaken())
        uow.check(Client, *Client.key(contact.client_id), Client.pk.exists(), error=not_found())
        uow.create(contact, error=EmailTaken())



class ContactRights:
    """A contact's rights as read with the item it asks for (a ``ContactPermissionsLoader`` for
    shared.auth.authorize that costs no further read)."""

    def __init__(self, contact: Contact | None):
        self._contact = contact

    @property
    def contact(self) -> Contact | None:
        """The calling contact's item as read (its name, for an audit record)."""
        return self._contact

    def __call__(self, client_id: str, contact_id: str) -> Grant | None:
        contact = self._contact
        if contact is None or (contact.client_id, contact.contact_id) != (client_id, contact_id):
            return None
        return contact.grant()
