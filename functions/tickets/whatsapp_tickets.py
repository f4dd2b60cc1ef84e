"""WhatsApp conversations become tickets, for the accounts whose support plan includes WhatsApp (shared.sla
PLAN_CHANNELS: Profesional and Full). A message (``whatsapp.message_received``, from the alerts capability's
webhook) is filed for the person the number belongs to (phonebook): into the phone's current ticket, or a
new ticket of that account. A number several people of the account share opens the ticket for staff to say
who it is (a staff note lists them). A number of no account, of several accounts, or of an account whose
plan has no WhatsApp is not filed: ``not_in_plan`` / ``unknown`` (the automatic answer with the link to a
ticket is the channel's next step, docs/email-channel.md).

Media (images, documents) are named in the message for now; their download to S3 is the next step too.
Each message is filed once: the thread keeps the last wamids it filed, written in the same transaction.
"""

from datetime import datetime

from tickets import outside_tickets
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender
from tickets.logic import Repositories, file_client_message
from tickets.plans import plan_in_force

from shared.clock import to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.table import batch_get
from shared.dal.tickets import PhoneEntry, Ticket, TicketNote, WhatsAppThread
from shared.ids import id_at
from shared.sla import includes

KEPT_IDS = 50
MEDIA_ES = {"image": "una imagen", "document": "un documento", "audio": "un audio", "video": "un video",
            "sticker": "un sticker"}


def phone_of(wa_id: str) -> str:
    """The E.164 number our accounts store: Argentine mobiles with their 9 (+54 9 …), whatever form came."""
    digits = "".join(ch for ch in str(wa_id) if ch.isdigit())
    if digits.startswith("54") and not digits.startswith("549"):
        digits = "549" + digits[2:]
    return "+" + digits


def _body(payload: dict) -> str:
    text = str(payload.get("text") or "").strip()
    kind = str(payload.get("type") or "text")
    if kind in MEDIA_ES:
        media = payload.get("media") or {}
        text = (text + "\n\n" if text else "") + (f"[El cliente envió {MEDIA_ES[kind]}"
                                                  f"{' (' + media['filename'] + ')' if media.get('filename') else ''}"
                                                  ": se ve en WhatsApp.]")
    return text or f"[Mensaje de WhatsApp de tipo {kind}.]"


def _people(entries: list[PhoneEntry]) -> tuple[dict, dict]:
    keys = {Client.key(e.client_id) for e in entries} | {Contact.key(e.client_id, e.contact_id) for e in entries
                                                          if e.contact_id}
    found = batch_get(keys)
    clients = {k: v for k, v in found.items() if isinstance(v, Client)}
    contacts = {k: v for k, v in found.items() if isinstance(v, Contact)}
    return clients, contacts


def file(repos: Repositories, policy: TicketPolicy, now: datetime, envelope: dict) -> str:
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    wamid, sender_id = str(payload.get("wa_message_id") or ""), str(payload.get("from") or "")
    if not wamid or not sender_id.isdigit():
        return "ignored"
    phone = phone_of(sender_id)
    thread = repos.tickets.whatsapp_thread(phone) or WhatsAppThread(*WhatsAppThread.key(phone), phone=phone)
    if wamid in (thread.filed or []):
        return "duplicate"
    entries = repos.tickets.people_with_phone(phone)
    accounts = sorted({e.client_id for e in entries})
    if not accounts:
        return "unknown"
    if len(accounts) > 1:
        return "several_accounts"  # no account is picked by guessing; staff see it in WhatsApp itself
    client_id = accounts[0]
    if not includes(plan_in_force(repos.services, client_id), "whatsapp"):
        return "not_in_plan"
    clients, contacts = _people(entries)
    client = clients.get(Client.key(client_id))
    if client is None:
        return "unknown"
    people = [contacts.get(Contact.key(client_id, e.contact_id)) if e.contact_id else client for e in entries]
    people = [p for p in people if p is not None]
    person = people[0] if len(people) == 1 else None
    contact = person if isinstance(person, Contact) else None
    if person is not None and not Sender(person.email, client, contact).may_see_tickets_of(client_id):
        return "not_allowed"  # a contact without the `tickets` right opens no ticket, by WhatsApp either
    name = payload.get("name") or (person.name if person else "") or phone
    author = f"whatsapp:{phone}"
    body = _body(payload)
    current = batch_get([Ticket.key(thread.ticket_id)]).get(Ticket.key(thread.ticket_id)) if thread.ticket_id else None
    if isinstance(current, Ticket) and current.client_id == client_id and not current.merged_into:
        ticket, _, uow = file_client_message(repos, policy, current, now, author=author, name=name,
                                             role="contact" if contact else "holder",
                                             contact_id=contact.contact_id if contact else None, body=body,
                                             channel="whatsapp")
        outcome = "filed" if ticket is current else "opened"
    else:
        sender = Sender(person.email if person else client.email, client, contact)
        arrival = outside_tickets.Arrival(sender=sender, trusted=True, subject=f"WhatsApp: {body}"[:200],
                                          body=body, channel="whatsapp", name=name, author=author)
        ticket, _, uow = outside_tickets.open_ticket(repos, policy, now, arrival, acknowledge=False)
        if person is None:  # a shared number: staff say who wrote
            listed = ", ".join(f"{p.name} ({'titular' if isinstance(p, Client) else 'contacto'})" for p in people)
            uow.create(_note(ticket.ticket_id, now, f"El número {phone} es de varias personas de la cuenta: "
                                                   f"{listed}. Confirme con quién habla antes de responder."))
        outcome = "opened"
    thread.ticket_id, thread.last_inbound_at = ticket.ticket_id, to_storage(now)
    thread.filed = [*(thread.filed or []), wamid][-KEPT_IDS:]
    uow.save(thread)  # version-checked: two messages of one phone at once are filed one after the other
    uow.commit()
    return outcome


def _note(ticket_id: str, now: datetime, text: str) -> TicketNote:
    note_id = id_at(now)
    return TicketNote(*TicketNote.key(ticket_id, note_id), ticket_id=ticket_id, note_id=note_id, author="system",
                      body=text, created_at=to_storage(now))


