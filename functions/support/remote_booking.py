"""Remote support booking (help centre: "Solicitar soporte remoto"; docs/remote-support.md).

Sessions start on the provider's business days (Monday to Friday, no national holiday, no closed day), from
10:00 every slot plus buffer minutes, ending by 17:00 local time; each has one operator. A booking takes one
operator-slot with a conditional write (``OperatorSlot`` must not exist) in the same transaction as the booking and
the account's one-active-booking marker: the availability and the insert are one atomic step, so no concurrency
books one operator twice (Cal.com reads availability and then inserts; two requests in between both win).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.auth import Identity, Permission, authorize, require_account, sees
from shared.calendar import (
    BUSINESS_CLOSES,
    BUSINESS_OPENS,
    BUSINESS_TZ,
    is_open_day,
    local_date,
    months_between,
)
from shared.clock import Clock, from_storage, to_storage
from shared.dal.support import DUE_KIND, ActiveRemoteBooking, OperatorSlot, RemoteBooking, RemoteBookings
from shared.dal.table import clear_due, mark_due, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.events import EventType, new_event
from shared.ids import new_id

REMINDERS = (("day_before", timedelta(hours=24)), ("soon", timedelta(minutes=15)))


@dataclass(frozen=True)
class RemotePolicy:
    operators: tuple[str, ...]
    slot: timedelta
    buffer: timedelta
    min_notice: timedelta
    horizon: timedelta
    change_until: timedelta  # before the start: moving or cancelling is possible until then



class SlotNotOffered(InvalidInput):
    code = "slot_not_offered"
    message = ("Ese horario no se ofrece: elija uno de GET /support/remote/slots (días hábiles, de 10 a 17, con la "
               "anticipación mínima).")


class SlotTaken(Conflict):
    code = "slot_taken"
    message = "Ese horario se acaba de ocupar. Elija otro."


class OneBookingAtATime(Conflict):
    code = "remote_booking_active"
    message = "Su cuenta ya tiene un soporte remoto agendado: cámbielo o cancélelo antes de pedir otro."


class TooLateToChange(Conflict):
    code = "too_late_to_change"


class BookingClosed(Conflict):
    code = "booking_closed"
    message = "Ese soporte remoto ya fue cancelado o atendido."


# --- slots (pure) -----------------------------------------------------------------------------------------------


def day_starts(day: date, policy: RemotePolicy) -> list[datetime]:
    """The starts of one local day's slots (aware, UTC), whether or not the day is open."""
    start = datetime.combine(day, BUSINESS_OPENS, tzinfo=BUSINESS_TZ)
    closes = datetime.combine(day, BUSINESS_CLOSES, tzinfo=BUSINESS_TZ)
    starts = []
    while start + policy.slot <= closes:
        starts.append(start.astimezone(UTC))
        start += policy.slot + policy.buffer
    return starts


def offered_starts(first: date, last: date, now: datetime, policy: RemotePolicy,
                   closed_days: frozenset[date]) -> list[datetime]:
    """Every start offered between two local days: open days only, from now + the minimum notice, up to the
    horizon."""
    earliest, latest = now + policy.min_notice, now + policy.horizon
    found, day = [], first
    while day <= last:
        if is_open_day(day, closed_days):
            found.extend(s for s in day_starts(day, policy) if earliest <= s <= latest)
        day += timedelta(days=1)
    return found


@dataclass(frozen=True)
class FreeSlot:
    starts_at: datetime
    ends_at: datetime
    operators_free: int


def free_slots(repo: RemoteBookings, clock: Clock, policy: RemotePolicy, closed_days: frozenset[date],
               first: date | None, last: date | None) -> list[FreeSlot]:
    """The free starts between two local days (by default today, and a week from ``first``)."""
    now = clock.now()
    if first is not None and last is not None and last < first:
        raise InvalidInput("`to` no puede ser anterior a `from`.", code="invalid_range", field="to")
    # Only today to the horizon can hold offered starts: a range asked far into the past or future costs nothing.
    today, horizon = local_date(now), local_date(now + policy.horizon)
    first = min(max(first or today, today), horizon + timedelta(days=1))
    last = min(last if last is not None else first + timedelta(days=7), horizon)
    starts = offered_starts(first, last, now, policy, closed_days) if first <= last else []
    if not starts:
        return []
    taken: dict[str, set[str]] = {}
    for slot in repo.taken(months_between(first, last), to_storage(starts[0]), to_storage(starts[-1])):
        taken.setdefault(slot.starts_at, set()).add(slot.operator)
    free = []
    for start in starts:
        count = len(set(policy.operators) - taken.get(to_storage(start), set()))
        if count:
            free.append(FreeSlot(start, start + policy.slot, count))
    return free


