"""The help desk: clients open, read, answer and close their tickets; staff work the queue. Each change is
one transaction (the ticket, its message or note, its events); the SLA clocks follow tickets.clocks."""

import statistics
from collections import Counter
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
    ClosedDayIn,
    ClosedDayOut,
    DeadlineOut,
    Figures,
    HistoryOut,
    MergeIn,
    MessageOut,
    NoteIn,
    NoteOut,
    OpenTicket,
    ProductionFlag,
    ResponseTime,
    ResponseTimesOut,
    SlaShare,
    StaffOpenTicket,
    StaffReply,
    StaffTicketOut,
    StatsOut,
    TicketChange,
    TicketOut,
    TicketSummary,
)

from shared.auth import Identity, Permission, authorize, require_account, require_staff, sees
from shared.calendar import business_minutes_between, local_date, local_midnight, months_between
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Client
from shared.dal.services import Service
from shared.dal.table import batch_get, not_found, save_one
from shared.dal.tickets import ClosedDay, Ticket, TicketFigure, TicketMessage, TicketNote
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.events import EventType
from shared.ids import id_at, is_valid_id
from shared.schemas import ServiceSummary, service_summary
from shared.sla import Priority, SlaClass, SupportPlan, effective_priority

# A merge copies the duplicate's messages into one transaction with the two tickets and their events.
MAX_MERGED_MESSAGES = 90
RESPONSE_TIMES_WINDOW = timedelta(days=90)


class TicketMerged(Conflict):
    code = "ticket_merged"
    message = "Este ticket se unió a otro: responda en el ticket al que se unió."


class MergeNotAllowed(Conflict):
    code = "merge_not_allowed"
    message = "Solo se unen tickets abiertos de la misma cuenta."


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


def _detail_fields(ticket: Ticket, messages: list[TicketMessage], now: datetime) -> dict:
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
    return TicketOut(**_detail_fields(ticket, messages, now))


def staff_ticket_out(ticket: Ticket, messages: list[TicketMessage], notes: list[TicketNote],
                     now: datetime) -> StaffTicketOut:
    return StaffTicketOut(
        **_detail_fields(ticket, messages, now), opened_by=ticket.opened_by,
        upgrade_request_id=ticket.upgrade_request_id, requester_email=ticket.requester_email,
        guest_email=ticket.guest_email, claimed_ticket_id=ticket.claimed_ticket_id,
        originals=[m.message_id for m in messages if m.original_key],
        notes=[NoteOut(note_id=n.note_id, author=n.author, body=n.body, created_at=from_storage(n.created_at))
               for n in notes])


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
QUEUE_SIZE = 200  # the staff queue's most urgent tickets


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


def staff_ticket(repos: Repositories, clock: Clock, identity: Identity, ticket_id: str) -> StaffTicketOut:
    require_staff(identity)
    ticket, messages, notes = repos.tickets.conversation(ticket_id)
    if ticket is None:
        raise not_found()
    return staff_ticket_out(ticket, messages, notes, clock.now())


def staff_queue(repos: Repositories, identity: Identity, status: str | None, sla_class: str | None,
                plan: str | None, assignee: str | None, limit: int = QUEUE_SIZE) -> list[TicketSummary]:
    """The tickets not closed, the nearest deadline first (a breached one is the nearest), ties by plan (Full,
    Profesional, Standard: the help centre's priority of premium plans); the first ``limit`` of them, so the
    answer stays far from Lambda's 6 MB even with thousands open (the ones after are not urgent yet)."""
    require_staff(identity)
    found = [t for t in repos.tickets.open_tickets()
             if (status is None or t.status == status) and (sla_class is None or t.sla_class == sla_class)
             and (plan is None or t.plan == plan) and (assignee is None or t.assignee == assignee)]
    found.sort(key=lambda t: (clocks.next_deadline(t) or "~", clocks.PLAN_RANK[SupportPlan(t.plan)], t.created_at))
    return [summary(t) for t in found[:limit]]


def staff_client_tickets(repos: Repositories, identity: Identity, client_id: str, status: str | None,
                         limit: int = PAGE_SIZE, before: str | None = None) -> list[TicketSummary]:
    require_staff(identity)
    found = repos.tickets.tickets_of(client_id, status, limit=limit, before=before)
    if not found:
        repos.accounts.get_client(client_id)  # an unknown client is the one 404, not an empty list
    return [summary(t) for t in found]


# --- opening ---------------------------------------------------------------------------------------------


def open_ticket(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity, body: OpenTicket,
                client_id: str | None = None, *, channel: str | None = None,
                extra_notes: tuple[str, ...] = (), plan: SupportPlan | None = None) -> TicketOut:
    """A client opens a ticket on its account (or staff on a client's behalf: staff_open_ticket names it)."""
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


