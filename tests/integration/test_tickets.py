"""Tickets through the real handlers on moto, with the functions' clock fixed and moved by the test: the SLA
deadlines a client sees, the support plan in force, pauses, the sweep's warnings and breaches (once, also
under concurrent runs), auto-close and reopen, internal notes, reclassification, merge, attachments, figures."""

import json
import sys
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.clock import FixedClock, from_storage
from shared.dal.outbox import EventRecord
from shared.dal.tickets import Ticket, Tickets
from tests.integration.conftest import claims_for, fix_ticket_clocks
from tests.integration.flows import pay

STAFF = claims_for(staff=True, sub="sub-staff")
# Monday 30 November 2026, 11:00 in Buenos Aires (14:00 UTC): a plain business day.
MONDAY_11 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock(api, monkeypatch):
    """The tickets functions' and the sweep's clock (their modules load on the first call)."""
    fixed = FixedClock(MONDAY_11)
    fix_ticket_clocks(api, monkeypatch, fixed)
    from devstack.runtime import Runtime

    Runtime(api.stack).invoke("TicketSweepFunction", {})
    monkeypatch.setattr(sys.modules["tickets.sla_sweep"], "clock", fixed)
    return fixed


@pytest.fixture
def holder(api, catalog):
    body = {"email": "cliente-tickets@ejemplo.com.ar", "password": "Segura123", "name": "Cliente Tickets"}
    made = api.call("POST", "/clients", body=body)
    assert made.status == 201, made
    return claims_for(client_id=made.json()["client_id"], sub="sub-holder")


def _open(api, claims, **body):
    made = api.call("POST", "/me/tickets", claims=claims, body={
        "subject": "No carga mi sitio", "body": "Desde esta mañana da error 500.", **body})
    assert made.status == 201, made
    return made.json()


def _sweep(api):
    from devstack.runtime import Runtime

    return Runtime(api.stack).invoke("TicketSweepFunction", {})


def _events(event_type: str, ticket_id: str) -> list[dict]:
    return [json.loads(e.payload) for e in EventRecord.scan(EventRecord.type == event_type)
            if json.loads(e.payload).get("ticket_id") == ticket_id]


def _due(ticket: dict, kind: str) -> datetime | None:
    found = next(d for d in ticket["deadlines"] if d["kind"] == kind)
    return datetime.fromisoformat(found["due_at"]) if found["due_at"] else None


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC) + timedelta(hours=3)  # UTC-3, as local wall time


def test_a_standard_ticket_shows_its_deadlines_in_business_time(api, clock, holder):
    ticket = _open(api, holder)
    assert ticket["plan"] == "standard" and ticket["status"] == "open"
    # 8 business hours from Monday 11:00: 6 on Monday (to 17:00), 2 on Tuesday from 10:00.
    assert _due(ticket, "first_response") == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 12:00 local
    # Two whole business days from the client's message: Wednesday 11:00 local.
    assert _due(ticket, "resolution") == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert ticket["next_deadline_at"] == ticket["deadlines"][0]["due_at"]
    listed = api.call("GET", "/me/tickets", claims=holder).json()
    assert [t["ticket_id"] for t in listed] == [ticket["ticket_id"]]
    assert api.call("GET", "/me/tickets?status=closed", claims=holder).json() == []
    detail = api.call("GET", f"/me/tickets/{ticket['ticket_id']}", claims=holder).json()
    assert [m["body"] for m in detail["messages"]] == ["Desde esta mañana da error 500."]


def test_the_plan_in_force_is_the_accounts_active_support_service_and_p1_needs_production(
        api, clock, holder, store):
    client_id = holder["custom:client_id"]
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": "soporte-full", "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])
    hosting = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                       body={"product_id": "hosting-avanzado", "billing_cycle": "annually"}).json()
    service_id = hosting["service"]["service_id"]

    downgraded = _open(api, holder, priority="P1", service_id=service_id)
    assert downgraded["plan"] == "full"
    assert (downgraded["priority"], downgraded["requested_priority"]) == ("P2", "P1")
    assert "P2" in downgraded["priority_message"]
    # Full: 15 business minutes.
    assert _due(downgraded, "first_response") == MONDAY_11 + timedelta(minutes=15)

    marked = api.call("PUT", f"/staff/services/{service_id}/production", claims=STAFF, body={"production": True})
    assert marked.status == 200, marked
    critical = _open(api, holder, priority="P1", service_id=service_id)
    assert critical["priority"] == "P1" and critical["priority_message"] is None
    assert _due(critical, "first_response") == MONDAY_11 + timedelta(minutes=30)
    # A Friday night P1 still answers in 30 minutes: around the clock.
    clock.set(datetime(2026, 12, 5, 1, 0, tzinfo=UTC))  # Friday 22:00 local
    night = _open(api, holder, priority="P1", service_id=service_id)
    assert _due(night, "first_response") == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def test_another_accounts_service_is_refused(api, clock, holder, catalog):
    other = api.call("POST", "/clients", body={"email": "otro@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Otro"}).json()["client_id"]
    theirs = api.call("POST", f"/staff/clients/{other}/orders", claims=STAFF,
                      body={"product_id": "hosting-avanzado", "billing_cycle": "annually"}).json()
    got = api.call("POST", "/me/tickets", claims=holder, body={
        "subject": "Hola", "body": "x", "service_id": theirs["service"]["service_id"]})
    assert (got.status, got.json()["code"]) == (422, "service_not_found"), got


