"""The emails of a ticket (docs/email-channel.md): a copy of each staff reply to the person who asked, and
the acknowledgement of a ticket opened by email. The help centre: "Una vez que nuestro staff lo responda,
podrá verlo en su sistema de ticket aunque también enviará una copia a su casilla de correo con la respuesta."

Each email is threaded so a reply comes back to its ticket: From ``Soporte Paneldecliente <tickets@<support
domain>>``, Reply-To ``tickets+<ticket>@<support domain>``, the ``[Ticket#<ticket>]`` token in the subject,
a Message-ID ``<ticket.<ticket>.<message or "ack">@<support domain>>`` (the same on a retry), In-Reply-To the
conversation's last email and References its chain, so mail programs show one conversation. Our marker line
on top tells the reader where to write and tells us where the quote starts.

Who gets it: the ticket's requester while that address may still see the account's tickets (a contact
whose ``tickets`` right was taken away gets nothing more), else the holder; a guest ticket's guest. Internal
notes are never emailed (they are not messages). Each email goes once per event (shared/email_delivery).
"""

import html
from dataclasses import dataclass

from tickets.correspondents import who_is
from tickets.email_parsing import REPLY_MARKER
from tickets.email_threading import MAILBOX, SUBJECT_TOKEN, message_id_of, reply_address, subject_token

from shared import email_delivery, outbound_email
from shared.dal.accounts import Client
from shared.dal.table import batch_get
from shared.dal.tickets import Ticket, TicketMessage, Tickets

SENDER_NAME = "Soporte Paneldecliente"
MAX_REFERENCES = 20  # RFC 5322 lets it grow; mail programs keep the first and the last ones, so do we


@dataclass
class Postroom:
    tickets: Tickets
    courier: email_delivery.Courier
    support_domain: str
    panel_url: str


def recipient_of(ticket: Ticket) -> str | None:
    if ticket.client_id is None:
        return ticket.guest_email or ticket.requester_email
    requester = (ticket.requester_email or "").lower()
    if requester and who_is(requester).may_see_tickets_of(ticket.client_id):
        return requester
    holder = batch_get([Client.key(ticket.client_id)]).get(Client.key(ticket.client_id))
    return holder.email.lower() if isinstance(holder, Client) and holder.email else None


def _thread_ids(ticket: Ticket, messages: list[TicketMessage], domain: str, until: str | None) -> list[str]:
    """The Message-IDs of the conversation before ``until`` (a message id), in order: what arrived by email
    with its own, what staff wrote with the one its copy went out with; the acknowledgement after the first."""
    ids: list[str] = []
    for message in messages:
        if until is not None and message.message_id >= until:
            break
        if message.email_message_id:
            ids.append(message.email_message_id)
        elif message.author_role == "staff":
            ids.append(message_id_of(ticket.ticket_id, message.message_id, domain))
        if message is messages[0] and ticket.channel == "email":
            ids.append(message_id_of(ticket.ticket_id, "ack", domain))
    return ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1):]]


def _subject(ticket: Ticket) -> str:
    bare = SUBJECT_TOKEN.sub("", ticket.subject).strip() or "(sin asunto)"
    return f"{subject_token(ticket.ticket_id)} {bare}"


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (f'<!doctype html><html lang="es"><head><meta charset="utf-8"></head>'
            f'<body style="font-family: Arial, sans-serif; line-height: 1.5">'
            f'<p style="color:#888">{html.escape(REPLY_MARKER)}</p>{body}</body></html>')


def _email(room: Postroom, ticket: Ticket, recipient: str, paragraphs: list[str], thread: list[str],
           event_id: str) -> outbound_email.OutgoingEmail:
    headers = [("X-Paneldecliente-Event", event_id), ("X-Paneldecliente-Ticket", ticket.ticket_id),
               # RFC 3834: we are a person's answer, not an autoresponder; other systems' loops stop at theirs.
               ("Auto-Submitted", "no")]
    if thread:
        headers += [("In-Reply-To", thread[-1]), ("References", " ".join(thread))]
    text = REPLY_MARKER + "\n\n" + "\n\n".join(paragraphs) + "\n"
    return outbound_email.OutgoingEmail(
        sender=f"{SENDER_NAME} <{MAILBOX}@{room.support_domain}>", to=(recipient,), subject=_subject(ticket),
        text=text, html=_html(paragraphs), reply_to=reply_address(ticket.ticket_id, room.support_domain),
        headers=tuple(headers))


