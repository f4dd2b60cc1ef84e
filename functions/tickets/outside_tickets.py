"""A ticket that arrives from outside the panel — an email, the public contact form — opened for whoever the
sender's address is: the account's ticket when the sender may open tickets there and is trusted (an
authentic email; a form, whose address is only typed, never for more than opening), else a guest ticket
(sales, or a stranger: ``client_id`` none, ``guest_email``, owner ``GUEST#<address>``). Not written: the
caller adds what its channel needs (notes, counters, the record of the email) to the returned unit of work."""

from dataclasses import dataclass
from datetime import datetime

from tickets import clocks
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender
from tickets.plans import plan_in_force
from tickets.records import Repositories, new_message

from shared.dal.tickets import Attachment, Ticket, TicketMessage
from shared.dal.unit_of_work import UnitOfWork
from shared.events import EventType
from shared.ids import id_at
from shared.sla import Priority, SlaClass


@dataclass(frozen=True)
class Arrival:
    sender: Sender
    trusted: bool  # the address is proven (an authentic email): the account's ticket, if the sender may
    subject: str
    body: str
    channel: str  # email | form | chat | whatsapp
    name: str = ""
    attached: tuple[Attachment, ...] = ()
    email_message_id: str | None = None
    original_key: str | None = None
    author: str | None = None  # who the history names, when not the address (a WhatsApp number)


def open_ticket(repos: Repositories, policy: TicketPolicy, now: datetime, arrival: Arrival, *,
                ticket_id: str | None = None, uow: UnitOfWork | None = None,
                **event_fields) -> tuple[Ticket, TicketMessage, UnitOfWork]:
    """The ticket and its first message created in ``uow`` (a new one if none), with ``ticket.opened``
    carrying ``event_fields`` too; nothing committed."""
    sender = arrival.sender
    as_client = arrival.trusted and sender.client is not None and sender.may_see_tickets_of(sender.client_id)
    client_id = sender.client_id if as_client else None
    ticket_id = ticket_id or id_at(now)
    # Who wrote it, as the history shows it (no login behind it).
    author = arrival.author or f"{arrival.channel}:{sender.address or arrival.name or 'visitante'}"
    ticket, _ = clocks.new_ticket(
        ticket_id=ticket_id, client_id=client_id, subject=arrival.subject[:200] or "(sin asunto)",
        sla_class=SlaClass.ADVICE, priority=Priority.P3, plan=plan_in_force(repos.services, client_id), service=None,
        client=sender.client if as_client else None, opened_by=author, role=sender.role if as_client else "guest",
        contact_id=sender.contact.contact_id if as_client and sender.contact else None, channel=arrival.channel,
        now=now, closed_days=repos.tickets.closed_day_set(), policy=policy)
    ticket.requester_email = sender.address or None
    if client_id is None:  # a guest: listed under its address (a chat without one is on no owner's list)
        ticket.guest_email = sender.address or None
        ticket.gsi1pk = f"GUEST#{sender.address}" if sender.address else None
        ticket.gsi1sk = ticket.gsi1sk if sender.address else None
    message = new_message(ticket, now, "client", author, arrival.name or sender.address, arrival.body,
                       list(arrival.attached), channel=arrival.channel, email_message_id=arrival.email_message_id,
                       original_key=arrival.original_key)
    uow = uow if uow is not None else UnitOfWork()
    uow.create(ticket)
    uow.create(message)
    uow.emit([clocks.ticket_event(EventType.TICKET_OPENED, ticket, now, opened_by_role=ticket.opened_by_role,
                                  due_at=ticket.response.due_at, channel=arrival.channel,
                                  requester_email=sender.address or None, **event_fields)])
    return ticket, message, uow