def _offered(start: datetime, now: datetime, policy: RemotePolicy, closed_days: frozenset[date]) -> datetime:
    if not now <= start <= now + policy.horizon:  # before any local conversion: year 1 has no local time
        raise SlotNotOffered(field="starts_at")
    day = local_date(start)
    if start not in offered_starts(day, day, now, policy, closed_days):
        raise SlotNotOffered(field="starts_at")
    return start


def _claim(uow: UnitOfWork, booking: RemoteBooking, operator: str, start: datetime) -> None:
    slot = OperatorSlot(*OperatorSlot.key(operator, booking.starts_at), operator=operator,
                        starts_at=booking.starts_at, booking_id=booking.booking_id, client_id=booking.client_id)
    slot.gsi1pk = OperatorSlot.month_partition(local_date(start).strftime("%Y-%m"))
    slot.gsi1sk = f"{booking.starts_at}#{operator}"
    uow.create(slot, error=SlotTaken())


def _schedule_reminder(booking: RemoteBooking, now: datetime) -> None:
    """The booking's next reminder on by_due: the first not sent whose time has not passed (a booking made less
    than a day ahead gets only the one 15 minutes before)."""
    start = from_storage(booking.starts_at)
    for which, before in REMINDERS:
        at = start - before
        if which not in (booking.reminders_sent or []) and at > now:
            mark_due(booking, DUE_KIND, booking.booking_id, to_storage(max(at, now)))
            return
    clear_due(booking)


def _event(kind: EventType, booking: RemoteBooking, now: datetime, **extra):
    return new_event(kind, client_id=booking.client_id, occurred_at=now, payload={
        "booking_id": booking.booking_id, "client_id": booking.client_id, "starts_at": booking.starts_at,
        "ends_at": booking.ends_at, "operator": booking.operator, "rustdesk_id": booking.rustdesk_id,
        "service_id": booking.service_id, **extra})


def _free_operators(repo: RemoteBookings, policy: RemotePolicy, start: datetime) -> list[str]:
    stored = to_storage(start)
    taken = {s.operator for s in repo.taken([local_date(start).strftime("%Y-%m")], stored, stored)}
    free = [o for o in policy.operators if o not in taken]
    if not free:
        raise SlotTaken()
    return free


def _with_a_free_operator(repo: RemoteBookings, policy: RemotePolicy, start: datetime, stage) -> str:
    """Commit ``stage(uow, operator)`` with the first operator free at ``start``; one just taken by someone else
    makes us try the next (each try is one atomic claim)."""
    from shared.errors import ConcurrentModification

    for operator in _free_operators(repo, policy, start):
        uow = UnitOfWork()
        stage(uow, operator)
        try:
            uow.commit()
            return operator
        except (SlotTaken, ConcurrentModification):  # another transaction on that operator-slot at this instant
            continue
    raise SlotTaken()


# --- the client's bookings ------------------------------------------------------------------------------------


def book(repo: RemoteBookings, contact_permissions, service_of, clock: Clock, policy: RemotePolicy,
         closed_days: frozenset[date], identity: Identity, starts_at: datetime, rustdesk_id: str, topic: str,
         service_id: str | None) -> RemoteBooking:
    client_id = require_account(identity)
    services = None
    if service_id:
        owner = service_of(service_id)
        if owner != client_id:
            raise not_found()
        services = [service_id]
    authorize(identity, client_id, Permission.TICKETS, contact_permissions, services=services)
    now = clock.now()
    start = _offered(starts_at, now, policy, closed_days)
    stored = to_storage(now)
    booking = RemoteBooking(*RemoteBooking.key(new_id()), client_id=client_id, operator="-",
                            starts_at=to_storage(start), ends_at=to_storage(start + policy.slot),
                            rustdesk_id=rustdesk_id, topic=topic, service_id=service_id, booked_by=identity.subject,
                            contact_id=identity.contact_id, created_at=stored, updated_at=stored)
    booking.booking_id = booking.pk.removeprefix("REMOTE#")
    booking.list_on_account()
    _schedule_reminder(booking, now)
    active = ActiveRemoteBooking(*ActiveRemoteBooking.key(client_id), booking_id=booking.booking_id,
                                 ends_at=booking.ends_at)

    def stage(uow: UnitOfWork, operator: str) -> None:
        booking.operator = operator
        uow.save(active, condition=ActiveRemoteBooking.pk.does_not_exist() | (ActiveRemoteBooking.ends_at <= stored),
                 error=OneBookingAtATime())
        _claim(uow, booking, operator, start)
        uow.create(booking)
        uow.emit([_event(EventType.REMOTE_SUPPORT_BOOKED, booking, now, topic=topic)])

    _with_a_free_operator(repo, policy, start, stage)
    return booking


