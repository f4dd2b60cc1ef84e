"""The help desk, the clients' side: clients open, read, answer and close their tickets (staff's side, the
queue, is tickets.staff_desk). Each change is one transaction (the ticket, its message or note, its events); the SLA
clocks follow tickets.clocks."""

import statistics
from datetime import date, datetime, timedelta

from tickets import attachments as files
from tickets import clocks
from tickets.clocks import TicketPolicy
from tickets.plans import plan_in_force
from tickets.records import Files, Repositories, new_message, system_note
from tickets.schemas import (
    AttachmentOut,
    AttachmentRequest,
    ClientReply,
    DeadlineOut,
    HistoryOut,
    MessageOut,
    OpenTicket,
    ResponseTime,
    ResponseTimesOut,
    TicketOut,
    TicketSummary,
)

from shared.auth import Identity, Permission, authorize, require_account, require_staff, sees
from shared.calendar import local_date, local_midnight, months_between
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Client
from shared.dal.services import Service
from shared.dal.table import batch_get, not_found
from shared.dal.tickets import Ticket, TicketFigure, TicketMessage
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.events import EventType
from shared.ids import id_at, is_valid_id
from shared.sla import Priority, SlaClass, SupportPlan, effective_priority

RESPONSE_TIMES_WINDOW = timedelta(days=90)


class TicketMerged(Conflict):
    code = "ticket_merged"
    message = "Este ticket se unió a otro: responda en el ticket al que se unió."


# --- reading ---------------------------------------------------------------------------------------------


def _target_text(clock) -> str:
    if clock.kind == "resolution":
        return "2 días hábiles"
    if clock.around_the_clock:
        return f"{clock.target_minutes} minutos (24 × 7)"
    minutes = clock.target_minutes
    return f"{minutes // 60} horas hábiles" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} minutos hábiles"


def _deadline_out(clock) -> DeadlineOut:
    return DeadlineOut(kind=clock.kind, started_at=from_storage(clock.started_at),
                       due_at=from_storage(clock.due_at) if clock.due_at else None,
                       met_at=from_storage(clock.met_at) if clock.met_at else None,
                       breached_at=from_storage(clock.breached_at) if clock.breached_at else None,
                       target=_target_text(clock))


def _summary_fields(ticket: Ticket) -> dict:
    deadline = clocks.next_deadline(ticket) if ticket.status != "closed" else None
    return dict(ticket_id=ticket.ticket_id, client_id=ticket.client_id, subject=ticket.subject, status=ticket.status,
                sla_class=ticket.sla_class, priority=ticket.priority, plan=ticket.plan, service_id=ticket.service_id,
                channel=ticket.channel, created_at=from_storage(ticket.created_at),
                updated_at=from_storage(ticket.updated_at),
                next_deadline_at=from_storage(deadline) if deadline else None, assignee=ticket.assignee,
                message_count=ticket.message_count)


def summary(ticket: Ticket) -> TicketSummary:
    return TicketSummary(**_summary_fields(ticket))