def test_the_sweep_warns_and_breaches_once_even_when_runs_overlap(api, clock, holder):
    ticket = _open(api, holder)
    ticket_id = ticket["ticket_id"]
    assert _sweep(api)["sla_warning"] == 0  # nothing due yet
    # 80 % of 8 business hours: Tuesday 10:24 local. The warning comes once however many runs see it.
    clock.set(datetime(2026, 12, 1, 13, 25, tzinfo=UTC))
    assert _sweep(api)["sla_warning"] == 1
    assert _sweep(api)["sla_warning"] == 0
    warnings = _events("ticket.sla_warning", ticket_id)
    assert [w["deadline"] for w in warnings] == ["first_response"]

    clock.set(datetime(2026, 12, 1, 15, 1, tzinfo=UTC))  # past Tuesday 12:00 local
    results = []
    threads = [threading.Thread(target=lambda: results.append(_sweep(api))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["sla_breached"] for r in results) == 1, results
    assert len(_events("ticket.sla_breached", ticket_id)) == 1
    detail = api.call("GET", f"/me/tickets/{ticket_id}", claims=holder).json()
    assert next(d for d in detail["deadlines"] if d["kind"] == "first_response")["breached_at"]


def test_a_sweep_short_of_time_leaves_the_rest_due_for_the_next_run(api, clock, holder, monkeypatch):
    first, second = _open(api, holder)["ticket_id"], _open(api, holder)["ticket_id"]
    clock.set(datetime(2026, 12, 1, 15, 1, tzinfo=UTC))  # both first responses are past due
    sweep = sys.modules["tickets.sla_sweep"]
    monkeypatch.setattr(sweep, "RESERVE_MS", 10**9)  # whatever the invocation has left is too little
    assert _sweep(api)["left_for_next_run"] == 2
    assert _events("ticket.sla_breached", first) == [] == _events("ticket.sla_breached", second)
    monkeypatch.setattr(sweep, "RESERVE_MS", 10_000)
    done = _sweep(api)
    assert (done["sla_breached"], done["left_for_next_run"]) == (2, 0)


def test_a_clients_tickets_come_a_page_at_a_time_newest_first(api, clock, holder):
    opened = []
    for _ in range(3):
        opened.append(_open(api, holder)["ticket_id"])
        clock.advance(minutes=1)
    page = [t["ticket_id"] for t in api.call("GET", "/me/tickets?limit=2", claims=holder).json()]
    assert page == opened[:0:-1]
    rest = api.call("GET", f"/me/tickets?limit=2&before={page[-1]}", claims=holder).json()
    assert [t["ticket_id"] for t in rest] == [opened[0]]
    staff = api.call("GET", f"/staff/clients/{holder['custom:client_id']}/tickets?limit=1", claims=STAFF).json()
    assert [t["ticket_id"] for t in staff] == [opened[2]]
    assert len(api.call("GET", "/staff/tickets?limit=1", claims=STAFF).json()) == 1
    for bad in ("limit=0", "limit=201", "before=no-es-un-id"):
        refused = api.call("GET", f"/me/tickets?{bad}", claims=holder)
        assert refused.status == 422, (bad, refused)


def test_waiting_on_the_client_stops_the_clocks_and_a_reply_starts_the_next_response(api, clock, holder):
    ticket_id = _open(api, holder)["ticket_id"]
    clock.advance(hours=1)  # Monday 12:00 local
    answered = api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF, body={
        "body": "¿Nos pasa la URL exacta?", "waiting_on_customer": True})
    assert answered.status == 200, answered
    waiting = answered.json()
    assert waiting["status"] == "waiting_on_customer"
    assert _due(waiting, "resolution") is None  # stopped
    first = next(d for d in waiting["deadlines"] if d["kind"] == "first_response")
    assert first["met_at"] and not first["breached_at"]

    clock.advance(hours=3)  # Monday 15:00 local: 3 business hours paused
    replied = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder,
                       body={"body": "Es https://ejemplo.com.ar/tienda"}).json()
    assert replied["status"] == "customer_reply"
    assert replied["paused_minutes"] == 180
    # The next response: 8 business hours from Monday 15:00 → Tuesday 16:00 local.
    assert _due(replied, "next_response") == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    # The resolution restarts from the client's message: Wednesday 15:00 local.
    assert _due(replied, "resolution") == datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    assert [h["what"] for h in replied["history"]] == ["opened", "waiting_on_customer", "resumed"]


