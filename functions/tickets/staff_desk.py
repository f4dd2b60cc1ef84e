"""The help desk, staff's side: the queue (the nearest deadline first), a ticket with its internal notes, answers
(written or a logged call), notes, changes (assign, reclassify, priority, wait on the client, close), merges,
a client's tickets and tickets opened for it, the company's closed days, the first-response figures, a service
marked as production. Each change is one transaction; the SLA clocks follow tickets.clocks. The clients' side is
tickets.logic."""

import statistics
from collections import Counter
from datetime import date, datetime

from tickets import attachments as files
from tickets import clocks
from tickets.clocks import TicketPolicy
from tickets.logic import PAGE_SIZE, detail_fields, figures_between, open_ticket, summary
from tickets.records import Files, Repositories, new_message
from tickets.schemas import TicketOut, TicketSummary
from tickets.staff_schemas import (
    CallLog,
    ClosedDayIn,
    ClosedDayOut,
    Figures,
    MergeIn,
    NoteIn,
    NoteOut,
    ProductionFlag,
    SlaShare,
    StaffOpenTicket,
    StaffReply,
    StaffTicketOut,
    StatsOut,
    TicketChange,
)

from shared.auth import Identity, require_staff
from shared.calendar import business_minutes_between, local_date
from shared.clock import Clock, from_storage, to_storage
from shared.dal.closed_days import ClosedDay
from shared.dal.table import not_found, save_one
from shared.dal.tickets import Ticket, TicketFigure, TicketMessage, TicketNote
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.events import EventType
from shared.ids import id_at, is_valid_id
from shared.schemas import ServiceSummary, service_summary
from shared.sla import SlaClass, SupportPlan

# --- reading ---------------------------------------------------------------------------------------------


QUEUE_SIZE = 200  # the staff queue's most urgent tickets


def staff_ticket_out(ticket: Ticket, messages: list[TicketMessage], notes: list[TicketNote],
                     now: datetime) -> StaffTicketOut:
    return StaffTicketOut(
        **detail_fields(ticket, messages, now), opened_by=ticket.opened_by,
        upgrade_request_id=ticket.upgrade_request_id, requester_email=ticket.requester_email,
        guest_email=ticket.guest_email, claimed_ticket_id=ticket.claimed_ticket_id,
        originals=[m.message_id for m in messages if m.original_key],
        notes=[NoteOut(note_id=n.note_id, author=n.author, body=n.body, created_at=from_storage(n.created_at))
               for n in notes])


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


# --- answering and changing ------------------------------------------------------------------------------


def staff_open_ticket(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity,
                      client_id: str, body: StaffOpenTicket) -> TicketOut:
    require_staff(identity)
    return open_ticket(repos, clock, policy, identity, body, client_id=client_id)


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


DIRECTION_ES = {"inbound": "entrante", "outbound": "saliente"}


def log_call(repos: Repositories, clock: Clock, policy: TicketPolicy, store: Files, identity: Identity,
             ticket_id: str, body: CallLog) -> StaffTicketOut:
    """A phone call staff had with the client (tickets.phone_support): staff's answer like a written one, so the
    SLA clock stops and the client reads the summary in the panel (and by email)."""
    text = (f"Llamada {DIRECTION_ES[body.direction]} de {body.duration_minutes} min.\n\n{body.summary}")
    reply = StaffReply(body=text, waiting_on_customer=body.waiting_on_customer)
    return staff_reply(repos, clock, policy, store, identity, ticket_id, reply, channel="phone",
                       call_minutes=body.duration_minutes)


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


# --- merging ---------------------------------------------------------------------------------------------


# A merge copies the duplicate's messages into one transaction with the two tickets and their events.
MAX_MERGED_MESSAGES = 90


class MergeNotAllowed(Conflict):
    code = "merge_not_allowed"
    message = "Solo se unen tickets abiertos de la misma cuenta."


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
    figures = figures_between(repos, since, until)
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


# --- services --------------------------------------------------------------------------------------------


def mark_production(repos: Repositories, identity: Identity, service_id: str, body: ProductionFlag) -> ServiceSummary:
    """Staff mark a service as the client's production: a ticket about it may then be P1 under a Full plan."""
    require_staff(identity)
    service = repos.services.get_service(service_id, consistent=True)
    if service.production != body.production:
        service.production = body.production
        save_one(service)
    return service_summary(service)
