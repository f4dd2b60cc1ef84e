"""Cambio de titular through the real handlers on moto: the source holder asks with the password (or confirms what
staff opened from their ticket), the target holder accepts with theirs, staff approve — with a verification note
when the accounts differ — and the service moves in one transaction; every refusal changes nothing."""

import pytest

from shared.dal.services import Service, Services
from shared.dal.table import TableItem, save_one
from shared.dal.tickets import Tickets
from shared.dal.transfers import Transfer
from shared.errors import ConcurrentModification
from tests.integration.conftest import claims_for
from tests.integration.flows import relay, ticket_events

STAFF = claims_for(staff=True, sub="sub-staff")
PASSWORD = "Segura123"


def _signup(api, email, name, **extra):
    made = api.call("POST", "/clients", body={"email": email, "password": PASSWORD, "name": name, **extra})
    assert made.status == 201, made
    return made.json()["client_id"]


def _holder(client_id, email):
    return {**claims_for(client_id=client_id, sub=f"sub-{client_id}"), "email": email}


@pytest.fixture
def people(api, catalog):
    ana = _signup(api, "ana@ejemplo.com.ar", "Ana Pérez")
    bruno = _signup(api, "bruno@ejemplo.com.ar", "Bruno Gómez")
    return {"ana": _holder(ana, "ana@ejemplo.com.ar"), "bruno": _holder(bruno, "bruno@ejemplo.com.ar"),
            "ana_id": ana, "bruno_id": bruno}


def _service(api, client_id, product="soporte-standard"):
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": product, "billing_cycle": "monthly"})
    assert order.status == 201, order
    return order.json()


def _snapshot():
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


def _ask(api, people, service_id, to="bruno@ejemplo.com.ar", password=PASSWORD):
    return api.call("POST", f"/services/{service_id}/transfer", claims=people["ana"],
                    body={"target_email": to, "password": password})


def test_a_service_changes_holder_with_both_consents_and_staffs_approval(api, stack, aws, people):
    service_id = _service(api, people["ana_id"])["service"]["service_id"]
    # Ana's developer may reach this service only: after the move, nothing (never all of Ana's services).
    developer = api.call("POST", "/me/contacts", claims=people["ana"], body={
        "email": "dev@ejemplo.com.ar", "name": "Dev", "permissions": ["services"], "service_ids": [service_id]})
    assert developer.status == 201, developer
    asked = _ask(api, people, service_id, to="  Bruno@Ejemplo.com.AR ")
    assert asked.status == 201, asked
    transfer = asked.json()
    assert (transfer["status"], transfer["direction"], transfer["needs_verification"]) == (
        "awaiting_target", "outgoing", True)  # nothing in common between Ana Pérez and Bruno Gómez
    (incoming,) = api.call("GET", "/me/transfers", claims=people["bruno"]).json()
    assert (incoming["direction"], incoming["from_name"], incoming["service"]) == (
        "incoming", "Ana Pérez", "Soporte Standard")
    assert api.call("GET", f"/me/services/{service_id}", claims=people["bruno"]).status == 404  # not yet theirs

    wrong = api.call("POST", f"/me/transfers/{transfer['transfer_id']}/accept", claims=people["bruno"],
                     body={"password": "NoEsLaClave1"})
    assert (wrong.status, wrong.json()["code"]) == (403, "wrong_password")
    accepted = api.call("POST", f"/me/transfers/{transfer['transfer_id']}/accept", claims=people["bruno"],
                        body={"password": PASSWORD})
    assert accepted.json()["status"] == "awaiting_staff" and accepted.json()["target_consent_at"]
    (queued,) = api.call("GET", "/staff/transfers", claims=STAFF).json()
    assert queued["verification_reasons"] == ["name"] and queued["from_client_id"] == people["ana_id"]

    unverified = api.call("POST", f"/staff/transfers/{transfer['transfer_id']}/approve", claims=STAFF, body={})
    assert (unverified.status, unverified.json()["code"]) == (422, "verification_required")
    approved = api.call("POST", f"/staff/transfers/{transfer['transfer_id']}/approve", claims=STAFF,
                        body={"verification_note": "Llamamos a Ana al 11 4321-5678: confirma que se lo pasa a Bruno."})
    assert approved.status == 200 and approved.json()["status"] == "completed", approved

    assert [s["service_id"] for s in api.call("GET", "/me/services", claims=people["bruno"]).json()] == [service_id]
    assert api.call("GET", "/me/services", claims=people["ana"]).json() == []
    assert api.call("GET", f"/me/services/{service_id}", claims=people["ana"]).status == 404
    assert api.call("GET", "/staff/transfers", claims=STAFF).json() == []
    moved = Services().get_service(service_id, consistent=True)
    assert (moved.client_id, moved.pending_transfer_id) == (people["bruno_id"], None)
    dev = claims_for(client_id=people["ana_id"], contact_id=developer.json()["contact_id"], sub="sub-dev")
    _service(api, people["ana_id"])  # another service of Ana's: still out of the developer's reach
    assert api.call("GET", "/me/services", claims=dev).json() == []
    (listed,) = api.call("GET", "/me/contacts", claims=people["ana"]).json()
    assert listed["service_ids"] == []
    # The request was recorded as a ticket of Ana's account; each holder was told.
    relay(stack, aws)
    ticket_events(stack)
    (recorded,) = Tickets().tickets_of(people["ana_id"])
    assert recorded.subject == "Cambio de titular: Soporte Standard"