def _link(room: Postroom, ticket: Ticket) -> str:
    if ticket.client_id is None:
        return "Para agregar información, responda este correo."
    return (f"Puede ver el ticket y responder en el panel: {room.panel_url.rstrip('/')}/tickets/{ticket.ticket_id}"
            " o respondiendo este correo.")


def _send(room: Postroom, ticket: Ticket, email: outbound_email.OutgoingEmail, *, event_id: str, kind: str,
          part: str) -> str:
    status = email_delivery.send_once(
        room.courier, email, event_id=event_id, kind=kind, client_id=ticket.client_id,
        message_id=f"ticket.{ticket.ticket_id}.{part}", message_id_domain=room.support_domain)
    return status or "already_sent"


def copy_of_reply(room: Postroom, envelope: dict) -> str:
    """``ticket.answered``: the staff reply, by email, to whoever asked."""
    payload = envelope.get("payload") or {}
    ticket, messages, _ = room.tickets.conversation(str(payload.get("ticket_id") or ""))
    message = next((m for m in messages if m.message_id == payload.get("message_id")), None)
    if ticket is None or message is None or message.author_role != "staff":
        return "ignored"
    recipient = recipient_of(ticket)
    if recipient is None:
        return "no_recipient"
    paragraphs = [message.body]
    if message.attachments:
        paragraphs.append(f"La respuesta tiene {len(message.attachments)} archivo(s) adjunto(s): "
                          "descárguelos desde el ticket en el panel.")
    if payload.get("status") == "closed":
        paragraphs.append("Dimos el ticket por resuelto. Si necesita algo más, responda este correo.")
    elif payload.get("waiting_on_customer"):
        paragraphs.append("Quedamos a la espera de su respuesta para continuar.")
    paragraphs += [_link(room, ticket), f"{SENDER_NAME}\nTicket {ticket.ticket_id}: {ticket.subject}"]
    email = _email(room, ticket, recipient, paragraphs, _thread_ids(ticket, messages, room.support_domain,
                                                                    message.message_id), envelope["id"])
    return _send(room, ticket, email, event_id=envelope["id"], kind="ticket_reply", part=message.message_id)


def acknowledgement(room: Postroom, envelope: dict) -> str:
    """``ticket.opened`` by email or the contact form, with ``acknowledge``: the ticket's number, so the
    sender knows it arrived."""
    payload = envelope.get("payload") or {}
    if payload.get("channel") not in ("email", "form") or not payload.get("acknowledge"):
        return "ignored"
    ticket, messages, _ = room.tickets.conversation(str(payload.get("ticket_id") or ""))
    recipient = payload.get("requester_email")
    if ticket is None or not messages or not recipient:
        return "ignored"
    first = messages[0]
    paragraphs = [
        f"Recibimos su consulta «{ticket.subject}» y abrimos el ticket {ticket.ticket_id}.",
        "Le responderemos dentro del plazo de su plan de soporte, en días y horarios hábiles de Argentina.",
        _link(room, ticket),
        SENDER_NAME,
    ]
    thread = [first.email_message_id] if first.email_message_id else []
    email = _email(room, ticket, recipient, paragraphs, thread, envelope["id"])
    return _send(room, ticket, email, event_id=envelope["id"], kind="ticket_acknowledgement", part="ack")


def auto_close_warning(room: Postroom, envelope: dict) -> str:
    """``ticket.auto_close_warning``: the ticket closes in a business day unless the client answers; by email
    too, since the help centre promises a warning before the close."""
    from shared.calendar import local
    from shared.clock import from_storage

    payload = envelope.get("payload") or {}
    ticket, messages, _ = room.tickets.conversation(str(payload.get("ticket_id") or ""))
    if ticket is None or ticket.status == "closed":
        return "ignored"
    recipient = recipient_of(ticket)
    if recipient is None:
        return "no_recipient"
    when = local(from_storage(payload["due_at"])).strftime("%d/%m a las %H:%M") if payload.get("due_at") else "pronto"
    paragraphs = [f"Le respondimos y no recibimos novedades: el ticket «{ticket.subject}» se cerrará el {when} "
                  "(hora de Argentina).",
                  "Si necesita algo más, responda este correo o el ticket en el panel y seguirá abierto.",
                  _link(room, ticket), SENDER_NAME]
    email = _email(room, ticket, recipient, paragraphs, _thread_ids(ticket, messages, room.support_domain, None),
                   envelope["id"])
    return _send(room, ticket, email, event_id=envelope["id"], kind="ticket_auto_close_warning",
                 part=f"closing.{envelope['id']}")
