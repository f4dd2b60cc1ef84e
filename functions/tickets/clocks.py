"""A ticket's SLA clocks and its next step: the rules both the API and the sweep apply, on the ticket's own
values (no reads, no writes). shared.sla says how long each target is; this module says when a clock starts,
stops and resumes, when it warns, when it breaches and when an idle ticket closes (docs/tickets.md).

- response: runs while the ticket waits on staff (``open``, ``customer_reply``): the first response from the
  ticket's creation, the next from each client reply; met by a staff reply.
- resolution: two whole business days from the client's latest message; a staff reply does not restart it;
  met when the ticket is closed.
- both stop while ``waiting_on_customer`` (the time paused is recorded and not counted).
- an ``answered`` or ``waiting_on_customer`` ticket with no client reply closes after AutoCloseBusinessDays,
  warned one business day before.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import config
from shared.calendar import add_business_minutes, add_whole_business_days, business_minutes_between
from shared.clock import from_storage, to_storage
from shared.dal.table import clear_due, mark_due
from shared.dal.tickets import DUE_KIND, Deadline, HistoryEntry, Pause, Ticket
from shared.errors import Conflict
from shared.events import EventType, new_event
from shared.sla import (
    RESOLUTION_BUSINESS_DAYS,
    Priority,
    SlaClass,
    SupportPlan,
    Target,
    effective_priority,
    first_response_target,
)

if TYPE_CHECKING:
    from shared.dal.accounts import Client
    from shared.dal.services import Service

SWEEP_INTERVAL = timedelta(minutes=1)  # EventBridge's finest rate
WAITING_ON_STAFF = ("open", "customer_reply")
AUTO_CLOSING = ("answered", "waiting_on_customer")
PLAN_RANK = {SupportPlan.FULL: 0, SupportPlan.PROFESIONAL: 1, SupportPlan.STANDARD: 2}
DEADLINE_LABELS_ES = {"first_response": "primera respuesta", "next_response": "respuesta",
                      "resolution": "resolución"}


@dataclass(frozen=True)
class TicketPolicy:
    warning_lead_percent: int = 20
    autoclose_business_days: int = 5
    reopen_days: int = 7

    @classmethod
    def from_env(cls) -> "TicketPolicy":
        return cls(
            warning_lead_percent=min(90, max(1, int(config.env(config.SLA_WARNING_LEAD_PERCENT, "20")))),
            autoclose_business_days=max(2, int(config.env(config.AUTOCLOSE_BUSINESS_DAYS, "5"))),
            reopen_days=max(0, int(config.env(config.REOPEN_DAYS, "7"))),
        )


def _at(text: str | None) -> datetime | None:
    return from_storage(text) if text else None


def note(ticket: Ticket, now: datetime, by: str, what: str, detail: str | None = None) -> None:
    ticket.history = [*(ticket.history or []), HistoryEntry(at=to_storage(now), by=by, what=what, detail=detail)]


# --- the rules of each clock ----------------------------------------------------------------------------


def response_target(ticket: Ticket) -> Target:
    return first_response_target(SupportPlan(ticket.plan), Priority(ticket.priority), SlaClass(ticket.sla_class),
                                 ticket.contract_around_the_clock)


def _pauses_since(ticket: Ticket, start: datetime) -> list[tuple[datetime, datetime | None]]:
    pauses = [(from_storage(p.paused_at), _at(p.resumed_at)) for p in ticket.pauses or []]
    return [(a, b) for a, b in pauses if b is None or b > start]


def _response_times(ticket: Ticket, clock: Deadline, closed_days: frozenset[date], lead_percent: int
                    ) -> tuple[datetime | None, datetime | None]:
    start = from_storage(clock.started_at)
    target = Target(clock.target_minutes, clock.around_the_clock)
    pauses = _pauses_since(ticket, start)
    due = target.due_with_pauses(start, pauses, closed_days)
    if due is None:
        return None, None
    lead = max(1, target.minutes * lead_percent // 100)
    warn = Target(max(0, target.minutes - lead), target.around_the_clock).due_with_pauses(start, pauses, closed_days)
    return due, min(warn or due, due - SWEEP_INTERVAL)


def _resolution_times(ticket: Ticket, clock: Deadline, closed_days: frozenset[date], lead_percent: int
                      ) -> tuple[datetime | None, datetime | None]:
    """Two whole business days from the client's latest message, moved on by the business time of each pause
    that began before it was due."""
    start = from_storage(clock.started_at)
    due = add_whole_business_days(start, RESOLUTION_BUSINESS_DAYS, closed_days)
    for paused_at, resumed_at in sorted(_pauses_since(ticket, start)):
        if paused_at >= due:
            break
        if resumed_at is None:
            return None, None
        shift = business_minutes_between(max(paused_at, start), resumed_at, closed_days)
        if shift:
            due = add_business_minutes(due, shift, closed_days)
    lead = max((due - start) * lead_percent / 100, SWEEP_INTERVAL)
    return due, due - lead


def refresh(ticket: Ticket, closed_days: frozenset[date], policy: TicketPolicy) -> None:
    """Due and warning times of the clocks still running, from their start under their current rule and the
    pauses (after a pause, a resume, a reclassification, a plan change or new closed days)."""
    if ticket.response is not None and not ticket.response.met_at:
        ticket.response.due_at, ticket.response.warn_at = map(_stored, _response_times(
            ticket, ticket.response, closed_days, policy.warning_lead_percent))
    if ticket.resolution is not None and not ticket.resolution.met_at:
        ticket.resolution.due_at, ticket.resolution.warn_at = map(_stored, _resolution_times(
            ticket, ticket.resolution, closed_days, policy.warning_lead_percent))


def _stored(at: datetime | None) -> str | None:
    return to_storage(at) if at else None


def start_response(ticket: Ticket, kind: str, now: datetime) -> None:
    target = response_target(ticket)
    ticket.response = Deadline(kind=kind, started_at=to_storage(now), target_minutes=target.minutes,
                               around_the_clock=target.around_the_clock)


def start_resolution(ticket: Ticket, now: datetime) -> None:
    ticket.resolution = Deadline(kind="resolution", started_at=to_storage(now),
                                 target_minutes=RESOLUTION_BUSINESS_DAYS * 24 * 60, around_the_clock=False)


def retarget(ticket: Ticket) -> None:
    """The running response clock follows the ticket's current plan, class and priority (from its start)."""
    if ticket.response is not None and not ticket.response.met_at:
        target = response_target(ticket)
        ticket.response.target_minutes, ticket.response.around_the_clock = target.minutes, target.around_the_clock


