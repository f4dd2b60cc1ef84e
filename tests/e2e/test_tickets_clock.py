"""A ticket's SLA on `make dev`, with the test clock: the demo holder opens an SLA 4 ticket at a known business
moment and sees its deadlines; the one-minute sweep warns staff on call before the first response is due and
tells them once it is breached (the fake WhatsApp, to the stack's OpsWhatsAppNumbers); staff answer; the client
sees the answer and hears of it on WhatsApp. On a stack of its own (its clock moves)."""

from datetime import datetime, time, timedelta

import pytest

from devstack.stack import LOCAL_OPS_WHATSAPP_NUMBERS
from shared.calendar import BUSINESS_TZ, is_business_day
from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("tickets_clock")]

HOLDER, STAFF = "demo@ejemplo.com.ar", "staff@ejemplo.com.ar"
HOLDER_WHATSAPP = "5491123456789"  # the seed's demo holder, WhatsApp alerts on
OPS_WHATSAPP = LOCAL_OPS_WHATSAPP_NUMBERS.lstrip("+")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _next_business_day(after: datetime) -> datetime:
    """10:00 in Buenos Aires (business hours open) of the first business day after ``after``'s local day."""
    day = after.astimezone(BUSINESS_TZ).date() + timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=BUSINESS_TZ)


def _business_days_later(moment: datetime, days: int) -> datetime:
    day = moment.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not is_business_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, moment.timetz())


def _sweep(moved: dict) -> dict:
    """What the move made the ticket sweep do (it runs every minute: once per move)."""
    runs = [f for f in moved["fired"] if f["schedule"].startswith("TicketSweepFunction")]
    assert len(runs) == 1 and "result" in runs[0], moved["fired"]
    return runs[0]["result"]


def test_an_sla4_ticket_warns_and_breaches_to_staff_on_call_and_the_answer_reaches_the_client(own_stack):
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)

    def move(to: datetime) -> dict:
        status, moved = http.json("POST", "/local/clock", body={"now": to.isoformat()})
        assert status == 200, moved
        return moved

    def whatsapp(template: str, to: str) -> list[dict]:
        sent = http.json("GET", "/local/whatsapp")[1]["messages"]
        return [m for m in sent if m["template"] == template and m["to"] == to and m["parameters"][0] == ref]

    # A known business moment: 10:00 of the next business day (weekends and Argentine holidays skipped).
    opened_at = _next_business_day(_at(http.json("GET", "/local/clock")[1]["now"]))
    move(opened_at)

    # Opened as SLA 4 on the Standard plan: first response within 2 business hours, i.e. by 12:00 the same day
    # (the test clock keeps running after a move: the ticket is opened a few seconds after 10:00).
    status, ticket = http.json("POST", "/me/tickets", token=holder, body={
        "subject": "El formulario de contacto no envía", "body": "Desde ayer el formulario de mi sitio no envía.",
        "sla_class": "SLA4"})
    assert status == 201, ticket
    ticket_id, ref = ticket["ticket_id"], ticket["ticket_id"][-8:]
    assert (ticket["status"], ticket["sla_class"], ticket["plan"]) == ("open", "SLA4", "standard")
    created = _at(ticket["created_at"]).astimezone(BUSINESS_TZ)
    assert opened_at <= created < opened_at + timedelta(minutes=1)
    first_due = created + timedelta(hours=2)
    resolution_due = _business_days_later(created, 2)
    deadlines = {d["kind"]: d for d in ticket["deadlines"]}
    assert set(deadlines) == {"first_response", "resolution"}
    assert _at(deadlines["first_response"]["due_at"]) == first_due
    assert deadlines["first_response"]["target"] == "2 horas hábiles"
    assert _at(deadlines["resolution"]["due_at"]) == resolution_due

    # The holder reads it back with the same deadline, the nearest one first.
    status, seen = http.json("GET", f"/me/tickets/{ticket_id}", token=holder)
    assert status == 200, seen
    assert _at(seen["next_deadline_at"]) == first_due
    assert seen["deadlines"] == ticket["deadlines"]

    # 11:40, 20 minutes left (less than SlaWarningLeadPercent's 20 % of 120): staff on call are warned, at once.
    assert _sweep(move(opened_at + timedelta(minutes=100)))["sla_warning"] == 1
    warned = wait_for(lambda: whatsapp("ticket_sla_por_vencer_staff", OPS_WHATSAPP), bool)
    due_text = first_due.strftime("%d/%m/%Y %H:%M")
    assert [m["parameters"] for m in warned] == [[ref, "primera respuesta", due_text, "Standard", "SLA4"]]

    # 12:05, unanswered: breached, once, and staff on call are told.
    assert _sweep(move(first_due + timedelta(minutes=5)))["sla_breached"] == 1
    breached = wait_for(lambda: whatsapp("ticket_sla_vencido_staff", OPS_WHATSAPP), bool)
    assert [m["parameters"] for m in breached] == [[ref, "primera respuesta", due_text, "Standard", "SLA4"]]
    late = {d["kind"]: d for d in http.json("GET", f"/me/tickets/{ticket_id}", token=holder)[1]["deadlines"]}
    assert late["first_response"]["breached_at"] and not late["first_response"]["met_at"]
    # The next minute's sweep finds nothing more to say about it.
    after = _sweep(move(first_due + timedelta(minutes=7)))
    assert (after["sla_warning"], after["sla_breached"]) == (0, 0), after

    # Staff answer (late): the client sees the answer, its deadline met, and hears of it on WhatsApp.
    answer = "Revisamos el formulario: ya envía. Pruebe de nuevo, por favor."
    status, answered = http.json("POST", f"/staff/tickets/{ticket_id}/replies", token=staff, body={"body": answer})
    assert status == 200, answered
    assert answered["status"] == "answered"
    status, seen = http.json("GET", f"/me/tickets/{ticket_id}", token=holder)
    assert status == 200, seen
    assert seen["status"] == "answered" and "notes" not in seen
    assert [(m["author_role"], m["body"]) for m in seen["messages"]][-1] == ("staff", answer)
    assert len(seen["messages"]) == 2
    first = next(d for d in seen["deadlines"] if d["kind"] == "first_response")
    assert first_due + timedelta(minutes=7) <= _at(first["met_at"]) < first_due + timedelta(minutes=8)
    assert first["breached_at"]
    told = wait_for(lambda: whatsapp("ticket_respondido", HOLDER_WHATSAPP), bool)
    assert [m["parameters"] for m in told] == [[ref, "El formulario de contacto no envía"]]

    # Staff on call heard of this ticket exactly twice: one warning, one breach.
    sent = http.json("GET", "/local/whatsapp")[1]["messages"]
    assert sorted(m["template"] for m in sent if m["to"] == OPS_WHATSAPP and m["parameters"][0] == ref) == [
        "ticket_sla_por_vencer_staff", "ticket_sla_vencido_staff"]
