"""What every way a ticket arrives writes with: the repositories, the attachments' bucket, a message, the system's
internal note. Apart from tickets.logic so that the channels' webhooks (Tawk.to, WhatsApp, Telegram, email) file a
ticket without importing the panel's request and response models."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import to_storage
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.dal.tickets import Ticket, TicketMessage, TicketNote, Tickets
from shared.ids import id_at


@dataclass
class Repositories:
    tickets: Tickets
    accounts: Accounts
    services: Services


@dataclass
class Files:
    s3: Any
    bucket: str


def new_message(ticket: Ticket, now: datetime, role: str, author: str, name: str | None, body: str,
                attached=(), *, channel: str = "panel", email_message_id: str | None = None,
                original_key: str | None = None) -> TicketMessage:
    message_id = id_at(now)
    return TicketMessage(*TicketMessage.key(ticket.ticket_id, message_id), ticket_id=ticket.ticket_id,
                         message_id=message_id, author_role=role, author=author, author_name=name, body=body,
                         attachments=list(attached), created_at=to_storage(now), channel=channel,
                         email_message_id=email_message_id, original_key=original_key)


def system_note(ticket_id: str, now: datetime, text: str) -> TicketNote:
    """An internal note the system writes for staff (how an email, a form or a chat arrived); not written."""
    note_id = id_at(now)
    return TicketNote(*TicketNote.key(ticket_id, note_id), ticket_id=ticket_id, note_id=note_id, author="system",
                      body=text, created_at=to_storage(now))
