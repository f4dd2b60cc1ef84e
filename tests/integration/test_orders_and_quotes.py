"""Client orders (POST /me/orders) and quotes, through the real handlers on moto."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.dal.billing import Invoice
from shared.dal.outbox import EventRecord
from shared.dal.quotes import Quote
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import pay

STAFF = claims_for(staff=True, sub="staff-1")


def _signup(api, email="ana@ejemplo.com.ar"):
    body = {"email": email, "password": "Segura123", "name": "Ana Núñez"}
    return api.call("POST", "/clients", body=body).json()["client_id"]


@pytest.fixture
def holder(api, catalog):
    client_id = _signup(api)
    return client_id, claims_for(client_id=client_id, sub="sub-ana")


def _contact(api, holder_claims, permissions, email):
    body = {"name": "Contable", "email": email, "permissions": permissions}
    contact = api.call("POST", "/me/contacts", body=body, claims=holder_claims).json()
    return claims_for(client_id=holder_claims["custom:client_id"], contact_id=contact["contact_id"],
                      sub=f"sub-{email}")


def _all(kind):
    return [i for i in TableItem.scan() if isinstance(i, kind)]


def _order(api, claims, key=None, **body):
    body = {"product_id": "hosting-inicial", "billing_cycle": "annually", "domain": "ana.com.ar", **body}
    return api.call("POST", "/me/orders", body=body, claims=claims, headers={"Idempotency-Key": key} if key else None)


# --- ordering -----------------------------------------------------------------------------------------


def test_a_client_orders_a_hosting_and_gets_its_first_invoice_ready_to_pay(api, holder):
    client_id, claims = holder
    response = _order(api, claims, domain="Ñandú.com.ar")
    assert response.status == 201, response
    order = response.json()
    service, invoice = order["service"], order["invoice"]
    assert (service["status"], service["domain"], service["product_id"]) == (
        "pending", "xn--and-6ma2c.com.ar", "hosting-inicial")  # stored as DNS and WHM take it
    assert (invoice["status"], invoice["total"]["amount"], invoice["balance"]["amount"]) == ("unpaid", 10000, 10000)
    assert invoice["lines"][0]["service_id"] == service["service_id"]
    ordered = [e for e in _all(EventRecord) if e.type == "service.ordered"]
    assert [('"channel": "panel"' in e.payload, e.client_id) for e in ordered] == [(True, client_id)]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"product_id": "no-existe"}, "product_not_offered", "product_id"),
    ({"billing_cycle": "quarterly"}, "billing_cycle_not_offered", "billing_cycle"),
    ({"domain": None}, "domain_required", "domain"),
    ({"domain": "sin-extension"}, "validation_error", "domain"),
    ({"domain": "-guion.com.ar"}, "validation_error", "domain"),
    ({"domain": "a" * 64 + ".com.ar"}, "validation_error", "domain"),
    ({"domain": "http://ana.com.ar"}, "validation_error", "domain"),
    ({"domain": "ana.c"}, "validation_error", "domain"),
    ({"product_id": "dominio-com-ar", "domain": "ana.com"}, "domain_not_for_product", "domain"),
    ({"product_id": "dominio-com-ar", "domain": "www.ana.com.ar"}, "domain_not_for_product", "domain"),
    ({"credentials": {"clave": "x"}}, "validation_error", "credentials"),  # only staff set credentials
    ({"custom_package": True}, "validation_error", "custom_package"),
])
def test_a_client_order_breaking_a_rule_is_refused_and_writes_nothing(api, holder, body, code, field):
    _, claims = holder
    response = _order(api, claims, **body)
    assert response.status == 422, response
    assert (response.json()["code"], response.json().get("field")) == (code, field)
    assert _all(Service) == [] and _all(Invoice) == []


def test_a_retired_product_is_not_offered_to_clients_but_staff_may_still_order_it(api, holder, store):
    from shared.dal.catalog import Product

    client_id, claims = holder
    product = Product.get(*Product.key("hosting-inicial"))
    product.orderable = False
    product.save()
    assert _order(api, claims).json()["code"] == "product_not_offered"
    listed = [p["product_id"] for p in api.call("GET", "/catalog/products").json()]
    assert "hosting-inicial" not in listed and "hosting-avanzado" in listed  # the panel offers what it sells
    staff = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": "hosting-inicial", "billing_cycle": "annually"})
    assert staff.status == 201, staff


def test_a_client_order_is_idempotent_by_key_and_refuses_the_key_for_another_order(api, holder):
    _, claims = holder
    first = _order(api, claims, key="pedido-1")
    again = _order(api, claims, key="pedido-1")
    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    other = _order(api, claims, key="pedido-1", domain="otro.com.ar")
    assert (other.status, other.json()["code"]) == (422, "idempotency_key_reused")
    assert len(_all(Service)) == 1 and len(_all(Invoice)) == 1


def test_a_contact_orders_only_with_the_orders_right(api, holder):
    _, claims = holder
    allowed = _contact(api, claims, ["orders"], "compras@ejemplo.com.ar")
    denied = _contact(api, claims, ["invoices", "services"], "pagos@ejemplo.com.ar")
    assert _order(api, denied).json()["code"] == "permission_denied"
    assert _order(api, allowed).status == 201


def test_a_cancelled_services_client_orders_again_a_new_service_and_invoice(api, holder, store):
    client_id, claims = holder
    first = _order(api, claims).json()
    service = Service.get(*Service.key(first["service"]["service_id"]))
    service.status = "cancelled"
    service.save()
    again = _order(api, claims)
    assert again.status == 201, again
    assert again.json()["service"]["service_id"] != first["service"]["service_id"]
    assert again.json()["invoice"]["invoice_id"] != first["invoice"]["invoice_id"]


# --- quotes ---------------------------------------------------------------------------------------------

QUOTE = {"title": "Restauración del backup", "purpose": "backup_restore", "currency": "ARS",
         "lines": [{"description": "Restauración del último backup", "amount": 1_500_000},
                   {"description": "Verificación del sitio", "amount": 500_000}],
         "valid_until": "2099-12-31", "note": "Incluye la restauración de los emails."}


def _quote(api, client_id, **body):
    response = api.call("POST", f"/staff/clients/{client_id}/quotes", claims=STAFF, body={**QUOTE, **body})
    assert response.status == 201, response
    return response.json()


def test_staff_send_a_quote_the_client_sees_and_accepting_issues_its_invoice_at_once(api, holder):
    client_id, claims = holder
    quote = _quote(api, client_id)
    assert (quote["status"], quote["total"]["amount"]) == ("open", 2_000_000)
    assert [q["quote_id"] for q in api.call("GET", "/me/quotes", claims=claims).json()] == [quote["quote_id"]]

    accepted = api.call("POST", f"/me/quotes/{quote['quote_id']}/accept", claims=claims)
    assert accepted.status == 200, accepted
    invoice = accepted.json()["invoice"]
    assert accepted.json()["quote"]["status"] == "accepted"
    assert accepted.json()["quote"]["invoice_id"] == invoice["invoice_id"]
    assert (invoice["status"], invoice["total"]["amount"]) == ("unpaid", 2_000_000)
    assert [(line["description"], line["service_id"]) for line in invoice["lines"]] == [
        ("Restauración del último backup", None), ("Verificación del sitio", None)]
    stored = Invoice.get(*Invoice.key(invoice["invoice_id"]))
    assert (stored.purpose, stored.quote_id) == ("quote", quote["quote_id"])
    types = sorted(e.type for e in _all(EventRecord) if e.type.startswith(("quote.", "invoice.")))
    assert types == ["invoice.created", "quote.accepted", "quote.sent"]


def test_an_answered_or_expired_quote_is_refused_and_changes_nothing(api, holder, store):
    client_id, claims = holder
    declined = _quote(api, client_id)
    assert api.call("POST", f"/me/quotes/{declined['quote_id']}/decline", claims=claims).json()["status"] == "declined"
    for action in ("accept", "decline"):
        again = api.call("POST", f"/me/quotes/{declined['quote_id']}/{action}", claims=claims)
        assert (again.status, again.json()["code"]) == (409, "quote_already_answered")

    expired = _quote(api, client_id)
    stored = Quote.get(*Quote.key(expired["quote_id"]))
    stored.valid_until = "2020-01-31"  # its last valid day has passed
    stored.save()
    assert api.call("GET", f"/me/quotes/{expired['quote_id']}", claims=claims).json()["status"] == "expired"
    refused = api.call("POST", f"/me/quotes/{expired['quote_id']}/accept", claims=claims)
    assert (refused.status, refused.json()["code"]) == (409, "quote_expired")
    assert _all(Invoice) == []
    assert Quote.get(*Quote.key(expired["quote_id"])).status == "open"


def test_two_accepts_at_once_issue_one_invoice(api, holder):
    client_id, claims = holder
    quote = _quote(api, client_id)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: api.call("POST", f"/me/quotes/{quote['quote_id']}/accept", claims=claims),
                                range(4)))
    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) == 1, answers
    assert all(a.json()["code"] in ("quote_already_answered", "concurrent_modification")
               for a in answers if a.status != 200)
    assert len(_all(Invoice)) == 1
    assert [e.type for e in _all(EventRecord)].count("quote.accepted") == 1


def test_credit_pays_an_accepted_quotes_invoice_as_any_other(api, holder, store, now):
    from shared.dal.accounts import Client

    client_id, claims = holder
    client = Client.get(*Client.key(client_id))
    client.adjust_credit("ARS", 2_500_000)
    client.save()
    accepted = api.call("POST", f"/me/quotes/{_quote(api, client_id)['quote_id']}/accept", claims=claims).json()
    assert accepted["invoice"]["status"] == "paid"
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 500_000


@pytest.mark.parametrize(("body", "code"), [
    ({"valid_until": "2020-01-01"}, "valid_until_past"),
    ({"lines": []}, "validation_error"),
    ({"lines": [{"description": "x", "amount": 0}]}, "validation_error"),
    ({"currency": "EUR"}, "validation_error"),
    ({"service_id": "01JAAAAAAAAAAAAAAAAAAAAAAA"}, "service_not_found"),
])
def test_a_bad_quote_is_refused_and_writes_nothing(api, holder, body, code):
    client_id, _ = holder
    response = api.call("POST", f"/staff/clients/{client_id}/quotes", claims=STAFF, body={**QUOTE, **body})
    assert response.status == 422 and response.json()["code"] == code, response
    assert _all(Quote) == []


def test_a_quote_for_another_clients_service_is_refused(api, holder):
    client_id, _ = holder
    other = _signup(api, "otro@ejemplo.com.ar")
    service_id = api.call("POST", f"/staff/clients/{other}/orders", claims=STAFF,
                          body={"product_id": "hosting-inicial", "billing_cycle": "annually"}).json()["service"]
    response = api.call("POST", f"/staff/clients/{client_id}/quotes", claims=STAFF,
                        body={**QUOTE, "service_id": service_id["service_id"]})
    assert (response.status, response.json()["code"]) == (422, "service_not_found")


def test_paying_a_quotes_invoice_starts_no_service(api, holder, store, now):
    client_id, claims = holder
    accepted = api.call("POST", f"/me/quotes/{_quote(api, client_id)['quote_id']}/accept", claims=claims).json()
    pay(store, accepted["invoice"]["invoice_id"], at=now + timedelta(minutes=1))
    assert Invoice.get(*Invoice.key(accepted["invoice"]["invoice_id"])).status == "paid"
    assert _all(Service) == []


def test_a_paid_quote_is_marked_paid_and_staff_are_told(api, holder, store, now):
    from shared.dal.outbox import EventRecord

    client_id, claims = holder
    quote = _quote(api, client_id)
    accepted = api.call("POST", f"/me/quotes/{quote['quote_id']}/accept", claims=claims).json()
    pay(store, accepted["invoice"]["invoice_id"], at=now + timedelta(minutes=1))
    assert api.call("GET", f"/me/quotes/{quote['quote_id']}", claims=claims).json()["paid_at"] is not None
    paid = [e for e in _all(EventRecord) if e.type == "quote.paid"]
    assert [e.client_id for e in paid] == [client_id]
    assert f'"invoice_id": "{accepted["invoice"]["invoice_id"]}"' in paid[0].payload


def test_an_accept_racing_a_decline_leaves_one_answer(api, holder):
    client_id, claims = holder
    quote = _quote(api, client_id)
    actions = ["accept", "decline"] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda a: api.call("POST", f"/me/quotes/{quote['quote_id']}/{a}", claims=claims),
                                actions))
    assert sorted(a.status for a in answers).count(200) == 1, answers
    final = Quote.get(*Quote.key(quote["quote_id"]))
    assert len(_all(Invoice)) == (1 if final.status == "accepted" else 0)


def test_two_orders_at_once_with_one_key_make_one_service(api, holder):
    _, claims = holder
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _order(api, claims, key="doble-clic"), range(3)))
    assert {a.status for a in answers} <= {201, 409}, answers
    assert len({a.json()["service"]["service_id"] for a in answers if a.status == 201}) == 1
    assert len(_all(Service)) == 1 and len(_all(Invoice)) == 1