def test_internal_notes_never_reach_the_client(api, clock, holder):
    ticket_id = _open(api, holder)["ticket_id"]
    secret = "El cliente debe dos facturas: priorizar cobranza"
    made = api.call("POST", f"/staff/tickets/{ticket_id}/notes", claims=STAFF, body={"body": secret})
    assert made.status == 201, made
    staff_view = api.call("GET", f"/staff/tickets/{ticket_id}", claims=STAFF)
    assert [n["body"] for n in staff_view.json()["notes"]] == [secret]
    api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF, body={"body": "Ya lo revisamos."})
    for path in (f"/me/tickets/{ticket_id}", "/me/tickets"):
        answer = api.call("GET", path, claims=holder)
        assert answer.status == 200 and secret not in answer.text and "notes" not in answer.json()
    replied = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder, body={"body": "Gracias"})
    assert secret not in replied.text


def test_an_idle_answered_ticket_is_warned_then_closed_and_a_late_reply_opens_a_follow_up(api, clock, holder):
    ticket_id = _open(api, holder)["ticket_id"]
    api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF, body={"body": "Listo, ya anda."})
    # Four business days later (Friday 11:00 local): the warning; five (Monday 7 Dec is a bridge holiday,
    # Tuesday 8 Dec a holiday: Wednesday 9 Dec 11:00 local) the close.
    clock.set(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    assert _sweep(api)["auto_close_warning"] == 1
    clock.set(datetime(2026, 12, 9, 13, 59, tzinfo=UTC))
    assert _sweep(api)["auto_close"] == 0
    clock.set(datetime(2026, 12, 9, 14, 0, tzinfo=UTC))
    assert _sweep(api)["auto_close"] == 1
    closed = api.call("GET", f"/me/tickets/{ticket_id}", claims=holder).json()
    assert closed["status"] == "closed" and closed["history"][-1]["what"] == "closed"
    assert len(_events("ticket.auto_close_warning", ticket_id)) == 1

    clock.advance(days=3)  # within ReopenDays: the same ticket reopens
    reopened = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder,
                        body={"body": "Volvió a fallar."}).json()
    assert (reopened["ticket_id"], reopened["status"]) == (ticket_id, "customer_reply")
    assert _due(reopened, "next_response") is not None
    api.call("PATCH", f"/staff/tickets/{ticket_id}", claims=STAFF, body={"status": "closed"})
    clock.advance(days=8)  # later: a new ticket that links the old one
    follow = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder, body={"body": "Otra vez."}).json()
    assert follow["ticket_id"] != ticket_id and follow["follows_ticket_id"] == ticket_id
    assert follow["status"] == "open"


def test_an_auto_close_whose_warning_was_missed_is_warned_first_and_closed_a_business_day_later(api, clock, holder):
    ticket_id = _open(api, holder)["ticket_id"]
    api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF, body={"body": "Listo, ya anda."})
    clock.set(datetime(2026, 12, 9, 14, 0, tzinfo=UTC))  # past the close, no sweep saw the warning's moment
    done = _sweep(api)
    assert (done["auto_close_warning"], done["auto_close"]) == (1, 0)
    assert api.call("GET", f"/me/tickets/{ticket_id}", claims=holder).json()["status"] == "answered"
    clock.set(datetime(2026, 12, 10, 13, 59, tzinfo=UTC))  # Thursday 10:59 local: not yet a business day
    assert _sweep(api)["auto_close"] == 0
    clock.set(datetime(2026, 12, 10, 14, 0, tzinfo=UTC))
    assert _sweep(api)["auto_close"] == 1
    assert len(_events("ticket.auto_close_warning", ticket_id)) == 1