def staff_open_ticket(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity,
                      client_id: str, body: StaffOpenTicket) -> TicketOut:
    require_staff(identity)
    return open_ticket(repos, clock, policy, identity, body, client_id=client_id)


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


# --- staff's side ----------------------------------------------------------------------------------------


def _figure(ticket: Ticket, now: datetime, what: str, **fields) -> TicketFigure:
    stamp = to_storage(now)
    month = local_date(now).strftime("%Y-%m")
    return TicketFigure(*TicketFigure.key(month, stamp, ticket.ticket_id, what), figure=what.split(":")[0],
                        ticket_id=ticket.ticket_id, at=stamp, plan=ticket.plan, sla_class=ticket.sla_class, **fields)


def _open_for_staff(repos: Repositories, identity: Identity, ticket_id: str):
    """The conversation of a ticket staff act on; a closed one takes no more answers or changes."""
    require_staff(identity)
    ticket, messages, notes = repos.tickets.conversation(ticket_id)
    if ticket is None:
        raise not_found()
    if ticket.status == "closed":
        raise clocks.TicketClosed()
    return ticket, messages, notes


def staff_reply(repos: Repositories, clock: Clock, policy: TicketPolicy, store: Files, identity: Identity,
                ticket_id: str, body: StaffReply, *, channel: str = "panel",
                call_minutes: int | None = None) -> StaffTicketOut:
    ticket, messages, notes = _open_for_staff(repos, identity, ticket_id)
    now = clock.now()
    stamp = to_storage(now)
    attached = files.collect(store.s3, store.bucket, ticket.ticket_id, body.attachment_ids)
    closed_days = repos.tickets.closed_day_set()
    message = new_message(ticket, now, "staff", identity.subject, "Soporte", body.body, attached, channel=channel)
    message.call_minutes = call_minutes
    uow = UnitOfWork()
    response = ticket.response
    if response is not None and not response.met_at:
        response.met_at = stamp
        if response.kind == "first_response":
            ticket.first_response_at = stamp
            uow.create(_figure(ticket, now, "first_response",
                               business_minutes=business_minutes_between(from_storage(ticket.created_at), now,
                                                                         closed_days),
                               within_sla=not response.breached_at and (response.due_at or "~") >= stamp))
    ticket.last_staff_reply_at = ticket.updated_at = stamp
    ticket.message_count += 1
    events = []
    if body.close:
        events += clocks.close(ticket, now, identity.subject, "Respondido y cerrado por el personal.")
    else:
        ticket.status = "waiting_on_customer" if body.waiting_on_customer else "answered"
        if body.waiting_on_customer:
            clocks.pause(ticket, now)
        clocks.note(ticket, now, identity.subject, ticket.status)
        clocks.start_autoclose(ticket, now, closed_days, policy)
        clocks.refresh(ticket, closed_days, policy)
        clocks.schedule(ticket)
    events.insert(0, clocks.ticket_event(EventType.TICKET_ANSWERED, ticket, now, message_id=message.message_id,
                                         waiting_on_customer=body.waiting_on_customer))
    uow.save(ticket)
    uow.create(message)
    uow.emit(events)
    uow.commit()
    return staff_ticket_out(ticket, [*messages, message], notes, now)


def staff_note(repos: Repositories, clock: Clock, identity: Identity, ticket_id: str, body: NoteIn) -> NoteOut:
    require_staff(identity)
    if not is_valid_id(ticket_id):
        raise not_found()
    now = clock.now()
    note_id = id_at(now)
    # The ticket is not read: the transaction's check that it exists is the only round trip it needs.
    note = TicketNote(*TicketNote.key(ticket_id, note_id), ticket_id=ticket_id, note_id=note_id,
                      author=identity.subject, body=body.body, created_at=to_storage(now))
    with UnitOfWork() as uow:
        uow.create(note)
        uow.check(Ticket, *Ticket.key(ticket_id), Ticket.pk.exists(), error=not_found())
    return NoteOut(note_id=note_id, author=note.author, body=note.body, created_at=now)


OUTCOMES_ES = {"advice": "es asesoramiento (SLA 1)", "out_of_scope": "está fuera de nuestro alcance: se sugiere "
               "una solución externa", "quote": "se envía un presupuesto para resolverlo"}