def _own(repo: RemoteBookings, contact_permissions, identity: Identity, booking_id: str) -> RemoteBooking:
    client_id = require_account(identity)
    booking = repo.get(booking_id)
    if booking is None or booking.client_id != client_id:
        raise not_found()
    authorize(identity, client_id, Permission.TICKETS, contact_permissions,
              services=[booking.service_id] if booking.service_id else None)
    return booking


def _changeable(booking: RemoteBooking, now: datetime, policy: RemotePolicy) -> None:
    if booking.status != "booked":
        raise BookingClosed()
    hours = int(policy.change_until.total_seconds() // 3600)
    if from_storage(booking.starts_at) - policy.change_until < now:
        raise TooLateToChange(f"Solo puede cambiarlo o cancelarlo hasta {hours} horas antes. Escríbanos por un "
                              "ticket si no puede estar a esa hora.")


def list_mine(repo: RemoteBookings, contact_permissions, identity: Identity) -> list[RemoteBooking]:
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.TICKETS, contact_permissions)
    return [b for b in repo.of_account(client_id) if sees(grant, b.service_id, own=b.booked_by == identity.subject)]


def cancel(repo: RemoteBookings, contact_permissions, clock: Clock, policy: RemotePolicy, identity: Identity,
           booking_id: str) -> RemoteBooking:
    booking = _own(repo, contact_permissions, identity, booking_id)
    now = clock.now()
    _changeable(booking, now, policy)
    booking.status, booking.updated_at = "cancelled", to_storage(now)
    clear_due(booking)
    with UnitOfWork() as uow:
        uow.save(booking)
        uow.delete(OperatorSlot(*OperatorSlot.key(booking.operator, booking.starts_at)))
        _release(repo, uow, booking)
        uow.emit([_event(EventType.REMOTE_SUPPORT_CANCELLED, booking, now)])
    return booking


def _release(repo: RemoteBookings, uow: UnitOfWork, booking: RemoteBooking) -> None:
    """The account may book again: its active-booking marker goes with the change, if it is this booking's (read,
    then deleted only if still so: a new booking taking it meanwhile makes the change try again)."""
    active = repo.active(booking.client_id)
    if active is not None and active.booking_id == booking.booking_id:
        uow.delete(active, condition=ActiveRemoteBooking.booking_id == booking.booking_id)


def reschedule(repo: RemoteBookings, contact_permissions, clock: Clock, policy: RemotePolicy,
               closed_days: frozenset[date], identity: Identity, booking_id: str, starts_at: datetime
               ) -> RemoteBooking:
    """Another start for the same session (until ``BookingChangeHours`` before the current one): the new
    operator-slot claimed and the old one freed in one transaction; the reminders start over."""
    booking = _own(repo, contact_permissions, identity, booking_id)
    now = clock.now()
    _changeable(booking, now, policy)
    start = _offered(starts_at, now, policy, closed_days)
    if to_storage(start) == booking.starts_at:
        return booking
    return _move(repo, policy, booking, start, now, None)


def _move(repo: RemoteBookings, policy: RemotePolicy, booking: RemoteBooking, start: datetime, now: datetime,
          operator: str | None) -> RemoteBooking:
    previous_start, previous_operator = booking.starts_at, booking.operator
    active = repo.active(booking.client_id)
    booking.starts_at, booking.ends_at = to_storage(start), to_storage(start + policy.slot)
    booking.reminders_sent, booking.updated_at = [], to_storage(now)
    booking.list_on_account()
    _schedule_reminder(booking, now)

    def stage(uow: UnitOfWork, chosen: str) -> None:
        booking.operator = chosen
        uow.save(booking)  # version-checked: a cancellation or another change at this instant wins
        _claim(uow, booking, chosen, start)
        uow.delete(OperatorSlot(*OperatorSlot.key(previous_operator, previous_start)))
        if active is not None and active.booking_id == booking.booking_id:
            active.ends_at = booking.ends_at
            uow.save(active, condition=ActiveRemoteBooking.booking_id == booking.booking_id)
        uow.emit([_event(EventType.REMOTE_SUPPORT_RESCHEDULED, booking, now, previous_starts_at=previous_start,
                         previous_operator=previous_operator)])

    if operator is not None:
        uow = UnitOfWork()
        stage(uow, operator)
        uow.commit()
    else:
        _with_a_free_operator(repo, policy, start, stage)
    return booking