def test_reclassifying_an_sla4_ticket_recomputes_its_deadline_from_the_start(api, clock, holder):
    ticket = _open(api, holder, sla_class="SLA4")
    # SLA 4: two business hours at most.
    assert _due(ticket, "first_response") == MONDAY_11 + timedelta(hours=2)
    changed = api.call("PATCH", f"/staff/tickets/{ticket['ticket_id']}", claims=STAFF,
                       body={"sla_class": "SLA1", "outcome": "advice", "assignee": "Ana"})
    assert changed.status == 200, changed
    body = changed.json()
    assert body["sla_class"] == "SLA1" and body["classification_outcome"] == "advice"
    assert _due(body, "first_response") == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 8 business hours
    assert "asesoramiento" in body["history"][-1]["detail"]
    queue = api.call("GET", "/staff/tickets?assignee=Ana", claims=STAFF).json()
    assert [t["ticket_id"] for t in queue] == [ticket["ticket_id"]]


def test_the_staff_queue_puts_the_nearest_deadline_first_and_full_before_standard_on_ties(api, clock, holder, store):
    slow = _open(api, holder, subject="Consulta general")
    urgent = _open(api, holder, sla_class="SLA4", subject="Error en el plugin")
    queue = [t["ticket_id"] for t in api.call("GET", "/staff/tickets", claims=STAFF).json()]
    assert queue.index(urgent["ticket_id"]) < queue.index(slow["ticket_id"])
    # Same deadline, another plan: Full first.
    other = Ticket.get(*Ticket.key(slow["ticket_id"]))
    tie = Ticket.get(*Ticket.key(urgent["ticket_id"]))
    other.response.due_at, other.plan = tie.response.due_at, "full"
    other.save()
    queue = [t["ticket_id"] for t in api.call("GET", "/staff/tickets", claims=STAFF).json()]
    assert queue.index(slow["ticket_id"]) < queue.index(urgent["ticket_id"])


def test_a_duplicate_merges_into_the_other_ticket(api, clock, holder):
    first = _open(api, holder)["ticket_id"]
    clock.advance(minutes=5)
    duplicate = _open(api, holder, body="Sigue el error 500.")["ticket_id"]
    merged = api.call("POST", f"/staff/tickets/{duplicate}/merge", claims=STAFF, body={"into_ticket_id": first})
    assert merged.status == 200, merged
    assert [m["body"] for m in merged.json()["messages"]] == ["Desde esta mañana da error 500.", "Sigue el error 500."]
    gone = api.call("GET", f"/me/tickets/{duplicate}", claims=holder).json()
    assert gone["status"] == "closed" and gone["merged_into"] == first
    refused = api.call("POST", f"/me/tickets/{duplicate}/replies", claims=holder, body={"body": "?"})
    assert (refused.status, refused.json()["code"]) == (409, "ticket_merged")


def test_attachments_go_through_s3_and_only_what_was_uploaded_is_attached(api, clock, holder, stack):
    ticket_id = _open(api, holder)["ticket_id"]
    refused = api.call("POST", f"/me/tickets/{ticket_id}/attachments", claims=holder,
                       body={"filename": "virus.exe", "content_type": "application/x-msdownload", "size": 10})
    assert (refused.status, refused.json()["code"]) == (422, "attachment_type_not_allowed")
    too_big = api.call("POST", f"/me/tickets/{ticket_id}/attachments", claims=holder,
                       body={"filename": "captura.png", "content_type": "image/png", "size": 11 * 1024 * 1024})
    assert (too_big.status, too_big.json()["code"]) == (422, "attachment_too_large")
    form = api.call("POST", f"/me/tickets/{ticket_id}/attachments", claims=holder,
                    body={"filename": "../../Captura de pantalla <b>.png", "content_type": "image/png", "size": 4})
    assert form.status == 201, form
    upload = form.json()
    key = upload["fields"]["key"]
    assert key.startswith(f"tickets/{ticket_id}/{upload['attachment_id']}/") and key.endswith(".png")
    assert ".." not in key and "<" not in key and " " not in key
    not_yet = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder,
                       body={"body": "Adjunto captura", "attachment_ids": [upload["attachment_id"]]})
    assert (not_yet.status, not_yet.json()["code"]) == (422, "attachment_not_found")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=stack.refs["AttachmentsBucket"], Key=key,
                                                           Body=b"\x89PNG", ContentType="image/png")
    replied = api.call("POST", f"/me/tickets/{ticket_id}/replies", claims=holder,
                       body={"body": "Adjunto captura", "attachment_ids": [upload["attachment_id"]]})
    assert replied.status == 200, replied
    (attachment,) = replied.json()["messages"][-1]["attachments"]
    assert attachment["size"] == 4 and attachment["content_type"] == "image/png"
    link = api.call("GET", f"/me/tickets/{ticket_id}/attachments/{upload['attachment_id']}", claims=holder)
    assert link.status == 200 and key.split("/")[-1] in link.json()["url"].replace("%2F", "/")


