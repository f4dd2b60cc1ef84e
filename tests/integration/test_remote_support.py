"""Remote support booking: the slots follow the business calendar (holidays, closed days, day ends, buffers and
the minimum notice), each operator-slot is held by one booking whatever the concurrency, bookings move and cancel
until BookingChangeHours before, the confirmation carries an .ics that parses back, reminders go once each, and
staff see the day's agenda, reassign and record the outcome."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from devstack import mailbox
from shared.clock import FixedClock, reset_system_clock, shift_system_clock
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="staff-1")
HOLDER = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
# Friday 4 December 2026, early morning in Buenos Aires. Monday the 7th is a bridge holiday and Tuesday the 8th
# a national one (Inmaculada Concepción): the next sessions after Friday's are on Wednesday the 9th.
FRIDAY_EARLY = datetime(2026, 12, 4, 10, 50, tzinfo=UTC)  # 07:50: the 4 hours reach 12:00


def local(day: int, hour: int, minute: int = 0) -> str:
    """A December 2026 local time (UTC−3) as the API's UTC instant."""
    return (datetime(2026, 12, day, hour, minute, tzinfo=UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def at_friday():
    """The system clock at FRIDAY_EARLY (then back): shifted by the difference from the real time."""
    shift_system_clock(FRIDAY_EARLY - datetime.now(UTC))
    yield
    reset_system_clock()


def _move_to(when: datetime) -> None:
    reset_system_clock()
    shift_system_clock(when - datetime.now(UTC))


@pytest.fixture
def ana(api):
    return claims_for(client_id=api.call("POST", "/clients", body=HOLDER).json()["client_id"], sub="sub-ana")


def _holder(api, n):
    body = {**HOLDER, "email": f"cliente{n}@ejemplo.com.ar", "name": f"Cliente {n}"}
    return claims_for(client_id=api.call("POST", "/clients", body=body).json()["client_id"], sub=f"sub-{n}")


def _book(api, claims, starts_at, rustdesk="123 456 789", **extra):
    return api.call("POST", "/support/remote/bookings", claims=claims, body={
        "starts_at": starts_at, "rustdesk_id": rustdesk, "topic": "No me anda el correo en Outlook", **extra})


def test_slots_follow_the_business_calendar_and_the_notice(api, ana, at_friday):
    slots = api.call("GET", "/support/remote/slots?from=2026-12-04&to=2026-12-09", claims=ana)
    assert slots.status == 200, slots
    starts = [s["starts_at"].replace("+00:00", "Z") for s in slots.json()]
    # Friday from 12:00 (4 hours' notice), hourly (45 minutes + 15 of buffer), the last ending by 17:00; nothing on
    # the weekend nor the two holidays; Wednesday from 10:00.
    assert starts == [local(4, h) for h in (12, 13, 14, 15, 16)] + [local(9, h) for h in range(10, 17)]
    assert {s["operators_free"] for s in slots.json()} == {2}
    assert api.call("PUT", "/staff/closed-days/2026-12-09", claims=STAFF, body={"reason": "Inventario"}).status == 200
    closed = api.call("GET", "/support/remote/slots?from=2026-12-09&to=2026-12-09", claims=ana).json()
    assert closed == []
    far = api.call("GET", "/support/remote/slots?from=0001-01-01&to=9999-12-31", claims=ana)
    assert far.status == 200 and len(far.json()) > len(starts)  # only today to the horizon is looked at
    beyond = api.call("GET", "/support/remote/slots?from=9999-12-31", claims=ana)
    assert (beyond.status, beyond.json()) == (200, [])
    week = api.call("GET", "/support/remote/slots", claims=ana).json()  # today and the coming week
    assert [s["starts_at"].replace("+00:00", "Z") for s in week][:5] == starts[:5]
    backwards = api.call("GET", "/support/remote/slots?from=2026-12-09&to=2026-12-07", claims=ana)
    assert (backwards.status, backwards.json()["code"]) == (422, "invalid_range")


def test_a_booking_holds_one_operator_the_account_books_one_at_a_time_and_bad_input_changes_nothing(
        api, ana, at_friday):
    first = _book(api, ana, local(9, 10))
    assert first.status == 201, first
    booking = first.json()
    assert (booking["operator"], booking["rustdesk_id"], booking["status"]) == ("operador-1", "123456789", "booked")
    again = _book(api, ana, local(9, 11))
    assert (again.status, again.json()["code"]) == (409, "remote_booking_active")
    other, third = _holder(api, 2), _holder(api, 3)
    assert _book(api, other, local(9, 10)).json()["operator"] == "operador-2"
    full = _book(api, third, local(9, 10))
    assert (full.status, full.json()["code"]) == (409, "slot_taken")
    left = api.call("GET", "/support/remote/slots?from=2026-12-09&to=2026-12-09", claims=third).json()
    assert local(9, 10) not in [s["starts_at"].replace("+00:00", "Z") for s in left]

    for body, code in (({"rustdesk_id": "12ab"}, "validation_error"), ({"starts_at": local(9, 10, 30)},
                                                                          "slot_not_offered"),
                       ({"starts_at": local(8, 10)}, "slot_not_offered"),  # the holiday
                       ({"starts_at": local(4, 10)}, "slot_not_offered"),  # within the 4 hours' notice
                       ({"starts_at": "2026-12-09T13:00:00"}, "validation_error"),  # no zone
                       ({"starts_at": "0001-01-01T00:00:00Z"}, "slot_not_offered"),
                       ({"service_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}, "not_found")):
        refused = _book(api, third, **{"starts_at": local(9, 11), **body})
        assert refused.status in (404, 422) and refused.json()["code"] == code, (body, refused)
    assert api.call("GET", "/me/remote-bookings", claims=third).json() == []


def test_fifty_bookings_of_one_slot_at_once_take_each_operator_once(stack, at_friday):
    from support import remote_booking
    from support.app import _policy

    from shared.auth import identity_from_claims
    from shared.clock import from_storage
    from shared.dal.support import OperatorSlot, RemoteBookings

    policy = _policy()
    start = from_storage(local(9, 14))

    def attempt(n):
        identity = identity_from_claims(claims_for(client_id=f"01JCLIENTE{n:016d}", sub=f"s{n}"))
        try:
            return remote_booking.book(RemoteBookings(), lambda *_: None, lambda _: None, FixedClock(FRIDAY_EARLY),
                                       policy, frozenset(), identity, start, "123456789", "Ayuda", None).operator
        except Exception as error:  # noqa: BLE001 - the refusals are counted by kind
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert sorted(o for o in outcomes if o.startswith("operador")) == ["operador-1", "operador-2"], outcomes
    assert set(outcomes) - {"operador-1", "operador-2"} <= {"SlotTaken", "ConcurrentModification"}
    held = [i for i in TableItem.scan() if isinstance(i, OperatorSlot) and from_storage(i.starts_at) == start]
    assert sorted(i.operator for i in held) == ["operador-1", "operador-2"]


def test_the_confirmation_carries_an_ics_and_a_booking_moves_and_cancels_until_two_hours_before(api, ana, at_friday):
    from icalendar import Calendar

    booking = _book(api, ana, local(9, 10)).json()
    (email,) = [m for m in mailbox.sent_emails() if m["subject"] == "Soporte remoto agendado"]
    assert email["to"] == ["someone@ejemplo.com.ar"] and "cartel verde" in email["text"]
    part = next(p for p in mailbox.message(-1).walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 12, 9, 13, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2026, 12, 9, 13, 45, tzinfo=UTC)
    assert str(event["uid"]).startswith(booking["booking_id"]) and "123456789" in str(event["location"])
    assert event.walk("VALARM")[0].decoded("trigger") == -timedelta(minutes=15)

    moved = api.call("POST", f"/me/remote-bookings/{booking['booking_id']}/reschedule", claims=ana,
                     body={"starts_at": local(9, 15)})
    assert moved.status == 200 and moved.json()["starts_at"].startswith("2026-12-09T18:00"), moved
    free = api.call("GET", "/support/remote/slots?from=2026-12-09&to=2026-12-09", claims=ana).json()
    assert {s["starts_at"].replace("+00:00", "Z"): s["operators_free"] for s in free}[local(9, 10)] == 2
    rescheduled = next(p for p in mailbox.message(-1).walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(rescheduled.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 12, 9, 18, 0, tzinfo=UTC) and int(event["sequence"]) >= 1

    _move_to(datetime(2026, 12, 9, 16, 30, tzinfo=UTC))  # 13:30 local: an hour and a half before 15:00
    late = api.call("POST", f"/me/remote-bookings/{booking['booking_id']}/cancel", claims=ana)
    assert (late.status, late.json()["code"]) == (409, "too_late_to_change")
    _move_to(FRIDAY_EARLY)
    cancelled = api.call("POST", f"/me/remote-bookings/{booking['booking_id']}/cancel", claims=ana)
    assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
    assert _book(api, ana, local(9, 15)).status == 201  # the account may book again, and the slot is free


def test_reminders_go_the_day_before_and_fifteen_minutes_before_once_each(api, ana, at_friday):
    from support.remote_booking import send_due_reminders

    from shared.dal.outbox import EventRecord
    from shared.dal.support import RemoteBookings

    booking = _book(api, ana, local(9, 13)).json()

    def run(when):
        return send_due_reminders(RemoteBookings(), FixedClock(when))["sent"]

    day_before = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # 24 hours before 13:00 local on the 9th
    assert run(day_before - timedelta(minutes=1)) == 0
    assert run(day_before) == 1 and run(day_before + timedelta(minutes=1)) == 0
    soon = datetime(2026, 12, 9, 15, 45, tzinfo=UTC)
    assert run(soon - timedelta(minutes=1)) == 0
    assert run(soon) == 1 and run(soon + timedelta(minutes=5)) == 0
    reminders = [json.loads(e.payload) for e in TableItem.scan()
                 if isinstance(e, EventRecord) and e.type == "remote_support.reminder"]
    assert sorted(p["which"] for p in reminders) == ["day_before", "soon"]
    assert {p["booking_id"] for p in reminders} == {booking["booking_id"]}


def test_staff_see_the_agenda_reassign_and_record_the_outcome(api, stack, aws, ana, at_friday):
    from tests.integration.flows import relay, ticket_events

    booking = _book(api, ana, local(9, 11)).json()
    agenda = api.call("GET", "/staff/remote-support/agenda?day=2026-12-09", claims=STAFF).json()
    assert [(b["booking_id"], b["operator"], b["rustdesk_id"]) for b in agenda] == [
        (booking["booking_id"], "operador-1", "123456789")]
    moved = api.call("POST", f"/staff/remote-bookings/{booking['booking_id']}/operator", claims=STAFF,
                     body={"operator": "operador-2"})
    assert moved.status == 200 and moved.json()["operator"] == "operador-2"
    unknown = api.call("POST", f"/staff/remote-bookings/{booking['booking_id']}/operator", claims=STAFF,
                       body={"operator": "nadie"})
    assert (unknown.status, unknown.json()["code"]) == (422, "unknown_operator")
    early = api.call("POST", f"/staff/remote-bookings/{booking['booking_id']}/outcome", claims=STAFF,
                     body={"outcome": "done", "notes": "Se configuró Outlook."})
    assert (early.status, early.json()["code"]) == (409, "not_yet_held")
    _move_to(datetime(2026, 12, 9, 15, 0, tzinfo=UTC))  # 12:00 local, after the 11:00 session
    done = api.call("POST", f"/staff/remote-bookings/{booking['booking_id']}/outcome", claims=STAFF,
                    body={"outcome": "no_show", "notes": "No aceptó el cartel verde."})
    assert done.status == 200 and done.json()["status"] == "no_show"
    assert _book(api, ana, local(10, 16)).status == 201  # the account may book again
    relay(stack, aws)
    ticket_events(stack)  # the notes stay in the account's support history: a ticket, closed (a record)
    (record,) = [t for t in api.call("GET", "/me/tickets", claims=ana).json()
                 if t["subject"] == "Soporte remoto del 09/12/2026 11:00"]
    assert record["status"] == "closed"
    detail = api.call("GET", f"/me/tickets/{record['ticket_id']}", claims=ana).json()
    assert "No aceptó el cartel verde." in detail["messages"][0]["body"]
