"""Remote support on `make dev`, with the test clock: the demo holder books the first slot of the next business day,
gets the confirmation with its .ics, staff see it in that day's agenda, and the one-minute sweep sends the WhatsApp
reminders the day before and 15 minutes before, once each. On a stack of its own (its clock moves)."""

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