def _paused_minutes(ticket: Ticket, now: datetime) -> int:
    return sum(int(((from_storage(p.resumed_at) if p.resumed_at else now) - from_storage(p.paused_at))
                   .total_seconds() // 60) for p in ticket.pauses or [])


def detail_fields(ticket: Ticket, messages: list[TicketMessage], now: datetime) -> dict:
    _, priority_message = effective_priority(Priority(ticket.requested_priority), SupportPlan(ticket.plan),
                                             ticket.production)
    return dict(
        **_summary_fields(ticket), requested_priority=ticket.requested_priority, priority_message=priority_message,
        deadlines=[_deadline_out(c) for c in (ticket.response, ticket.resolution) if c is not None],
        paused_minutes=_paused_minutes(ticket, now),
        messages=[MessageOut(message_id=m.message_id, author_role=m.author_role, author_name=m.author_name,
                             body=m.body, created_at=from_storage(m.created_at), channel=m.channel or "panel",
                             call_minutes=m.call_minutes,
                             attachments=[AttachmentOut(attachment_id=a.attachment_id, filename=a.filename,
                                                        content_type=a.content_type, size=a.size)
                                          for a in m.attachments or []])
                  for m in messages],
        history=[HistoryOut(at=from_storage(h.at), what=h.what, detail=h.detail) for h in ticket.history or []],
        closed_at=from_storage(ticket.closed_at) if ticket.closed_at else None, merged_into=ticket.merged_into,
        follows_ticket_id=ticket.follows_ticket_id, classification_outcome=ticket.classification_outcome,
    )


def ticket_out(ticket: Ticket, messages: list[TicketMessage], now: datetime) -> TicketOut:
    """What a client sees: never the internal notes, nor who on staff wrote what."""
    return TicketOut(**detail_fields(ticket, messages, now))


def _client_ticket(repos: Repositories, identity: Identity, ticket_id: str):
    """The conversation of a ticket the caller may see (the account's, with `tickets`), else the one 404."""
    require_account(identity)
    ticket, messages, _ = repos.tickets.conversation(ticket_id)
    if ticket is None or ticket.client_id is None:
        raise not_found()
    grant = authorize(identity, ticket.client_id, Permission.TICKETS, repos.accounts.contact_permissions)
    if not sees(grant, ticket.service_id, own=_opened_by(identity, ticket)):
        raise not_found()  # a scoped contact: another service's ticket is like a missing one
    return ticket, messages


def _opened_by(identity: Identity, ticket: Ticket) -> bool:
    return identity.contact_id is not None and ticket.opened_by_contact_id == identity.contact_id


PAGE_SIZE = 50  # a client's list, a page at a time (WHMCS shows 10-100)


def my_tickets(repos: Repositories, identity: Identity, status: str | None, limit: int = PAGE_SIZE,
               before: str | None = None) -> list[TicketSummary]:
    """A page of the account's tickets, newest first; the next page is ``before=<the last one's id>``."""
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions)
    return [summary(t) for t in repos.tickets.tickets_of(client_id, status, limit=limit, before=before)
            if sees(grant, t.service_id, own=_opened_by(identity, t))]


def my_ticket(repos: Repositories, clock: Clock, identity: Identity, ticket_id: str) -> TicketOut:
    ticket, messages = _client_ticket(repos, identity, ticket_id)
    return ticket_out(ticket, messages, clock.now())


# --- opening ---------------------------------------------------------------------------------------------


def open_ticket(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity, body: OpenTicket,
                client_id: str | None = None, *, channel: str | None = None,
                extra_notes: tuple[str, ...] = (), plan: SupportPlan | None = None) -> TicketOut:
    """A client opens a ticket on its account (or staff on a client's behalf: staff_desk.staff_open_ticket names
    it)."""
    if client_id is not None:
        require_staff(identity)
        if not is_valid_id(client_id):
            raise not_found()
    else:
        client_id = require_account(identity)
        # A ticket about a service is within a scoped contact's services (404 for another, as for another account's).
        authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions,
                  services=[body.service_id] if body.service_id else None)
    now = clock.now()
    keys = [Client.key(client_id)] + ([Service.key(body.service_id)] if body.service_id
                                      and is_valid_id(body.service_id) else [])
    found = batch_get(keys)
    client = found.get(Client.key(client_id))
    if not isinstance(client, Client):
        raise not_found()
    service = found.get(Service.key(body.service_id)) if body.service_id else None
    if body.service_id and (not isinstance(service, Service) or service.client_id != client_id):
        raise InvalidInput("No existe ese servicio en la cuenta.", code="service_not_found", field="service_id")
    plan = plan or plan_in_force(repos.services, client_id)  # the caller may have read it already
    ticket_id = id_at(now)
    role = "staff" if identity.is_staff else identity.role.value
    ticket, _ = clocks.new_ticket(
        ticket_id=ticket_id, client_id=client_id, subject=body.subject, sla_class=body.sla_class,
        priority=body.priority, plan=plan, service=service, client=client, opened_by=identity.subject, role=role,
        contact_id=identity.contact_id, channel=channel or getattr(body, "channel", "panel"), now=now,
        closed_days=repos.tickets.closed_day_set(), policy=policy)
    ticket.requester_email = (client.email if identity.is_staff or not identity.email else identity.email).lower()
    message = new_message(ticket, now, "staff" if identity.is_staff else "client", identity.subject,
                       identity.email, body.body)
    uow = UnitOfWork()
    uow.create(ticket)
    uow.create(message)
    for text in extra_notes:  # staff's side of the request (a call-back's window, say)
        uow.create(system_note(ticket_id, now, text))
    uow.emit([clocks.ticket_event(EventType.TICKET_OPENED, ticket, now, opened_by_role=role,
                     due_at=ticket.response.due_at)])
    uow.commit()
    return ticket_out(ticket, [message], now)


