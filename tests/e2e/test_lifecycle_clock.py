"""A year in the life of a hosting on `make dev`, with the test clock: renewal invoice 14 days before the
end, suspension in WHM when unpaid, unsuspension when paid, an end-of-period cancellation that keeps it
active until the end and then removes it from WHM once. On a stack of its own (its clock moves)."""

import time
from datetime import datetime, timedelta

import pytest

# Its own stack (its clock moves), on its own worker's share of the run.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("lifecycle_clock")]


def _until(check, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_renewal_suspension_payment_and_end_of_period_cancellation_over_http(own_stack):
    http = own_stack
    signup = {"email": "reloj@ejemplo.com.ar", "password": "Segura123", "name": "Cliente Reloj"}
    status, client = http.json("POST", "/clients", body=signup)
    assert status == 201, client
    staff, holder = http.token("staff@ejemplo.com.ar"), http.token(signup["email"], signup["password"])
    status, order = http.json("POST", f"/staff/clients/{client['client_id']}/orders", token=staff,
                              body={"product_id": "hosting-inicial", "billing_cycle": "annually",
                                    "domain": "reloj.com.ar"})
    assert status == 201, order
    service_id = order["service"]["service_id"]
    http.json("POST", "/local/payments", body={"invoice_id": order["invoice"]["invoice_id"]})

    def service():
        return http.json("GET", f"/me/services/{service_id}", token=holder)[1]

    def whm():
        return http.json("GET", "/local/whm")[1]

    def its_account():  # the demo hosting has one there too
        return next((a for a in whm()["accounts"].values() if a["domain"] == "reloj.com.ar"), None)

    def its_user():
        return next(u for u, a in whm()["accounts"].items() if a["domain"] == "reloj.com.ar")

    active = _until(lambda: (s := service())["status"] == "active" and s, "the paid hosting to be active")
    account = _until(its_account, "its cPanel account")
    user = its_user()
    assert account["suspended"] is False
    end = _at(active["next_due_at"])

    # 14 days before the end: the daily sweep issues the renewal invoice.
    status, moved = http.json("POST", "/local/clock", body={"now": _iso(end - timedelta(days=14, hours=-4))})
    assert status == 200 and any(f["schedule"].startswith("RenewalSweepFunction") for f in moved["fired"]), moved
    renewal_id = service()["lifecycle"]["renewal_invoice_id"]
    assert renewal_id
    status, invoice = http.json("GET", f"/me/invoices/{renewal_id}", token=holder)
    assert (status, invoice["status"]) == (200, "unpaid")

    # Unpaid 5 days after the end: suspended, in WHM too.
    http.json("POST", "/local/clock", body={"now": _iso(end + timedelta(days=5, hours=4))})
    assert service()["lifecycle"]["suspension_reason"] == "overdue"
    _until(lambda: its_account()["suspended"], "WHM to suspend the account")

    # Paid: unsuspended at once, and the next period runs from the anniversary.
    http.json("POST", "/local/payments", body={"invoice_id": renewal_id})
    renewed = _until(lambda: (s := service())["status"] == "active" and s, "the payment to lift the suspension")
    assert _at(renewed["next_due_at"]).date() > end.date()
    _until(lambda: not its_account()["suspended"], "WHM to unsuspend the account")

    # An end-of-period cancellation: still active until the period ends, then removed from WHM once.
    status, cancellation = http.json("POST", f"/services/{service_id}/cancellation", token=holder,
                                     body={"type": "end_of_period", "reason": "Cierro el negocio",
                                           "password": signup["password"]})
    assert status == 201, cancellation
    next_end = _at(cancellation["effective_at"])
    assert next_end == _at(renewed["next_due_at"])
    http.json("POST", "/local/clock", body={"now": _iso(next_end - timedelta(days=1))})
    assert service()["status"] == "active"
    http.json("POST", "/local/clock", body={"now": _iso(next_end + timedelta(minutes=20))})
    assert service()["status"] == "cancelled"
    _until(lambda: its_account() is None, "WHM to remove the account")
    assert whm()["calls_by_user"][user].get("removeacct") == 1
    ended = _until(lambda: (s := service())["lifecycle"]["backup_retained_until"] and s, "the kept backup")
    assert "Backup disponible hasta" in ended["lifecycle"]["message"]