def set_priority(ticket: Ticket, requested: Priority) -> str | None:
    """The ticket's priority (P1 only for a Full plan's production service); the message when downgraded."""
    priority, message = effective_priority(requested, SupportPlan(ticket.plan), ticket.production)
    ticket.requested_priority, ticket.priority = requested.value, priority.value
    return message


# --- pauses and auto-close --------------------------------------------------------------------------------


def pause(ticket: Ticket, now: datetime) -> None:
    if not any(p.resumed_at is None for p in ticket.pauses or []):
        ticket.pauses = [*(ticket.pauses or []), Pause(paused_at=to_storage(now))]


def resume(ticket: Ticket, now: datetime) -> int:
    """Ends the open pause, if any: its length in seconds (recorded on the pause)."""
    for p in ticket.pauses or []:
        if p.resumed_at is None:
            p.resumed_at = to_storage(now)
            return int((now - from_storage(p.paused_at)).total_seconds())
    return 0


def start_autoclose(ticket: Ticket, now: datetime, closed_days: frozenset[date], policy: TicketPolicy) -> None:
    ticket.autoclose_warn_at = to_storage(add_whole_business_days(now, policy.autoclose_business_days - 1, closed_days))
    ticket.autoclose_at = to_storage(add_whole_business_days(now, policy.autoclose_business_days, closed_days))
    ticket.autoclose_warned_at = None


def stop_autoclose(ticket: Ticket) -> None:
    ticket.autoclose_warn_at = ticket.autoclose_at = ticket.autoclose_warned_at = None


# --- what is due ------------------------------------------------------------------------------------------


def running(clock: Deadline | None) -> bool:
    return clock is not None and not clock.met_at and not clock.breached_at and bool(clock.due_at)


def next_deadline(ticket: Ticket) -> str | None:
    """The nearest SLA deadline not met yet (a breached one counts: it is the most urgent), for the queue."""
    dues = [c.due_at for c in (ticket.response, ticket.resolution) if c is not None and not c.met_at and c.due_at]
    return min(dues) if dues else None


def next_step_at(ticket: Ticket) -> str | None:
    """When the sweep has something to do for this ticket: a warning, a breach, an auto-close warning or the
    auto-close itself; None when nothing is pending (closed, or every clock stopped)."""
    if ticket.status == "closed":
        return None
    times = []
    for clock in (ticket.response, ticket.resolution):
        if running(clock):
            if not clock.warned_at and clock.warn_at:
                times.append(clock.warn_at)
            times.append(clock.due_at)
    if ticket.status in AUTO_CLOSING and ticket.autoclose_at:
        if not ticket.autoclose_warned_at and ticket.autoclose_warn_at:
            times.append(ticket.autoclose_warn_at)
        times.append(ticket.autoclose_at)
    return min(times) if times else None


def schedule(ticket: Ticket) -> None:
    """Keep the ticket's by_due entry on its next step. A ticket that is not closed stays on the index even
    with nothing pending (a far-future entry), because the staff queue reads the index."""
    if ticket.status == "closed":
        clear_due(ticket)
        return
    mark_due(ticket, DUE_KIND, ticket.ticket_id, next_step_at(ticket) or "9999-12-31T00:00:00.000000Z")