def test_figures_report_first_responses_within_sla_and_breaches(api, clock, holder):
    on_time = _open(api, holder)["ticket_id"]
    late = _open(api, holder, sla_class="SLA4")["ticket_id"]
    clock.advance(hours=1)
    api.call("POST", f"/staff/tickets/{on_time}/replies", claims=STAFF, body={"body": "Hecho."})
    clock.advance(hours=2)  # SLA 4's two hours passed
    assert _sweep(api)["sla_breached"] == 1
    api.call("POST", f"/staff/tickets/{late}/replies", claims=STAFF, body={"body": "Perdón la demora."})
    stats = api.call("GET", "/staff/tickets/stats?from=2026-11-30&to=2026-11-30", claims=STAFF)
    assert stats.status == 200, stats
    body = stats.json()
    assert body["first_response_business_minutes"]["answered"] == 2
    assert body["first_response_business_minutes"]["median"] == 120.0  # 60 and 180
    shares = {s["sla_class"]: (s["answered"], s["within_sla"]) for s in body["within_sla"]}
    assert shares == {"SLA1": (1, 1), "SLA4": (1, 0)}
    assert body["breaches"] == {"first_response": 1}
    typical = api.call("GET", "/me/support/response-times", claims=holder).json()
    by_class = {c["sla_class"]: c["median_business_minutes"] for c in typical["classes"]}
    assert by_class["SLA1"] == 60 and by_class["SLA4"] == 180 and by_class["SLA2"] is None


def test_closed_days_move_the_deadlines(api, clock, holder):
    put = api.call("PUT", "/staff/closed-days/2026-12-01", claims=STAFF, body={"reason": "Jornada de la empresa"})
    assert put.status == 200, put
    ticket = _open(api, holder)
    # Tuesday is closed: the 2 remaining business hours fall on Wednesday.
    assert _due(ticket, "first_response") == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert [d["day"] for d in api.call("GET", "/staff/closed-days", claims=STAFF).json()] == ["2026-12-01"]
    past = api.call("PUT", "/staff/closed-days/2026-11-01", claims=STAFF, body={"reason": "x"})
    assert (past.status, past.json()["code"]) == (422, "closed_day_past")
    assert api.call("DELETE", "/staff/closed-days/2026-12-01", claims=STAFF).status == 204
    assert from_storage(Tickets().get_ticket(ticket["ticket_id"]).response.due_at) == datetime(
        2026, 12, 2, 15, 0, tzinfo=UTC)


def test_an_upgrade_request_becomes_a_ticket_for_the_account_executive_once(api, clock, holder, stack, aws):
    from tests.integration.flows import relay, ticket_events

    client_id = holder["custom:client_id"]
    service = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                       body={"product_id": "soporte-standard", "billing_cycle": "monthly"}).json()["service"]
    asked = api.call("POST", f"/services/{service['service_id']}/upgrade-requests", claims=holder,
                     body={"message": "Necesito un plan a medida con más soporte."})
    assert asked.status == 201, asked
    relay(stack, aws)
    ticket_events(stack)
    relay(stack, aws)  # the same event again, as at-least-once delivery may bring it
    ticket_events(stack)
    (ticket,) = Tickets().tickets_of(client_id)
    assert ticket.upgrade_request_id == asked.json()["request_id"] and ticket.opened_by_role == "system"
    detail = api.call("GET", f"/me/tickets/{ticket.ticket_id}", claims=holder).json()
    assert detail["messages"][0]["body"] == "Necesito un plan a medida con más soporte."


def test_open_tickets_follow_a_new_support_plan_from_their_start(api, clock, holder, store, stack, aws):
    from tests.integration.flows import relay, ticket_events

    client_id = holder["custom:client_id"]
    ticket = _open(api, holder)
    assert ticket["plan"] == "standard"
    clock.advance(minutes=30)
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": "soporte-profesional", "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    ticket_events(stack)
    after = api.call("GET", f"/me/tickets/{ticket['ticket_id']}", claims=holder).json()
    assert after["plan"] == "profesional"
    # Recomputed from the ticket's start: 2 business hours from Monday 11:00 local.
    assert _due(after, "first_response") == MONDAY_11 + timedelta(hours=2)
    assert after["history"][-1]["what"] == "plan"