def staff_change(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity, ticket_id: str,
                 body: TicketChange) -> StaffTicketOut:
    """Reassign, reclassify (the outcome of an SLA 4 recorded), change the priority, wait on the client, close.
    A new class or priority recomputes the running clocks from their start under the new rule."""
    ticket, messages, notes = _open_for_staff(repos, identity, ticket_id)
    if body.outcome is not None and body.sla_class is None and ticket.sla_class != SlaClass.WEB_AND_SOFTWARE:
        raise InvalidInput("El resultado se indica al reclasificar un ticket SLA 4.", code="outcome_without_sla4",
                           field="outcome")
    now, by = clock.now(), identity.subject
    closed_days = repos.tickets.closed_day_set()
    events: list = []
    if body.assignee is not None and body.assignee != ticket.assignee:
        clocks.note(ticket, now, by, "assigned", f"Asignado a {body.assignee}.")
        ticket.assignee = body.assignee
    rule_changed = False
    if body.sla_class is not None and body.sla_class.value != ticket.sla_class:
        detail = f"Reclasificado de {ticket.sla_class} a {body.sla_class.value}"
        if body.outcome is not None:
            ticket.classification_outcome = body.outcome
            detail += f": {OUTCOMES_ES[body.outcome]}"
        clocks.note(ticket, now, by, "reclassified", detail + ". Los plazos abiertos se recalculan desde su inicio.")
        ticket.sla_class, rule_changed = body.sla_class.value, True
    elif body.outcome is not None:
        ticket.classification_outcome = body.outcome
        clocks.note(ticket, now, by, "outcome", f"El pedido {OUTCOMES_ES[body.outcome]}.")
    if body.priority is not None and body.priority.value != ticket.requested_priority:
        before = ticket.priority
        message = clocks.set_priority(ticket, body.priority)
        clocks.note(ticket, now, by, "priority", f"Prioridad {before} → {ticket.priority}." + (
            f" {message}" if message else ""))
        rule_changed = rule_changed or before != ticket.priority
    if rule_changed:
        clocks.retarget(ticket)
    if body.status == "waiting_on_customer" and ticket.status != "waiting_on_customer":
        ticket.status = "waiting_on_customer"
        clocks.pause(ticket, now)
        clocks.start_autoclose(ticket, now, closed_days, policy)
        clocks.note(ticket, now, by, "waiting_on_customer", body.reason)
    ticket.updated_at = to_storage(now)
    if body.status == "closed":
        events += clocks.close(ticket, now, by, body.reason or "Cerrado por el personal.")
    else:
        clocks.refresh(ticket, closed_days, policy)
        clocks.schedule(ticket)
    with UnitOfWork() as uow:
        uow.save(ticket)
        uow.emit(events)
    return staff_ticket_out(ticket, messages, notes, now)


def merge(repos: Repositories, clock: Clock, identity: Identity, ticket_id: str, body: MergeIn) -> StaffTicketOut:
    """A duplicate joins another ticket of the same account: its messages are copied into it (in time order:
    message ids are time-ordered), it is closed pointing there; one transaction."""
    require_staff(identity)
    if body.into_ticket_id == ticket_id:
        raise MergeNotAllowed("Un ticket no puede unirse consigo mismo.")
    source, source_messages, _ = repos.tickets.conversation(ticket_id)
    if source is None:
        raise not_found()
    target, target_messages, target_notes = repos.tickets.conversation(body.into_ticket_id)
    if target is None:
        raise InvalidInput("No existe el ticket indicado.", code="ticket_not_found", field="into_ticket_id")
    if source.client_id != target.client_id or "closed" in (source.status, target.status):
        raise MergeNotAllowed()
    if len(source_messages) > MAX_MERGED_MESSAGES:
        raise MergeNotAllowed(f"Un ticket con más de {MAX_MERGED_MESSAGES} mensajes no se une: ciérrelo "
                              "indicando el otro.", code="merge_too_large")
    now, by = clock.now(), identity.subject
    uow = UnitOfWork()
    copied = []
    for m in source_messages:
        copy = TicketMessage(*TicketMessage.key(target.ticket_id, m.message_id), ticket_id=target.ticket_id,
                             message_id=m.message_id, author_role=m.author_role, author=m.author,
                             author_name=m.author_name, body=m.body, attachments=list(m.attachments or []),
                             created_at=m.created_at)
        uow.create(copy)
        copied.append(copy)
    target.message_count += len(copied)
    target.updated_at = to_storage(now)
    clocks.note(target, now, by, "merged", f"Se unió el ticket {source.ticket_id} ({len(copied)} mensajes).")
    source.merged_into = target.ticket_id
    uow.emit(clocks.close(source, now, by, f"Duplicado: se unió al ticket {target.ticket_id}."))
    uow.save(source)
    uow.save(target)
    uow.commit()
    return staff_ticket_out(target, sorted([*target_messages, *copied], key=lambda m: m.message_id), target_notes, now)


# --- closed days -----------------------------------------------------------------------------------------


def closed_days(repos: Repositories, identity: Identity) -> list[ClosedDayOut]:
    require_staff(identity)
    return [ClosedDayOut(day=date.fromisoformat(d.day), reason=d.reason) for d in repos.tickets.closed_days()]


