"""WhatsApp conversations become tickets, for the accounts whose support plan includes WhatsApp (shared.sla
PLAN_CHANNELS: Profesional and Full). A message (``whatsapp.message_received``, from the alerts capability's
webhook) is filed for the person the number belongs to (phonebook): into the phone's current ticket, or a
new ticket of that account. A number several people of the account share opens the ticket for staff to say
who it is (a staff note lists them). A number of no account, of several accounts, or of an account whose
plan has no WhatsApp is not filed: ``not_in_plan`` / ``unknown`` / ``several_accounts``.

Media (images, documents, audio, video) are fetched from the Graph API (tickets.whatsapp_media) and kept as
the message's attachments when the panel takes their type and size; otherwise the message says so.
Each message is filed once: the thread keeps the last wamids it filed, written in the same transaction.

Answers go back by WhatsApp as ``whatsapp.reply_requested`` (the alerts capability sends it, once per what
it answers): staff's reply while the person's last message is less than 24 hours old (the Cloud API's
customer-service window); later, the approved ``ticket_respondido`` template (once: not when the person's own
ticket alert already goes to that number, nor when they turned ticket alerts off; it waits out the quiet hours),
besides the email copy — only to people who may still read the account's tickets,
and, once a day, an automatic answer to a number whose plan has no WhatsApp or that is no account's, with
where to open a ticket.
"""

from datetime import datetime, timedelta

from tickets import chat_apps
from tickets.chat_apps import Contacts, answered_today
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender
from tickets.plans import plan_in_force
from tickets.records import Repositories, system_note

from shared import alerts
from shared.calendar import local_date
from shared.clock import from_storage, to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.table import batch_get
from shared.dal.tickets import PhoneEntry, WhatsAppThread
from shared.dal.unit_of_work import UnitOfWork, save_change
from shared.events import EventType, new_event
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


def _body(payload: dict, kept: bool, why_not: str | None) -> str:
    text = str(payload.get("text") or "").strip()
    kind = str(payload.get("type") or "text")
    if kind in MEDIA_ES:
        media = payload.get("media") or {}
        named = f"{MEDIA_ES[kind]}{' (' + media['filename'] + ')' if media.get('filename') else ''}"
        if kept:
            return text or f"[El cliente envió {named}: está adjunto.]"
        reason = f"no se pudo guardar ({why_not}); " if why_not else ""
        text = (text + "\n\n" if text else "") + f"[El cliente envió {named}: {reason}se ve en WhatsApp.]"
    return text or f"[Mensaje de WhatsApp de tipo {kind}.]"


def _people(entries: list[PhoneEntry]) -> tuple[dict, dict]:
    keys = {Client.key(e.client_id) for e in entries} | {Contact.key(e.client_id, e.contact_id) for e in entries
                                                          if e.contact_id}
    found = batch_get(keys)
    clients = {k: v for k, v in found.items() if isinstance(v, Client)}
    contacts = {k: v for k, v in found.items() if isinstance(v, Contact)}
    return clients, contacts


WINDOW = timedelta(hours=24)  # the Cloud API's customer-service window for free-form messages


def _reply(to: str, text: str, answering: str, now: datetime, **template):
    return new_event(EventType.WHATSAPP_REPLY_REQUESTED, client_id=None, occurred_at=now,
                     payload={"to": to, "text": text, "reply_to_event": answering, **template})


def _readers(thread: WhatsAppThread, client_id: str | None, entries: list[PhoneEntry]) -> list[Client | Contact]:
    """The people of the ticket's account with this number who may read its answers now (a removed contact, or
    one without `tickets`, may not)."""
    clients, contacts = _people([e for e in entries if e.client_id == client_id])
    client = clients.get(Client.key(client_id)) if client_id else None
    if client is None:
        return []
    return [person for person in [client, *contacts.values()] if person.phone == thread.phone and Sender(
        person.email, client, person if isinstance(person, Contact) else None).may_see_tickets_of(client_id)]