# --- the client's side -----------------------------------------------------------------------------------


def client_reply(repos: Repositories, clock: Clock, policy: TicketPolicy, store: Files, identity: Identity,
                 ticket_id: str, body: ClientReply) -> TicketOut:
    """A client's message. On a closed ticket: within ReopenDays it reopens; later, a new ticket follows it."""
    ticket, messages = _client_ticket(repos, identity, ticket_id)
    now = clock.now()
    if ticket.merged_into:
        raise TicketMerged()
    attached = files.collect(store.s3, store.bucket, ticket.ticket_id, body.attachment_ids)
    filed, message, uow = file_client_message(
        repos, policy, ticket, now, author=identity.subject, name=identity.email, role=identity.role.value,
        contact_id=identity.contact_id, body=body.body, attached=attached)
    uow.commit()
    return ticket_out(filed, [*messages, message] if filed is ticket else [message], now)


def file_client_message(repos: Repositories, policy: TicketPolicy, ticket: Ticket, now: datetime, *, author: str,
                        name: str | None, role: str, contact_id: str | None, body: str, attached=(),
                        channel: str = "panel", email_message_id: str | None = None,
                        original_key: str | None = None,
                        follow_up_event: dict | None = None) -> tuple[Ticket, TicketMessage, UnitOfWork]:
    """A client's message into its ticket (the panel's reply, or an email's), in a unit of work the caller
    commits (with what else it writes). A ticket closed more than ReopenDays ago is not reopened: the message
    opens a new ticket that follows it, and that one is returned."""
    closed_days = repos.tickets.closed_day_set()
    uow = UnitOfWork()
    extra = dict(channel=channel, email_message_id=email_message_id, original_key=original_key)
    if ticket.status == "closed" and now - from_storage(ticket.closed_at) > timedelta(days=policy.reopen_days):
        follow, _ = clocks.new_ticket(
            ticket_id=id_at(now), client_id=ticket.client_id, subject=ticket.subject[:190],
            sla_class=SlaClass(ticket.sla_class), priority=Priority(ticket.requested_priority),
            plan=plan_in_force(repos.services, ticket.client_id), service=None, client=None, opened_by=author,
            role=role, contact_id=contact_id, channel=channel, now=now, closed_days=closed_days, policy=policy)
        follow.service_id, follow.production = ticket.service_id, ticket.production
        follow.contract_around_the_clock = ticket.contract_around_the_clock
        follow.follows_ticket_id = ticket.ticket_id
        follow.guest_email, follow.requester_email = ticket.guest_email, ticket.requester_email
        if ticket.client_id is None:
            follow.gsi1pk = ticket.gsi1pk  # a guest's tickets stay listed under the guest's address
        clocks.note(follow, now, author, "follows",
                    f"Respuesta al ticket {ticket.ticket_id}, cerrado hace más de {policy.reopen_days} días.")
        message = new_message(follow, now, "client", author, name, body, attached, **extra)
        uow.create(follow)
        uow.create(message)
        uow.emit([clocks.ticket_event(EventType.TICKET_OPENED, follow, now, follows_ticket_id=ticket.ticket_id,
                                      due_at=follow.response.due_at, **(follow_up_event or {}))])
        return follow, message, uow
    message = new_message(ticket, now, "client", author, name, body, attached, **extra)
    events = _client_message(repos, ticket, now, closed_days, policy, author)
    uow.save(ticket)
    uow.create(message)
    uow.emit(events)
    return ticket, message, uow