def put_closed_day(repos: Repositories, clock: Clock, identity: Identity, day: str, body: ClosedDayIn) -> ClosedDayOut:
    """A company day off. The deadlines already running that it touches move on when the sweep next sees them
    (it recomputes before acting); the clocks that start later count it from the start."""
    require_staff(identity)
    parsed = _day(day)
    if parsed < local_date(clock.now()):
        raise InvalidInput("No se puede cerrar un día que ya pasó.", code="closed_day_past", field="day")
    item = ClosedDay(*ClosedDay.key(parsed.isoformat()), day=parsed.isoformat(), reason=body.reason,
                     created_by=identity.subject, created_at=to_storage(clock.now()))
    item.save()  # a day is its own key: writing it again only updates its reason
    return ClosedDayOut(day=parsed, reason=body.reason)


def delete_closed_day(repos: Repositories, identity: Identity, day: str) -> None:
    require_staff(identity)
    ClosedDay(*ClosedDay.key(_day(day).isoformat())).delete()


def _day(text: str) -> date:
    """The path's day; anything but a YYYY-MM-DD date names no day at all (the one 404, as an unknown id)."""
    try:
        if len(text) != 10:  # fromisoformat also reads "20261201"
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise not_found() from None


# --- figures ---------------------------------------------------------------------------------------------


def _figures_between(repos: Repositories, since: date, until: date) -> list[TicketFigure]:
    start, end = to_storage(local_midnight(since)), to_storage(local_midnight(until + timedelta(days=1)))
    found = []
    for month in months_between(since, until):
        found.extend(f for f in repos.tickets.figures(month, start, end) if f.at < end)
    return found


def _percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)


MAX_REPORT_DAYS = 366


def stats(repos: Repositories, identity: Identity, since: date | None, until: date | None) -> StatsOut:
    require_staff(identity)  # before the query's checks: an anonymous caller learns nothing of the route
    if since is None or until is None:
        raise InvalidInput("Indique el período con 'from' y 'to' (AAAA-MM-DD).", code="period_required",
                           field="from" if since is None else "to")
    if until < since or (until - since).days > MAX_REPORT_DAYS:
        raise InvalidInput(f"El período va de 'from' a 'to', de hasta {MAX_REPORT_DAYS} días.", code="invalid_period",
                           field="to")
    figures = _figures_between(repos, since, until)
    answered = [f for f in figures if f.figure == "first_response"]
    minutes = [f.business_minutes for f in answered if f.business_minutes is not None]
    shares: dict[tuple[str, str], list[int]] = {}
    for f in answered:
        counted = shares.setdefault((f.plan, f.sla_class), [0, 0])
        counted[0] += 1
        counted[1] += 1 if f.within_sla else 0
    return StatsOut(
        since=since, until=until,
        first_response_business_minutes=Figures(
            answered=len(minutes), median=float(statistics.median(minutes)) if minutes else None,
            mean=round(statistics.fmean(minutes), 1) if minutes else None,
            p90=_percentile(minutes, 0.9) if minutes else None),
        within_sla=[SlaShare(plan=plan, sla_class=sla_class, answered=n, within_sla=ok, share=round(ok / n, 3))
                    for (plan, sla_class), (n, ok) in sorted(shares.items())],
        breaches=dict(Counter(f.deadline for f in figures if f.figure == "breach")),
    )


def response_times(repos: Repositories, clock: Clock, identity: Identity) -> ResponseTimesOut:
    """The typical first response of each class, as measured over the last 90 days (business minutes)."""
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions)
    until = local_date(clock.now())
    since = until - RESPONSE_TIMES_WINDOW
    answered = [f for f in _figures_between(repos, since, until) if f.figure == "first_response"]
    classes = []
    for sla_class in SlaClass:
        minutes = [f.business_minutes for f in answered if f.sla_class == sla_class.value]
        classes.append(ResponseTime(sla_class=sla_class, answered=len(minutes),
                                    median_business_minutes=int(statistics.median(minutes)) if minutes else None))
    return ResponseTimesOut(since=since, classes=classes, message=(
        "Tiempo típico (mediana) hasta la primera respuesta, en minutos hábiles (lunes a viernes de 10 a 17), "
        "de los tickets de los últimos 90 días."))


def mark_production(repos: Repositories, identity: Identity, service_id: str, body: ProductionFlag) -> ServiceSummary:
    """Staff mark a service as the client's production: a ticket about it may then be P1 under a Full plan."""
    require_staff(identity)
    service = repos.services.get_service(service_id, consistent=True)
    if service.production != body.production:
        service.production = body.production
        save_one(service)
    return service_summary(service)