def test_what_cannot_change_hands_is_refused_and_nothing_is_written(api, people):
    hosting = _service(api, people["ana_id"], "hosting-inicial")["service"]["service_id"]  # unpaid, pending
    free = _service(api, people["ana_id"])["service"]["service_id"]
    contact = api.call("POST", "/me/contacts", claims=people["ana"], body={
        "email": "socio@ejemplo.com.ar", "name": "Socio", "permissions": ["services", "orders"]}).json()["contact_id"]
    before = _snapshot()
    cases = [
        (_ask(api, people, hosting), 409, "transfer_not_possible"),
        (_ask(api, people, free, to="nadie@ejemplo.com.ar"), 422, "target_not_a_client"),
        (_ask(api, people, free, to="socio@ejemplo.com.ar"), 422, "target_not_a_client"),  # a contact, not a client
        (_ask(api, people, free, to="ana@ejemplo.com.ar"), 422, "same_account"),
        (api.call("POST", f"/services/{free}/transfer", body={"target_email": "bruno@ejemplo.com.ar",
                                                              "password": PASSWORD},
                  claims=claims_for(client_id=people["ana_id"], contact_id=contact, sub="sub-socio")),
         403, "holder_only"),
        (api.call("POST", f"/services/{free}/transfer", claims=people["bruno"],
                  body={"target_email": "bruno@ejemplo.com.ar", "password": PASSWORD}), 404, "not_found"),
    ]
    for answer, status, code in cases:
        assert (answer.status, answer.json()["code"]) == (status, code), answer
    assert "facturas impagas" in cases[0][0].json()["message"] and "no está activo" in cases[0][0].json()["message"]
    assert _snapshot() == before
    wrong = _ask(api, people, free, password="NoEsLaClave1")
    assert (wrong.status, wrong.json()["code"]) == (403, "wrong_password")  # counted: the only write


def test_declining_cancelling_or_rejecting_frees_the_service_and_one_transfer_is_open_at_a_time(api, people):
    service_id = _service(api, people["ana_id"])["service"]["service_id"]
    first = _ask(api, people, service_id).json()["transfer_id"]
    again = _ask(api, people, service_id)
    assert (again.status, again.json()["code"]) == (409, "transfer_not_possible")
    assert "otra transferencia en curso" in again.json()["message"]
    assert api.call("POST", f"/me/transfers/{first}/decline", claims=people["bruno"]).json()["status"] == "declined"
    second = _ask(api, people, service_id).json()["transfer_id"]
    late = api.call("POST", f"/me/transfers/{first}/accept", claims=people["bruno"], body={"password": PASSWORD})
    assert (late.status, late.json()["code"]) == (409, "transfer_not_in_this_step")
    # Only the source withdraws, only the target accepts: the other side's call is a missing transfer.
    assert api.call("POST", f"/me/transfers/{second}/cancel", claims=people["bruno"]).status == 404
    assert api.call("POST", f"/me/transfers/{second}/accept", claims=people["ana"],
                    body={"password": PASSWORD}).status == 404
    assert api.call("POST", f"/me/transfers/{second}/cancel", claims=people["ana"]).json()["status"] == "cancelled"
    third = _ask(api, people, service_id).json()["transfer_id"]
    api.call("POST", f"/me/transfers/{third}/accept", claims=people["bruno"], body={"password": PASSWORD})
    rejected = api.call("POST", f"/staff/transfers/{third}/reject", claims=STAFF,
                        body={"reason": "El titular no atendió la verificación."})
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_reason"].startswith("El titular")
    assert Services().get_service(service_id, consistent=True).pending_transfer_id is None
    statuses = {t["transfer_id"]: t["status"] for t in api.call("GET", "/me/transfers", claims=people["ana"]).json()}
    assert statuses == {first: "declined", second: "cancelled", third: "rejected"}