@dataclass(frozen=True)
class Step:
    what: str  # sla_warning | sla_breached | auto_close_warning | auto_close
    deadline: str | None = None  # the clock's kind
    due_at: str | None = None


def due_steps(ticket: Ticket, now: datetime, closed_days: frozenset[date] = frozenset()) -> list[Step]:
    """What the sweep must do now, and records it on the ticket (so it is done once: the ticket's version
    check makes a concurrent run lose and find it done)."""
    if ticket.status == "closed":
        return []
    stamp, steps = to_storage(now), []
    for clock in (ticket.response, ticket.resolution):
        if not running(clock):
            continue
        if clock.due_at <= stamp:
            clock.breached_at = stamp
            steps.append(Step("sla_breached", clock.kind, clock.due_at))
        elif clock.warn_at and clock.warn_at <= stamp and not clock.warned_at:
            clock.warned_at = stamp
            steps.append(Step("sla_warning", clock.kind, clock.due_at))
    if ticket.status in AUTO_CLOSING and ticket.autoclose_at:
        if ticket.autoclose_at <= stamp and ticket.autoclose_warn_at and not ticket.autoclose_warned_at:
            # The warning's moment passed unseen (the sweep was down): the help centre closes only after a warning
            # a business day before, so warn now and give the client that business day.
            ticket.autoclose_warned_at = stamp
            ticket.autoclose_at = to_storage(add_whole_business_days(now, 1, closed_days))
            steps.append(Step("auto_close_warning", due_at=ticket.autoclose_at))
        elif ticket.autoclose_at <= stamp:
            steps.append(Step("auto_close"))
        elif ticket.autoclose_warn_at and ticket.autoclose_warn_at <= stamp and not ticket.autoclose_warned_at:
            ticket.autoclose_warned_at = stamp
            steps.append(Step("auto_close_warning", due_at=ticket.autoclose_at))
    return steps


# --- a new ticket ---------------------------------------------------------------------------------------


def new_ticket(*, ticket_id: str, client_id: str, subject: str, sla_class: SlaClass, priority: Priority,
               plan: SupportPlan, service: "Service | None", client: "Client | None", opened_by: str, role: str,
               contact_id: str | None, channel: str, now: datetime, closed_days: frozenset[date],
               policy: TicketPolicy) -> tuple[Ticket, str | None]:
    """A ticket whose first-response and resolution clocks start now (not written)."""
    stamp = to_storage(now)
    ticket = Ticket(
        *Ticket.key(ticket_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"TICKET#{ticket_id}", ticket_id=ticket_id,
        client_id=client_id, opened_by=opened_by, opened_by_role=role, opened_by_contact_id=contact_id,
        subject=subject, sla_class=sla_class.value, priority=priority.value, requested_priority=priority.value,
        plan=plan.value, contract_around_the_clock=bool(client and client.contract_around_the_clock),
        service_id=service.service_id if service else None,
        production=bool(service is not None and service.production), channel=channel, status="open",
        created_at=stamp, updated_at=stamp, last_client_message_at=stamp, message_count=1, pauses=[], history=[])
    message = set_priority(ticket, priority)
    start_response(ticket, "first_response", now)
    start_resolution(ticket, now)
    refresh(ticket, closed_days, policy)
    note(ticket, now, opened_by, "opened", message)
    schedule(ticket)
    return ticket, message


# --- events and closing -----------------------------------------------------------------------------------


class TicketClosed(Conflict):
    code = "ticket_closed"
    message = "El ticket está cerrado."


def ticket_event(event_type: EventType, ticket: Ticket, now: datetime, **extra) -> Any:
    return new_event(event_type, client_id=ticket.client_id, occurred_at=now, payload={
        "ticket_id": ticket.ticket_id, "subject": ticket.subject, "plan": ticket.plan, "sla_class": ticket.sla_class,
        "priority": ticket.priority, "status": ticket.status, **extra})


def close(ticket: Ticket, now: datetime, by: str, why: str) -> list:
    """Closed: the resolution is met, nothing is due any more."""
    stamp = to_storage(now)
    if ticket.status == "closed":
        raise TicketClosed()
    resume(ticket, now)
    ticket.status, ticket.closed_at, ticket.closed_by, ticket.updated_at = "closed", stamp, by, stamp
    if ticket.resolution is not None and not ticket.resolution.met_at:
        ticket.resolution.met_at = stamp
    if ticket.response is not None and not ticket.response.met_at:
        ticket.response = None  # nothing left to answer
    stop_autoclose(ticket)
    note(ticket, now, by, "closed", why)
    schedule(ticket)
    return [ticket_event(EventType.TICKET_CLOSED, ticket, now, closed_by=by)]