def _auto_reply(repos: Repositories, thread: WhatsAppThread, now: datetime, why: str, where: Contacts) -> str:
    """Once a local day per number: what to do instead (the panel's tickets, the support mailbox)."""
    if answered_today(thread.auto_replied_on, now):
        return why
    today = local_date(now).isoformat()
    reason = ("La atención por WhatsApp está incluida en los planes de soporte Profesional y Full."
              if why == "not_in_plan" else "Este número no está registrado en una cuenta de Paneldecliente.")
    text = (f"Hola, recibimos su mensaje. {reason} Para que lo atendamos, abra un ticket en "
            f"{where.tickets_page} o escríbanos a {where.support_address}.")
    thread.auto_replied_on = today
    uow = UnitOfWork()
    uow.save(thread)  # version-checked: two messages at once answer once
    uow.emit([_reply(thread.phone, text, f"autoreply.{thread.phone}.{today}", now)])
    uow.commit()
    return f"{why}:answered"


def answer(repos: Repositories, now: datetime, envelope: dict) -> str:
    """``ticket.answered`` on a WhatsApp ticket: staff's reply back by WhatsApp, inside the 24-hour window."""
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    ticket, messages, _ = repos.tickets.conversation(str(payload.get("ticket_id") or ""))
    if ticket is None or ticket.channel != "whatsapp" or not (ticket.opened_by or "").startswith("whatsapp:"):
        return "not_whatsapp"
    message = next((m for m in messages if m.message_id == payload.get("message_id")), None)
    thread = repos.tickets.whatsapp_thread(ticket.opened_by.removeprefix("whatsapp:"))
    if message is None or thread is None or not thread.last_inbound_at:
        return "ignored"
    readers = _readers(thread, ticket.client_id, repos.tickets.people_with_phone(thread.phone))
    if not readers:
        return "not_allowed"
    if now - from_storage(thread.last_inbound_at) >= WINDOW:
        # Only an approved template may start a conversation: the catalog's ticket_respondido, once — by the
        # person's own ticket alert when they get those by WhatsApp, else by this reply (writing to us about
        # this ticket is their consent to hear of its answer), unless they turned ticket alerts off.
        if any(alerts.wants(person, alerts.Kind.TICKETS) for person in readers):
            return "outside_window:alerted"
        if any((person.alert_preferences.as_dict() if person.alert_preferences else {}).get(alerts.Kind.TICKETS)
               is False for person in readers):
            return "outside_window:turned_off"
        hook = alerts.HOOKPOINTS[EventType.TICKET_ANSWERED]
        parameters = hook.parameters({"ticket_id": ticket.ticket_id, "subject": ticket.subject})
        save_change([], [_reply(thread.phone, "", envelope["id"], now, template=hook.template, parameters=parameters)])
        return "outside_window:template"
    text = f"{message.body}\n\n— Soporte Paneldecliente (ticket {ticket.ticket_id})"
    save_change([], [_reply(thread.phone, text, envelope["id"], now)])
    return "answered"


def file(repos: Repositories, policy: TicketPolicy, now: datetime, envelope: dict, where: Contacts,
         shelf: chat_apps.MediaShelf | None = None) -> str:
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
        return _auto_reply(repos, thread, now, "unknown", where)
    if len(accounts) > 1:
        return "several_accounts"  # no account is picked by guessing; staff see it in WhatsApp itself
    client_id = accounts[0]
    if not includes(plan_in_force(repos.services, client_id), "whatsapp"):
        return _auto_reply(repos, thread, now, "not_in_plan", where)
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
    current = chat_apps.current_ticket(thread.ticket_id, client_id)
    ticket_id = current.ticket_id if current else id_at(now)
    attached, why_not = chat_apps.attach(shelf, payload.get("media"), ticket_id, now)
    ticket, outcome, uow = chat_apps.file_for_person(
        repos, policy, now, client=client, person=person, current=current, channel="whatsapp",
        author=f"whatsapp:{phone}", name=name, body=_body(payload, bool(attached), why_not), attached=attached,
        ticket_id=ticket_id)
    if current is None and person is None:  # a shared number: staff say who wrote
        listed = ", ".join(f"{p.name} ({'titular' if isinstance(p, Client) else 'contacto'})" for p in people)
        uow.create(system_note(ticket.ticket_id, now, f"El número {phone} es de varias personas de la cuenta: "
                                                      f"{listed}. Confirme con quién habla antes de responder."))
    thread.ticket_id, thread.last_inbound_at = ticket.ticket_id, to_storage(now)
    thread.filed = [*(thread.filed or []), wamid][-KEPT_IDS:]
    uow.save(thread)  # version-checked: two messages of one phone at once are filed one after the other
    uow.commit()
    return outcome