def test_the_holders_ticket_becomes_a_request_they_confirm_and_the_same_tax_id_needs_no_call(api, people):
    for who, company in (("ana", "Pérez Hermanos"), ("bruno", "Pérez Hermanos SA")):  # one company, two accounts
        changed = api.call("PATCH", "/me", claims=people[who], body={"tax_id": "30-71234567-1", "company": company})
        assert changed.status == 200, changed
    service_id = _service(api, people["ana_id"])["service"]["service_id"]
    by_ana = api.call("POST", "/me/tickets", claims=people["ana"], body={
        "subject": "Cambio de titular", "body": "Autorizo transferir el soporte a bruno@ejemplo.com.ar."}).json()
    by_bruno = api.call("POST", "/me/tickets", claims=people["bruno"], body={
        "subject": "Quiero el servicio de Ana", "body": "Páselo a mi cuenta."}).json()
    body = {"service_id": service_id, "target_email": "bruno@ejemplo.com.ar"}
    refused = api.call("POST", "/staff/transfers", claims=STAFF, body={**body, "ticket_id": by_bruno["ticket_id"]})
    assert (refused.status, refused.json()["code"]) == (409, "ticket_not_from_holder")
    opened = api.call("POST", "/staff/transfers", claims=STAFF, body={**body, "ticket_id": by_ana["ticket_id"]})
    assert opened.status == 201, opened
    transfer = opened.json()
    assert (transfer["status"], transfer["needs_verification"], transfer["ticket_id"]) == (
        "awaiting_source", False, by_ana["ticket_id"])
    from shared.dal.outbox import EventRecord

    asked = [e for e in EventRecord.scan() if e.type == "transfer.to_confirm"]
    assert [e.client_id for e in asked] == [people["ana_id"]]  # Ana is told to confirm it (her alert)
    # Until Ana confirms, it is nobody else's business: Bruno neither sees nor accepts it.
    assert api.call("GET", "/me/transfers", claims=people["bruno"]).json() == []
    early = api.call("POST", f"/me/transfers/{transfer['transfer_id']}/accept", claims=people["bruno"],
                     body={"password": PASSWORD})
    assert early.status == 404
    confirmed = api.call("POST", f"/me/transfers/{transfer['transfer_id']}/confirm", claims=people["ana"],
                         body={"password": PASSWORD})
    assert confirmed.json()["status"] == "awaiting_target", confirmed
    api.call("POST", f"/me/transfers/{transfer['transfer_id']}/accept", claims=people["bruno"],
             body={"password": PASSWORD})
    done = api.call("POST", f"/staff/transfers/{transfer['transfer_id']}/approve", claims=STAFF, body={})
    assert done.json()["status"] == "completed", done
    assert Services().get_service(service_id, consistent=True).client_id == people["bruno_id"]


def test_the_move_loses_to_a_change_of_the_service_at_the_same_instant(api, people):
    """Approval reads the service, checks it, then writes it version-checked: a payment, a renewal or a plan change
    committed in between makes the move fail whole (409, nothing moved) instead of moving a changed service."""
    from transfers import logic
    from transfers.schemas import Approval

    from shared.auth import identity_from_claims
    from shared.clock import SystemClock
    from shared.dal.accounts import Accounts
    from shared.dal.billing import Billing
    from shared.dal.transfers import Transfers

    service_id = _service(api, people["ana_id"])["service"]["service_id"]
    transfer_id = _ask(api, people, service_id).json()["transfer_id"]
    api.call("POST", f"/me/transfers/{transfer_id}/accept", claims=people["bruno"], body={"password": PASSWORD})
    stale = Services().get_service(service_id, consistent=True)
    meanwhile = Services().get_service(service_id, consistent=True)
    meanwhile.renewal_invoice_id = "01RENEWALISSUEDNOW00000000"  # what the renewal sweep writes
    save_one(meanwhile)

    class ReadBeforeTheChange(Services):
        def get_service(self, service_id: str, consistent: bool = False) -> Service:
            return stale

    stores = logic.TransferStores(Transfers(), ReadBeforeTheChange(), Accounts(), Billing())
    with pytest.raises(ConcurrentModification):
        logic.approve(stores, SystemClock(), identity_from_claims(STAFF), transfer_id, Approval(verification_note="ok"))
    assert Transfer.get(*Transfer.key(transfer_id)).status == "awaiting_staff"
    assert Services().get_service(service_id, consistent=True).client_id == people["ana_id"]


def test_a_service_changed_after_the_target_accepted_is_not_moved(api, store, people):
    """Bruno accepted Soporte Standard; Ana then changes it to Profesional (a dearer plan that would renew on
    Bruno's account): the approval refuses it, and a new request must be accepted again."""
    from tests.integration.flows import pay

    service_id = _service(api, people["ana_id"])["service"]["service_id"]
    transfer_id = _ask(api, people, service_id).json()["transfer_id"]
    api.call("POST", f"/me/transfers/{transfer_id}/accept", claims=people["bruno"], body={"password": PASSWORD})
    upgraded = api.call("POST", f"/services/{service_id}/upgrades", claims=people["ana"],
                        body={"target": "soporte-profesional"})
    assert upgraded.status == 201, upgraded
    pay(store, upgraded.json()["invoice"]["invoice_id"])
    assert Services().get_service(service_id, consistent=True).product_id == "soporte-profesional"
    refused = api.call("POST", f"/staff/transfers/{transfer_id}/approve", claims=STAFF,
                       body={"verification_note": "Llamamos a Ana."})
    assert (refused.status, refused.json()["code"]) == (409, "service_changed")
    assert Services().get_service(service_id, consistent=True).client_id == people["ana_id"]
