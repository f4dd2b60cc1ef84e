"""The invariants the fault suite and the soak check (tools/invariants.py): each finds the violation it is for, on
a small table that otherwise holds them all."""

import copy
import json

import pytest

from tools import invariants

CLIENT = "C1"


def _table() -> list[dict]:
    """A client who paid one invoice of 1000 (a provider's payment) and holds 200 of credit from an overpayment,
    with an active hosting whose WHM account is recorded, one alert delivered and one ticket waiting on staff."""
    return [
        {"entity": "Client", "client_id": CLIENT, "credit": {"ARS": 200}},
        {"entity": "Invoice", "invoice_id": "I1", "client_id": CLIENT, "status": "paid", "total": 1000,
         "amount_paid": 1000},
        {"entity": "Payment", "client_id": CLIENT, "invoice_id": "I1", "provider": "mercadopago", "applied": 1000,
         "credited": 200},
        {"entity": "Event", "event_id": "E1", "type": "invoice.paid", "payload": json.dumps({"invoice_id": "I1"})},
        {"entity": "Service", "service_id": "S1", "client_id": CLIENT, "status": "active",
         "provisioning_module": "cpanel", "provisioning_account": "fallas1", "activation_state": "active"},
        {"entity": "Delivery", "client_id": CLIENT, "event_id": "E1", "recipient": "holder", "channel": "whatsapp"},
        {"entity": "Ticket", "ticket_id": "T1", "client_id": CLIENT, "status": "open",
         "due_sk": "2026-12-09T12:00:00.000000Z#T1",
         "response": {"due_at": "2026-12-09T14:00:00.000000Z", "warn_at": "2026-12-09T12:00:00.000000Z"}},
    ]


def _found(items, **kwargs) -> dict[str, list[str]]:
    return {name: v for name, v in invariants.check(items, whm=["fallas1"], **kwargs).items() if v}


def test_a_table_that_holds_them_all_has_no_violation():
    assert _found(_table()) == {}


def _at(items, entity):
    return next(i for i in items if i["entity"] == entity)


BREAKS = {
    "an invoice paid short": (lambda t: _at(t, "Invoice").update(amount_paid=900), "paid invoices"),
    "a second invoice.paid": (lambda t: t.append({**_at(t, "Event"), "event_id": "E2"}), "paid invoices"),
    "credit from nowhere": (lambda t: _at(t, "Client").update(credit={"ARS": 500}), "per client"),
    "a WHM account nobody records": (lambda t: _at(t, "Service").update(provisioning_account="otra"), "WHM"),
    "an active hosting without its account": (lambda t: _at(t, "Service").pop("provisioning_account"), "WHM"),
    "an activation left queued": (lambda t: _at(t, "Service").update(activation_state="queued"), "half-way"),
    "a ticket off the sweep's index": (lambda t: _at(t, "Ticket").pop("due_sk"), "ticket"),
    "a deadline before the sweep's next visit": (
        lambda t: _at(t, "Ticket").update(due_sk="2026-12-10T00:00:00.000000Z#T1"), "ticket"),
    "a warning not sent before the sweep's next visit": (
        lambda t: _at(t, "Ticket").update(due_sk="2026-12-09T13:00:00.000000Z#T1"), "ticket"),
    "an auto-close before the sweep's next visit": (
        lambda t: _at(t, "Ticket").update(status="answered", response={}, autoclose_at="2026-12-09T11:00:00.000000Z"),
        "ticket"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_invariant_finds_its_violation(case):
    items = copy.deepcopy(_table())
    breaking, invariant = BREAKS[case]
    breaking(items)
    found = _found(items)
    assert any(invariant in name for name in found), found


def test_a_message_twice_at_whatsapp_and_an_event_missing_from_a_queue_are_found():
    sent = [("5491155550000", "pago_acreditado", ("F-1",))] * 2
    assert list(_found(_table(), whatsapp=sent)) == ["no alert delivered twice to a person"]
    by = invariants.by_entity(_table())
    routes = {"invoice.paid": ("mail", "alerts")}.get
    assert invariants.outbox_delivered(by, {"E1": {"mail", "alerts"}}, routes) == []
    assert invariants.outbox_delivered(by, {"E1": {"mail"}}, routes) == [
        "event invoice.paid E1 never reached ['alerts']"]
