"""What WhatsApp and Telegram share once a message's sender is known to be a person of an account: the message
goes into the conversation's current ticket (reopened, or followed by a new one, as a panel reply would be) or
opens a new ticket of that account; media they sent are kept as the message's attachments; an automatic answer
is given at most once a local day per conversation.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickets import outside_tickets
from tickets.attachments import ALLOWED_TYPES, MAX_BYTES, object_prefix, safe_filename
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender
from tickets.logic import file_client_message
from tickets.records import Repositories

from shared.calendar import local_date
from shared.dal.accounts import Client, Contact
from shared.dal.table import batch_get
from shared.dal.tickets import Attachment, Ticket
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import InvalidInput
from shared.ids import id_at


@dataclass(frozen=True)
class Contacts:
    """Where an automatic answer sends people: the panel and the support mailbox."""

    panel_url: str
    support_address: str

    @property
    def tickets_page(self) -> str:
        return f"{self.panel_url.rstrip('/')}/tickets"


@dataclass(frozen=True)
class Media:
    """A file someone sent in a chat app, fetched: kept in S3 as an attachment when its type is one the panel
    takes and it is within the panel's size."""

    content: bytes
    content_type: str
    filename: str | None


class MediaUnavailable(Exception):
    """The file could not be fetched from the chat app (too large, expired, the API out of reach): the message
    is filed saying so, rather than lost."""


MediaSource = Callable[[dict[str, Any]], Media]


@dataclass(frozen=True)
class MediaShelf:
    """Where a chat app's files come from (``fetch``, by the message's media description) and go (S3)."""

    fetch: MediaSource
    s3: Any
    bucket: str


def attach(shelf: MediaShelf | None, media: dict[str, Any] | None, ticket_id: str, now: datetime,
           ) -> tuple[tuple[Attachment, ...], str | None]:
    """The message's file kept as an attachment, or why not (None: there was no file)."""
    if not media:
        return (), None
    if shelf is None:
        return (), "no se guardan archivos"
    try:
        kept = keep_media(shelf.s3, shelf.bucket, ticket_id, shelf.fetch(media), now)
    except MediaUnavailable as error:
        return (), str(error)
    return ((kept,), None) if kept else ((), "tipo o tamaño que el panel no acepta")


def answered_today(last_answered_on: str | None, now: datetime) -> bool:
    return last_answered_on == local_date(now).isoformat()


def current_ticket(ticket_id: str | None, client_id: str) -> Ticket | None:
    """The conversation's ticket, while it is still that account's and was not merged into another."""
    if not ticket_id:
        return None
    found = batch_get([Ticket.key(ticket_id)]).get(Ticket.key(ticket_id))
    return found if isinstance(found, Ticket) and found.client_id == client_id and not found.merged_into else None


def keep_media(s3, bucket: str, ticket_id: str, media: Media, now: datetime) -> Attachment | None:
    """The file stored under the ticket, or None when the panel would refuse it (type, size)."""
    content_type = media.content_type.split(";")[0].strip().lower()
    if content_type not in ALLOWED_TYPES or not 0 < len(media.content) <= MAX_BYTES:
        return None
    extension = ALLOWED_TYPES[content_type][0].lstrip(".")
    stem = (media.filename or "").rsplit(".", 1)[0] if media.filename else ""
    try:
        filename = safe_filename(f"{stem or 'archivo'}.{extension}", content_type)
    except InvalidInput:  # a name of nothing but symbols
        filename = f"archivo.{extension}"
    attachment_id = id_at(now)
    key = object_prefix(ticket_id, attachment_id) + filename
    s3.put_object(Bucket=bucket, Key=key, Body=media.content, ContentType=content_type)
    return Attachment(attachment_id=attachment_id, filename=filename, content_type=content_type,
                      size=len(media.content), key=key)


def file_for_person(repos: Repositories, policy: TicketPolicy, now: datetime, *, client: Client,
                    person: Client | Contact | None, current: Ticket | None, channel: str, author: str, name: str,
                    body: str, attached: tuple[Attachment, ...] = (), ticket_id: str | None = None,
                    ) -> tuple[Ticket, str, UnitOfWork]:
    """The message filed (uncommitted): into ``current`` (``filed``, or ``opened`` when it had to be followed by
    a new ticket), else as a new ticket of the account (``opened``, with ``ticket_id`` when given). ``person``
    None: a number several people share; the ticket is the account's, opened as its holder's."""
    contact = person if isinstance(person, Contact) else None
    if current is not None:
        ticket, _, uow = file_client_message(repos, policy, current, now, author=author, name=name,
                                             role="contact" if contact else "holder",
                                             contact_id=contact.contact_id if contact else None, body=body,
                                             attached=attached, channel=channel)
        return ticket, "filed" if ticket is current else "opened", uow
    sender = Sender(person.email if person else client.email, client, contact)
    label = {"whatsapp": "WhatsApp", "telegram": "Telegram"}.get(channel, channel)
    arrival = outside_tickets.Arrival(sender=sender, trusted=True, subject=f"{label}: {body}"[:200], body=body,
                                      channel=channel, name=name, author=author, attached=attached)
    ticket, _, uow = outside_tickets.open_ticket(repos, policy, now, arrival, acknowledge=False, ticket_id=ticket_id)
    return ticket, "opened", uow
