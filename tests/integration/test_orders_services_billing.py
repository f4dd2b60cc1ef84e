"""Staff orders, my services and my invoices through the real handlers."""

import pytest

from shared.dal.billing import Invoice
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="staff-1")


@pytest.fixture
def client_id(api):
    body = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
    return api.call("POST", "/clients", body=body).json()["client_id"]


def _order(api, client_id, **body):
    body = {"product_id": "hosting-inicial", "billing_cycle": "annually", **body}
    return api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body=body)


def _all(kind):
    return [i for i in TableItem.scan() if isinstance(i, kind)]


def test_catalog_is_public_and_lists_prices_in_minor_units(api, catalog):
    response = api.call("GET", "/catalog/products")

    assert response.status == 200
    products = {p["product_id"]: p for p in response.json()}
    assert products["hosting-inicial"]["prices"]["annually"] == {
        "amount": 10000, "currency": "ARS", "display": "ARS 100,00"}
    assert products["hosting-avanzado"]["prices"]["annually"]["amount"] == 15000
    assert products["vps-cloud"]["prices"]["monthly"]["currency"] == "USD"
    assert [p["group"] for p in response.json()][:3] == ["Hosting"] * 3


def test_staff_order_writes_service_invoice_and_events_in_one_go(api, catalog, client_id):
    response = _order(api, client_id, domain="Ana.com.ar", credentials={"usuario": "ana", "clave": "en-claro!"})

    assert response.status == 201, response
    order = response.json()
    assert order["service"]["status"] == "pending"
    assert order["service"]["domain"] == "ana.com.ar"
    assert order["invoice"]["total"]["amount"] == 10000
    assert order["invoice"]["status"] == "unpaid"
    assert order["invoice"]["lines"][0]["service_id"] == order["service"]["service_id"]
    assert len(_all(Service)) == 1 and len(_all(Invoice)) == 1
    assert sorted(e.type for e in _all(EventRecord)) == ["client.registered", "invoice.created", "service.ordered"]
    stored = Service.get(*Service.key(order["service"]["service_id"]))
    # '-' and '!' are not base64: the plain value cannot show up in the ciphertext by chance.
    assert stored.credentials_ciphertext and "en-claro!" not in stored.credentials_ciphertext
    invoice = Invoice.get(*Invoice.key(order["invoice"]["invoice_id"]))
    assert invoice.due_pk.startswith("DUE#INVOICE#")  # listed for the overdue sweep


@pytest.mark.parametrize(
    ("target", "body", "claims", "status", "code"),
    [
        ("client", {"product_id": "nope"}, STAFF, 404, "not_found"),
        ("client", {"billing_cycle": "monthly", "product_id": "diseno-web"}, STAFF, 422, "billing_cycle_not_offered"),
        ("client", {"billing_cycle": "weekly"}, STAFF, 422, "validation_error"),
        ("client", {"domain": "no es un dominio"}, STAFF, 422, "validation_error"),
        ("unknown", {}, STAFF, 404, "not_found"),
        ("client", {}, claims_for(client_id="someone"), 403, "staff_only"),
    ],
)
def test_bad_orders_are_refused_and_write_nothing(api, catalog, client_id, target, body, claims, status, code):
    owner = client_id if target == "client" else "01UNKNOWNCLIENT00000000000"
    full = {"product_id": "hosting-inicial", "billing_cycle": "annually", **body}
    response = api.call("POST", f"/staff/clients/{owner}/orders", claims=claims, body=full)

    assert (response.status, response.json()["code"]) == (status, code), response
    assert _all(Service) == [] and _all(Invoice) == []
    assert [e.type for e in _all(EventRecord)] == ["client.registered"]


