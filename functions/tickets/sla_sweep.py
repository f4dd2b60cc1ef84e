"""Every minute: the tickets whose next SLA step is due (the sparse by_due index, never a Scan) get it —
a warning before a deadline, its breach, the auto-close warning, the auto-close. Each step is recorded on the
ticket in the transaction that emits its event, and the ticket's version check makes a concurrent run lose:
so each warning and each breach happens exactly once. No API models are imported: it stays light.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from tickets import clocks
from tickets.clocks import TicketPolicy

from shared.calendar import local_date
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.tickets import Ticket, TicketFigure, Tickets
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event

logger = Logger()
tickets = Tickets()
clock = SystemClock()
EVENT_OF = {"sla_warning": EventType.TICKET_SLA_WARNING, "sla_breached": EventType.TICKET_SLA_BREACHED,
            "auto_close_warning": EventType.TICKET_AUTO_CLOSE_WARNING}


# Stop taking tickets when less than this is left of the invocation: the rest stay due and the next minute's run
# takes them (a backlog after an outage drains over a few runs instead of timing out half-way through a ticket).
RESERVE_MS = 10_000


def run(repo: Tickets, clock: Clock, policy: TicketPolicy,
        time_left_ms: Callable[[], int] = lambda: RESERVE_MS + 1) -> dict[str, int]:
    now = clock.now()
    done = {"sla_warning": 0, "sla_breached": 0, "auto_close_warning": 0, "auto_close": 0, "rescheduled": 0,
            "skipped": 0, "failed": 0, "left_for_next_run": 0}
    due = sorted(repo.due_before(to_storage(now)), key=lambda t: t.due_sk or "")  # the most overdue first
    closed_days = repo.closed_day_set() if due else frozenset()
    for taken, ticket in enumerate(due):
        if time_left_ms() < RESERVE_MS:
            done["left_for_next_run"] = len(due) - taken
            break
        for attempt in range(2):
            try:
                for what in step(ticket, now, closed_days, policy) or ["rescheduled"]:
                    done[what] += 1
                break
            except ConcurrentModification:  # another run (or a reply) wrote it first: read it again, once
                if attempt:
                    done["skipped"] += 1
                else:
                    ticket = repo.get_ticket(ticket.ticket_id, consistent=True)
            except Exception:  # one broken ticket must not stop the others: it stays due and is logged
                logger.exception("ticket step failed", extra={"ticket_id": ticket.ticket_id})
                done["failed"] += 1
                break
    return done


def step(ticket: Ticket, now: datetime, closed_days: frozenset, policy: TicketPolicy) -> list[str]:
    """Take what is due for one ticket, in one transaction; the names of what was done."""
    # Closed days added since the clocks started move their deadlines on before anything is decided.
    clocks.refresh(ticket, closed_days, policy)
    steps = clocks.due_steps(ticket, now, closed_days)
    uow = UnitOfWork()
    uow.save(ticket)
    events = []
    for s in steps:
        if s.what == "auto_close":
            events += clocks.close(ticket, now, "system", f"Cerrado automáticamente: sin respuesta del cliente en "
                                                   f"{policy.autoclose_business_days} días hábiles.")
            continue
        payload = {"ticket_id": ticket.ticket_id, "subject": ticket.subject, "plan": ticket.plan,
                   "sla_class": ticket.sla_class, "priority": ticket.priority, "deadline": s.deadline,
                   "deadline_label": clocks.DEADLINE_LABELS_ES.get(s.deadline or "", "cierre automático"),
                   "due_at": s.due_at, "assignee": ticket.assignee}
        events.append(new_event(EVENT_OF[s.what], client_id=ticket.client_id, occurred_at=now, payload=payload))
        if s.what == "sla_breached":
            stamp = to_storage(now)
            clocks.note(ticket, now, "system", "sla_breached",
                        f"Venció el plazo de {clocks.DEADLINE_LABELS_ES[s.deadline]}.")
            uow.create(TicketFigure(*TicketFigure.key(local_date(now).strftime("%Y-%m"), stamp, ticket.ticket_id,
                                                      f"breach:{s.deadline}"),
                                    figure="breach", ticket_id=ticket.ticket_id, at=stamp, plan=ticket.plan,
                                    sla_class=ticket.sla_class, deadline=s.deadline))
    clocks.schedule(ticket)
    uow.emit(events)
    uow.commit()
    return [s.what for s in steps]


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    done = run(tickets, clock, TicketPolicy.from_env(), context.get_remaining_time_in_millis)
    logger.info("tickets swept", extra=done)
    return done
