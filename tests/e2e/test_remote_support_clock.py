"""Remote support on `make dev`, with the test clock: the demo holder books the first slot of the next business day,
gets the confirmation with its .ics, staff see it in that day's agenda, and the one-minute sweep sends the WhatsApp
reminders the day before and 15 minutes before, once each. Then a migration's access is revealed by staff and
purged with the test clock. On a stack of its own (its clock moves)."""

from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.test_tickets_clock import HOLDER, HOLDER_WHATSAPP, STAFF, _at, _next_business_day

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("remote_support_clock")]


def test_the_holder_books_remote_support_staff_see_it_and_the_reminders_arrive_once(own_stack):
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)

    def move(to: datetime) -> dict:
        status, moved = http.json("POST", "/local/clock", body={"now": to.isoformat()})
        assert status == 200, moved
        return moved

    def reminders() -> list[dict]:
        sent = http.json("GET", "/local/whatsapp")[1]["messages"]
        return [m for m in sent if m["template"] == "soporte_remoto_recordatorio" and m["to"] == HOLDER_WHATSAPP]

    # Two business days ahead at 10:00, so a whole day passes before the session.
    morning = _next_business_day(_at(http.json("GET", "/local/clock")[1]["now"]))
    move(morning)
    day = _next_business_day(morning).date()
    status, slots = http.json("GET", f"/support/remote/slots?from={day}&to={day}", token=holder)
    assert status == 200 and slots, slots
    start = slots[1]["starts_at"]  # 11:00: its day-before reminder comes after the clock's 10:00
    status, booking = http.json("POST", "/support/remote/bookings", token=holder, body={
        "starts_at": start, "rustdesk_id": "123 456 789", "topic": "Configurar Outlook"})
    assert status == 201, booking
    emails = wait_for(lambda: [m for m in http.json("GET", "/local/emails")[1]["emails"]
                               if m["subject"] == "Soporte remoto agendado"], bool)
    assert [a["filename"] for a in emails[-1]["attachments"]] == ["soporte-remoto.ics"]

    status, agenda = http.json("GET", f"/staff/remote-support/agenda?day={day}", token=staff)
    assert status == 200 and [(b["booking_id"], b["rustdesk_id"]) for b in agenda] == [
        (booking["booking_id"], "123456789")]

    begins = _at(start)
    move(begins - timedelta(hours=24))
    assert [m["parameters"][1] for m in wait_for(reminders, bool)] == ["123456789"]
    move(begins - timedelta(minutes=15))
    assert len(wait_for(lambda: reminders() if len(reminders()) >= 2 else [], bool)) == 2
    move(begins - timedelta(minutes=10))
    assert len(reminders()) == 2
    mine = http.json("GET", "/me/remote-bookings", token=holder)[1]
    assert mine[0]["reminders_sent"] == ["day_before", "soon"]


def test_a_migration_access_is_revealed_once_by_its_taker_and_destroyed_with_the_test_clock(own_stack):
    """Migrations on the same stack (its clock moves on from the test above): the demo holder asks us to migrate the
    hosting with the old server's access; staff see it in their queue, take it, reveal the access (recorded), finish
    it, and eight days later the hourly purge has destroyed it."""
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)
    (hosting,) = [s for s in http.json("GET", "/me/services", token=holder)[1] if s["product_id"] == "hosting-inicial"]
    status, migration = http.json("POST", f"/services/{hosting['service_id']}/migration", token=holder, body={
        "option": "we_migrate", "panel_type": "cpanel", "host": "viejo.ejemplo.com", "username": "demo",
        "password": "Clave-Vieja-99", "webmail_caveat_accepted": True})
    assert status == 201, migration
    url = f"/staff/migrations/{migration['migration_id']}"
    queue = http.json("GET", "/staff/migrations", token=staff)[1]
    assert [m["migration_id"] for m in queue] == [migration["migration_id"]]
    assert http.json("POST", f"{url}/take", token=staff)[0] == 200
    status, access = http.json("POST", f"{url}/access", token=staff, body={})
    assert status == 200 and access["password"] == "Clave-Vieja-99", access
    assert len(http.json("GET", f"{url}/reveals", token=staff)[1]) == 1
    for step in ("in_progress", "awaiting_dns", "completed"):
        assert http.json("POST", f"{url}/status", token=staff, body={"status": step})[0] == 200
    assert http.json("GET", "/staff/migrations", token=staff)[1] == []

    now = _at(http.json("GET", "/local/clock")[1]["now"])
    assert http.json("POST", "/local/clock", body={"now": (now + timedelta(days=8)).isoformat()})[0] == 200
    mine = wait_for(lambda: http.json("GET", "/me/migrations", token=holder)[1],
                    lambda found: not found[0]["access_kept"], seconds=20)
    assert mine[0]["access_purged_at"], mine
    status, gone = http.json("POST", f"{url}/access", token=staff, body={})
    assert (status, gone["code"]) == (409, "access_purged")