def test_my_services_detail_manual_and_credentials_by_permission(api, catalog, client_id, store):
    order = _order(api, client_id, credentials={"usuario cPanel": "ana"}).json()
    service_id = order["service"]["service_id"]
    holder = claims_for(client_id=client_id)

    listed = api.call("GET", "/me/services", claims=holder)
    detail = api.call("GET", f"/me/services/{service_id}", claims=holder)

    assert [s["service_id"] for s in listed.json()] == [service_id]
    assert detail.json()["manual"].startswith("Manual de uso del hosting")
    assert "ana" not in detail.text  # the values only through the audited reveal
    assert detail.json()["credentials"]["may_reveal"] is True
    reveal = f"/services/{service_id}/credentials/reveal"
    assert api.call("POST", reveal, claims=holder, body={}).json()["credentials"] == [
        {"name": "usuario cPanel", "value": "ana"}]

    viewer_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "ver@ejemplo.com.ar", "name": "Ver", "permissions": ["services"]}).json()["contact_id"]
    manager_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "admin@ejemplo.com.ar", "name": "Admin", "permissions": ["services", "manage_services"]}
    ).json()["contact_id"]
    viewer_claims = claims_for(client_id=client_id, contact_id=viewer_id)
    manager_claims = claims_for(client_id=client_id, contact_id=manager_id)
    viewer = api.call("GET", f"/me/services/{service_id}", claims=viewer_claims)
    manager = api.call("GET", f"/me/services/{service_id}", claims=manager_claims)
    assert viewer.status == 200 and viewer.json()["credentials"]["may_reveal"] is False
    assert manager.json()["credentials"]["may_reveal"] is True
    refused = api.call("POST", reveal, claims=viewer_claims, body={})
    assert (refused.status, refused.json()["code"]) == (403, "permission_denied")
    assert api.call("POST", reveal, claims=manager_claims, body={}).json()["credentials"] == [
        {"name": "usuario cPanel", "value": "ana"}]


def test_another_clients_service_and_invoice_answer_404(api, catalog, client_id):
    order = _order(api, client_id).json()
    other = api.call("POST", "/clients", body={"email": "otro@ejemplo.com.ar", "password": "Segura123",
                                                "name": "Otro"}).json()["client_id"]
    intruder = claims_for(client_id=other)

    service = api.call("GET", f"/me/services/{order['service']['service_id']}", claims=intruder)
    invoice = api.call("GET", f"/me/invoices/{order['invoice']['invoice_id']}", claims=intruder)

    assert (service.status, invoice.status) == (404, 404)
    assert api.call("GET", "/me/invoices", claims=intruder).json() == []


def test_my_invoices_newest_first_with_balance(api, catalog, client_id):
    first = _order(api, client_id).json()["invoice"]["invoice_id"]
    second = _order(api, client_id, product_id="vps-cloud", billing_cycle="monthly").json()["invoice"]["invoice_id"]

    listed = api.call("GET", "/me/invoices", claims=claims_for(client_id=client_id)).json()
    detail = api.call("GET", f"/me/invoices/{second}", claims=claims_for(client_id=client_id)).json()

    assert [i["invoice_id"] for i in listed] == [second, first]
    assert detail["balance"] == {"amount": 2000, "currency": "USD", "display": "USD 20,00"}


def test_staff_lists_a_clients_services(api, catalog, client_id):
    _order(api, client_id)
    assert len(api.call("GET", f"/staff/clients/{client_id}/services", claims=STAFF).json()) == 1
    unknown = api.call("GET", "/staff/clients/01UNKNOWNCLIENT00000000000/services", claims=STAFF)
    assert (unknown.status, unknown.json()) == (200, [])
    refused = api.call("GET", f"/staff/clients/{client_id}/services", claims=claims_for(client_id=client_id))
    assert (refused.status, refused.json()["code"]) == (403, "staff_only")


def test_an_order_retried_with_its_idempotency_key_is_made_once(api, catalog, client_id):
    key = {"Idempotency-Key": "pedido-42"}
    body = {"product_id": "hosting-inicial", "billing_cycle": "annually"}
    path = f"/staff/clients/{client_id}/orders"

    first = api.call("POST", path, claims=STAFF, body=body, headers=key)
    retry = api.call("POST", path, claims=STAFF, body=body, headers={"idempotency-key": "pedido-42"})
    other = api.call("POST", path, claims=STAFF, body={**body, "billing_cycle": "monthly"}, headers=key)
    bad = api.call("POST", path, claims=STAFF, body=body, headers={"Idempotency-Key": "no vale!"})

    assert first.status == retry.status == 201
    assert retry.json() == first.json()
    assert (other.status, other.json()["code"]) == (422, "idempotency_key_reused")
    assert (bad.status, bad.json()["field"]) == (422, "Idempotency-Key")
    assert len(_all(Service)) == 1 and len(_all(Invoice)) == 1
    assert sorted(e.type for e in _all(EventRecord)).count("service.ordered") == 1
    assert api.call("POST", path, claims=STAFF, body=body).status == 201  # no key: a new order
    assert len(_all(Service)) == 2
