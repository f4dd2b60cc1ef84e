"""Phone support through the real handlers: which channels the account's support plan includes (the
service's "button"), a call-back request (Full plan only; the others are told which plan has it), and staff
logging the call on the ticket as their answer."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.dal.table import TableItem
from shared.dal.tickets import Ticket
from tests.integration.conftest import claims_for, fix_ticket_clocks
from tests.integration.flows import pay

STAFF = claims_for(staff=True, sub="sub-staff")
MONDAY_11 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def account(api, catalog, monkeypatch):
    fixed = FixedClock(MONDAY_11)
    made = api.call("POST", "/clients", body={"email": "tel@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Cliente Tel"}).json()
    fix_ticket_clocks(api, monkeypatch, fixed)
    claims = claims_for(client_id=made["client_id"], sub="sub-tel")
    hosting = api.call("POST", f"/staff/clients/{made['client_id']}/orders", claims=STAFF,
                       body={"product_id": "hosting-inicial", "billing_cycle": "annually",
                             "domain": "tel-ejemplo.com.ar"}).json()["service"]["service_id"]
    return {"client_id": made["client_id"], "claims": claims, "service_id": hosting, "clock": fixed}


def _window(start: datetime, hours: float = 2) -> dict:
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=hours)).isoformat(),
            "phone": "011 4321-5678", "reason": "No puedo configurar el correo en el celular."}


def _full_plan(api, store, account):
    order = api.call("POST", f"/staff/clients/{account['client_id']}/orders", claims=STAFF,
                     body={"product_id": "soporte-full", "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])


def test_on_the_standard_plan_phone_support_is_offered_not_given(api, account):
    path = f"/services/{account['service_id']}"
    channels = api.call("GET", f"{path}/support-channels", claims=account["claims"])
    assert channels.status == 200, channels
    by_name = {c["channel"]: c for c in channels.json()["channels"]}
    assert channels.json()["plan"] == "standard"
    assert by_name["panel"] == {"channel": "panel", "included": True, "plan_needed": None, "offer": None}
    assert by_name["whatsapp"]["plan_needed"] == "profesional" and by_name["phone"]["plan_needed"] == "full"
    # No support service to change: the button orders the plan.
    assert by_name["whatsapp"]["offer"] == {"product_id": "soporte-profesional", "product_name": "Soporte Profesional",
                                            "service_id": None}
    before = sorted((i.pk, i.sk) for i in TableItem.scan())
    refused = api.call("POST", f"{path}/callback-requests", claims=account["claims"],
                       body=_window(MONDAY_11 + timedelta(days=1)))
    assert (refused.status, refused.json()["code"]) == (409, "channel_not_in_plan")
    assert "plan de soporte Full" in refused.json()["message"]
    assert sorted((i.pk, i.sk) for i in TableItem.scan()) == before


def test_with_a_support_plan_the_button_offers_its_plan_change(api, store, account):
    order = api.call("POST", f"/staff/clients/{account['client_id']}/orders", claims=STAFF,
                     body={"product_id": "soporte-profesional", "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])
    support_id = order["service"]["service_id"]
    channels = api.call("GET", f"/services/{account['service_id']}/support-channels", claims=account["claims"]).json()
    by_name = {c["channel"]: c for c in channels["channels"]}
    assert channels["plan"] == "profesional" and by_name["whatsapp"]["offer"] is None
    assert by_name["phone"]["offer"] == by_name["telegram"]["offer"] == {
        "product_id": "soporte-full", "product_name": "Soporte Full", "service_id": support_id}
    # The offer is the plan-change flow's own input: only the difference is invoiced.
    change = api.call("POST", f"/services/{support_id}/upgrades", claims=account["claims"],
                      body={"target": by_name["phone"]["offer"]["product_id"]})
    assert change.status == 201 and change.json()["upgrade"]["to_product_id"] == "soporte-full", change


def test_on_full_a_call_back_is_a_ticket_and_the_logged_call_is_its_answer(api, store, account):
    _full_plan(api, store, account)
    path = f"/services/{account['service_id']}/callback-requests"
    asked = api.call("POST", path, claims=account["claims"], body=_window(MONDAY_11 + timedelta(days=1)))
    assert asked.status == 201, asked
    ticket = asked.json()
    assert ticket["channel"] == "phone" and ticket["plan"] == "full"
    assert "entre el 01/12 11:00 a 01/12 13:00 (hora de Argentina)" in ticket["messages"][0]["body"]
    assert "+541143215678" in ticket["messages"][0]["body"]
    staff_view = api.call("GET", f"/staff/tickets/{ticket['ticket_id']}", claims=STAFF).json()
    assert any("Llamar al +541143215678" in n["body"] for n in staff_view["notes"])

    account["clock"].advance(minutes=10)
    logged = api.call("POST", f"/staff/tickets/{ticket['ticket_id']}/calls", claims=STAFF,
                      body={"direction": "outbound", "duration_minutes": 12,
                            "summary": "Configuramos la cuenta IMAP juntos."})
    assert logged.status == 200, logged
    call = logged.json()["messages"][-1]
    assert (call["channel"], call["call_minutes"], call["author_role"]) == ("phone", 12, "staff")
    assert call["body"].startswith("Llamada saliente de 12 min.")
    stored = Ticket.get(*Ticket.key(ticket["ticket_id"]))
    assert stored.status == "answered" and stored.response.met_at  # the call was the first response
    seen = api.call("GET", f"/me/tickets/{ticket['ticket_id']}", claims=account["claims"]).json()
    assert seen["messages"][-1]["call_minutes"] == 12


@pytest.mark.parametrize(("start", "hours"), [(-1, 2), (24, 0.25), (24 * 15, 2)])
def test_a_window_in_the_past_too_short_or_too_far_is_refused(api, store, account, start, hours):
    _full_plan(api, store, account)
    refused = api.call("POST", f"/services/{account['service_id']}/callback-requests", claims=account["claims"],
                       body=_window(MONDAY_11 + timedelta(hours=start), hours))
    assert (refused.status, refused.json()["code"]) == (422, "invalid_window")


def test_another_accounts_service_answers_like_a_missing_one(api, catalog, account):
    other = api.call("POST", "/clients", body={"email": "otro-tel@ejemplo.com.ar", "password": "Segura123",
                                                "name": "Otro"}).json()
    mine = api.call("GET", f"/services/{account['service_id']}/support-channels",
                    claims=claims_for(client_id=other["client_id"], sub="sub-otro"))
    missing = api.call("GET", f"/services/{'0' * 26}/support-channels",
                       claims=claims_for(client_id=other["client_id"], sub="sub-otro"))
    assert mine.status == missing.status == 404 and mine.text == missing.text
