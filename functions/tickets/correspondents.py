"""Who an email address is in our data: a client's holder, one of its contacts, or nobody (a guest).

Used both ways: an email received is filed by who sent it, and a ticket's email copy goes to its requester
only while that address may still see the ticket's account's tickets."""

from dataclasses import dataclass, field

from shared.auth import Permission
from shared.dal.accounts import Accounts, Client, Contact, EmailMarker
from shared.dal.table import batch_get


@dataclass
class Sender:
    """Who an email's From is in our data (EmailMarker): a client's holder, a contact, or nobody — and the contact
    it is of other accounts, when its login acts on several (accounts.memberships)."""

    address: str
    client: Client | None = None
    contact: Contact | None = None
    elsewhere: dict[str, Contact] = field(default_factory=dict)  # client_id -> its contact there

    @property
    def client_id(self) -> str | None:
        return self.client.client_id if self.client else None

    def may_see_tickets_of(self, client_id: str | None) -> bool:
        if client_id is not None and client_id in self.elsewhere:
            return Permission.TICKETS.value in (self.elsewhere[client_id].permissions or [])
        if client_id is None or self.client is None or self.client.client_id != client_id:
            return False
        return self.contact is None or Permission.TICKETS.value in (self.contact.permissions or [])

    @property
    def role(self) -> str:
        return "contact" if self.contact else "holder" if self.client else "guest"


def who_is(address: str) -> Sender:
    if not address:
        return Sender(address)
    marker, memberships = Accounts().login_of(address)
    if not isinstance(marker, EmailMarker):
        return Sender(address)
    accepted = [m for m in memberships if m.login_sub]  # a pending one is nobody's yet
    keys = [Client.key(marker.client_id)] + ([Contact.key(marker.client_id, marker.contact_id)]
                                             if marker.contact_id else [])
    items = batch_get(keys + [Contact.key(m.client_id, m.contact_id) for m in accepted])
    elsewhere = {m.client_id: c for m in accepted if isinstance(c := items.get(Contact.key(m.client_id, m.contact_id)),
                                                                 Contact) and c.status == "active"}
    client = items.get(Client.key(marker.client_id))
    contact = items.get(Contact.key(marker.client_id, marker.contact_id)) if marker.contact_id else None
    if not isinstance(client, Client) or (marker.contact_id and not isinstance(contact, Contact)) or (
            isinstance(contact, Contact) and contact.status != "active"):
        # nobody's yet: an invited contact has not shown the address is theirs (a removed home's heir: elsewhere)
        return Sender(address, elsewhere=elsewhere)
    return Sender(address, client, contact, elsewhere)