# --- staff ------------------------------------------------------------------------------------------------------


class UnknownOperator(InvalidInput):
    code = "unknown_operator"
    message = "Ese operador no atiende soporte remoto (REMOTE_SUPPORT_OPERATORS)."


class NotYetHeld(Conflict):
    code = "not_yet_held"
    message = "El resultado se registra cuando el horario del soporte remoto ya empezó."


def agenda(repo: RemoteBookings, day: date) -> list[RemoteBooking]:
    """One local day's sessions, by start and operator (what each operator has to do, with the RustDesk ids)."""
    first = datetime.combine(day, datetime.min.time(), tzinfo=BUSINESS_TZ)
    slots = repo.taken([day.strftime("%Y-%m")], to_storage(first), to_storage(first + timedelta(days=1)))
    bookings = repo.get_many([s.booking_id for s in slots])
    return sorted((b for b in bookings if b.status != "cancelled"), key=lambda b: (b.starts_at, b.operator))


def reassign(repo: RemoteBookings, clock: Clock, policy: RemotePolicy, booking_id: str, operator: str
             ) -> RemoteBooking:
    """Staff give a session to another operator, free at its start (one conditional claim, as a booking)."""
    if operator not in policy.operators:
        raise UnknownOperator(field="operator")
    booking = repo.get(booking_id)
    if booking is None:
        raise not_found()
    if booking.status != "booked":
        raise BookingClosed()
    if booking.operator == operator:
        return booking
    return _move(repo, policy, booking, from_storage(booking.starts_at), clock.now(), operator)


def record_outcome(repo: RemoteBookings, clock: Clock, identity: Identity, booking_id: str, outcome: str,
                   notes: str) -> RemoteBooking:
    """What happened (``done`` or ``no_show``) and the operator's notes, once the session's time has come; the
    account may book again."""
    booking = repo.get(booking_id)
    if booking is None:
        raise not_found()
    if booking.status != "booked":
        raise BookingClosed()
    now = clock.now()
    if from_storage(booking.starts_at) > now:
        raise NotYetHeld()
    booking.status, booking.outcome_notes, booking.updated_at = outcome, notes, to_storage(now)
    clear_due(booking)
    with UnitOfWork() as uow:
        uow.save(booking)
        _release(repo, uow, booking)
        uow.emit([_event(EventType.REMOTE_SUPPORT_ENDED, booking, now, outcome=outcome, notes=notes,
                         by=identity.subject)])
    return booking


# --- reminders (the sweep) ----------------------------------------------------------------------------------------


def send_due_reminders(repo: RemoteBookings, clock: Clock) -> dict[str, int]:
    """Every booking whose next reminder is due: the reminder's event and the next one scheduled, in one
    version-checked write — two runs at once send it once."""
    from shared.errors import ConcurrentModification

    now = clock.now()
    done = {"sent": 0, "skipped": 0}
    for booking in repo.reminders_due(to_storage(now)):
        start = from_storage(booking.starts_at)
        due = [w for w, before in REMINDERS if w not in (booking.reminders_sent or []) and start - before <= now]
        if booking.status != "booked" or start <= now or not due:
            clear_due(booking)  # nothing left to remind: off the index
            which = None
        else:
            which = due[-1]  # late (an outage): only the nearest one, never two at once
            booking.reminders_sent = [w for w, _ in REMINDERS if w in due or w in (booking.reminders_sent or [])]
            _schedule_reminder(booking, now)
        try:
            with UnitOfWork() as uow:
                uow.save(booking)
                if which:
                    uow.emit([_event(EventType.REMOTE_SUPPORT_REMINDER, booking, now, which=which,
                                     topic=booking.topic)])
            done["sent" if which else "skipped"] += 1
        except ConcurrentModification:
            done["skipped"] += 1
    return done