def _client_message(repos: Repositories, ticket: Ticket, now: datetime, closed_days: frozenset[date],
                    policy: TicketPolicy, by: str) -> list:
    """The clocks after a client's message: the resolution restarts from it; a ticket that had been answered
    (or was waiting on the client, or closed) waits on staff again, with a new response clock."""
    stamp = to_storage(now)
    reopened = ticket.status == "closed"
    ticket.last_client_message_at = ticket.updated_at = stamp
    ticket.message_count += 1
    if ticket.status in ("answered", "waiting_on_customer") or reopened:
        paused = clocks.resume(ticket, now)
        if reopened:
            ticket.closed_at = ticket.closed_by = None
            ticket.plan = plan_in_force(repos.services, ticket.client_id).value
            clocks.note(ticket, now, by, "reopened", "El cliente respondió: el ticket se reabre.")
        elif paused:
            clocks.note(ticket, now, by, "resumed", f"El cliente respondió tras {paused // 60} minutos de espera.")
        ticket.status = "customer_reply"
        clocks.start_response(ticket, "next_response", now)
        clocks.stop_autoclose(ticket)
    else:
        clocks.note(ticket, now, by, "replied")
    clocks.start_resolution(ticket, now)
    clocks.refresh(ticket, closed_days, policy)
    clocks.schedule(ticket)
    event_type = EventType.TICKET_REOPENED if reopened else EventType.TICKET_CLIENT_REPLIED
    return [clocks.ticket_event(event_type, ticket, now, due_at=ticket.response.due_at if ticket.response else None)]


def client_close(repos: Repositories, clock: Clock, identity: Identity, ticket_id: str) -> TicketOut:
    ticket, messages = _client_ticket(repos, identity, ticket_id)
    now = clock.now()
    with UnitOfWork() as uow:
        uow.save(ticket)
        uow.emit(clocks.close(ticket, now, identity.subject, "Cerrado por el cliente."))
    return ticket_out(ticket, messages, now)


def attachment_upload(repos: Repositories, clock: Clock, store: Files, identity: Identity, ticket_id: str,
                      body: AttachmentRequest, *, as_staff: bool = False) -> dict:
    """A presigned upload form, on the client's route (the account's ticket) or staff's (``as_staff``)."""
    if as_staff:
        require_staff(identity)
        ticket = repos.tickets.get_ticket(ticket_id, consistent=False)
    else:
        ticket, _ = _client_ticket(repos, identity, ticket_id)
    if ticket.status == "closed" and ticket.merged_into:
        raise TicketMerged()
    return files.presign_upload(store.s3, store.bucket, ticket.ticket_id, body.filename, body.content_type,
                                body.size, clock.now())


def attachment_download(repos: Repositories, clock: Clock, store: Files, identity: Identity, ticket_id: str,
                        attachment_id: str, *, as_staff: bool = False) -> dict:
    """A presigned link to an attachment of the conversation (of a message the caller may read)."""
    if as_staff:
        require_staff(identity)
        ticket, messages, _ = repos.tickets.conversation(ticket_id)
        if ticket is None:
            raise not_found()
    else:
        ticket, messages = _client_ticket(repos, identity, ticket_id)
    attachment = next((a for m in messages for a in m.attachments or [] if a.attachment_id == attachment_id), None)
    if attachment is None:
        raise not_found()
    return files.presign_download(store.s3, store.bucket, attachment, clock.now())


# --- figures ---------------------------------------------------------------------------------------------


def figures_between(repos: Repositories, since: date, until: date) -> list[TicketFigure]:
    start, end = to_storage(local_midnight(since)), to_storage(local_midnight(until + timedelta(days=1)))
    found = []
    for month in months_between(since, until):
        found.extend(f for f in repos.tickets.figures(month, start, end) if f.at < end)
    return found


def response_times(repos: Repositories, clock: Clock, identity: Identity) -> ResponseTimesOut:
    """The typical first response of each class, as measured over the last 90 days (business minutes)."""
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions)
    until = local_date(clock.now())
    since = until - RESPONSE_TIMES_WINDOW
    answered = [f for f in figures_between(repos, since, until) if f.figure == "first_response"]
    classes = []
    for sla_class in SlaClass:
        minutes = [f.business_minutes for f in answered if f.sla_class == sla_class.value]
        classes.append(ResponseTime(sla_class=sla_class, answered=len(minutes),
                                    median_business_minutes=int(statistics.median(minutes)) if minutes else None))
    return ResponseTimesOut(since=since, classes=classes, message=(
        "Tiempo típico (mediana) hasta la primera respuesta, en minutos hábiles (lunes a viernes de 10 a 17), "
        "de los tickets de los últimos 90 días."))

