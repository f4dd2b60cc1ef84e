"""Who a phone number is (a WhatsApp message names only its number): the tickets capability's own directory,
kept by reacting to the accounts' events on TicketsQueue — a client registered or updated, a contact added,
updated or removed (their WhatsApp settings included) — rather than by the accounts code knowing about it.
Each event makes the person's entry match what the table holds now, so events that come late, twice or out
of order still end in the right entry. A few seconds behind a change, which a chat can afford."""

from shared.dal.accounts import Client, Contact
from shared.dal.table import batch_get
from shared.dal.tickets import PersonPhone, PhoneEntry, Tickets
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType
from shared.ids import is_valid_id

PERSON_EVENTS = (EventType.CLIENT_REGISTERED, EventType.CLIENT_UPDATED, EventType.CONTACT_ADDED,
                 EventType.CONTACT_UPDATED, EventType.CONTACT_REMOVED)


def current_phone(client_id: str, contact_id: str | None) -> str | None:
    key = Contact.key(client_id, contact_id) if contact_id else Client.key(client_id)
    person = batch_get([key], consistent=True).get(key)
    return person.phone if isinstance(person, Client | Contact) and person.phone else None


def reconcile(tickets: Tickets, client_id: str, contact_id: str | None) -> str:
    """The person's entry made to match their phone now: "added", "moved", "removed" or "same"."""
    phone = current_phone(client_id, contact_id)
    known = tickets.phone_of_person(client_id, contact_id)
    if (known.phone if known else None) == phone:
        return "same"
    uow = UnitOfWork()
    if known is not None:
        uow.delete(PhoneEntry(*PhoneEntry.key(known.phone, client_id, contact_id)))
    if phone is None:
        uow.delete(known)
    else:
        uow.save(PhoneEntry(*PhoneEntry.key(phone, client_id, contact_id), phone=phone, client_id=client_id,
                            contact_id=contact_id))
        record = known or PersonPhone(*PersonPhone.key(client_id, contact_id))
        record.phone = phone
        uow.save(record)  # version-checked: two events of one person at once, one wins and the other retries
    uow.commit()
    return "removed" if phone is None else "moved" if known else "added"


def react(tickets: Tickets, envelope: dict) -> str:
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    client_id = str(payload.get("client_id") or envelope.get("client_id") or "")
    contact_id = payload.get("contact_id")
    if not is_valid_id(client_id) or (contact_id is not None and not is_valid_id(str(contact_id))):
        return "ignored"
    return f"phonebook:{reconcile(tickets, client_id, contact_id)}"
