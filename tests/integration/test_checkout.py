"""Paying an invoice from the panel against the loopback Mercado Pago and Stripe: the preference and the session
asked for field by field, the provider's page paid, its signed notification through our webhook and the
settlement worker, the invoice paid and the service started; idempotency, a stale balance, credit."""

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from decimal import Decimal

import boto3
import pytest

from devstack.fake_mercadopago import FakeMercadoPago
from devstack.fake_stripe import FakeStripe
from devstack.gateway import Gateway
from devstack.runtime import ENV_OVERRIDES, Runtime
from devstack.stack import LOCAL_PAYMENT_SECRETS
from shared.clock import to_storage
from shared.dal.billing import Checkout, Invoice
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, settle_queued

STAFF = claims_for(staff=True, sub="staff-1")
PANEL = "https://panel.example"


@pytest.fixture
def providers(stack, monkeypatch, request):
    """Both fakes, our API's public routes served over HTTP (the providers call our webhooks), and the
    checkout function pointed at them."""
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
    mercadopago = FakeMercadoPago(LOCAL_PAYMENT_SECRETS["mercadopago_access_token"],
                                  LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"]).start()
    stripe = FakeStripe(LOCAL_PAYMENT_SECRETS["stripe_secret_key"],
                        LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"]).start()
    server = Gateway(stack, Runtime(stack), authorizer=None).server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    api_url = f"http://127.0.0.1:{server.server_address[1]}"
    stripe.webhook_url = f"{api_url}/webhooks/stripe"
    for name, value in {"MERCADOPAGO_API_URL": mercadopago.url, "STRIPE_API_URL": stripe.url,
                        "PUBLIC_API_URL": api_url, "PANEL_URL": PANEL}.items():
        monkeypatch.setitem(ENV_OVERRIDES, name, value)  # applied by every Runtime
        monkeypatch.setenv(name, value)
    yield mercadopago, stripe
    server.shutdown()
    server.server_close()
    mercadopago.stop()
    stripe.stop()


@pytest.fixture
def holder(api, catalog):
    client_id = api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123",
                                                    "name": "Ana"}).json()["client_id"]
    return client_id, claims_for(client_id=client_id, sub="sub-ana")


def _order(api, claims, product_id="hosting-avanzado", **extra):
    body = {"product_id": product_id, "billing_cycle": "annually", "domain": "ana.com.ar", **extra}
    response = api.call("POST", "/me/orders", body=body, claims=claims)
    assert response.status == 201, response
    return response.json()


def _checkout(api, claims, invoice_id, provider="mercadopago"):
    return api.call("POST", f"/me/invoices/{invoice_id}/checkout", body={"provider": provider}, claims=claims)


def _settle(stack):
    """The settlement worker on what the webhooks queued (something must have been)."""
    records, answer = settle_queued(stack)
    assert records, "no notification was queued"
    return answer


def _click_pay(url: str) -> str:
    """Post the provider page's "Pagar" form as a browser would; returns where it sends the client back."""
    parts = urllib.parse.urlsplit(url)
    # Mercado Pago's page (/checkout/v1/redirect?pref_id=) posts to /checkout/v1/pay?pref_id=; Stripe's to itself.
    mercadopago = "pref_id=" in parts.query
    target = f"{parts.scheme}://{parts.netloc}/checkout/v1/pay?{parts.query}" if mercadopago else url
    with urllib.request.urlopen(url, timeout=10) as page:  # noqa: S310 (loopback)
        assert "Pagar" in page.read().decode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(target, data=b"", method="POST"), timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 303, error.read()
        return error.headers["Location"]
    raise AssertionError("the provider's page did not send the client back")


def test_a_mercadopago_preference_asks_for_the_balance_and_paying_on_its_page_starts_the_service(
        api, stack, providers, holder):
    mercadopago, _ = providers
    client_id, claims = holder
    order = _order(api, claims, "diseno-web", domain=None)  # ARS 900,00, a custom product: paid -> in progress
    invoice_id = order["invoice"]["invoice_id"]

    answer = _checkout(api, claims, invoice_id)
    assert answer.status == 200, answer
    checkout = answer.json()
    assert checkout["url"].startswith(f"{mercadopago.url}/checkout/v1/redirect?pref_id=")
    assert (checkout["amount"]["amount"], checkout["amount"]["currency"]) == (90000, "ARS")
    sent = mercadopago.preference_requests[checkout["reference"]]
    assert sent["items"] == [{"id": invoice_id, "title": f"Factura {invoice_id} - Paneldecliente", "quantity": 1,
                              "currency_id": "ARS", "unit_price": 900.0}]
    assert sent["external_reference"] == invoice_id
    assert sent["metadata"] == {"invoice_id": invoice_id}
    assert sent["notification_url"] == f"{ENV_OVERRIDES['PUBLIC_API_URL']}/webhooks/mercadopago?source_news=webhooks"
    assert sent["back_urls"] == {"success": f"{PANEL}/facturas/{invoice_id}?pago=aprobado",
                                 "pending": f"{PANEL}/facturas/{invoice_id}?pago=pendiente",
                                 "failure": f"{PANEL}/facturas/{invoice_id}?pago=cancelado"}
    assert (sent["auto_return"], sent["expires"], sent["payer"]) == ("approved", True, {"email": "ana@ejemplo.com.ar"})
    assert (sent["binary_mode"], sent["statement_descriptor"]) == (False, "PANELDECLIENTE")
    assert sent["expiration_date_to"].startswith(checkout["open_until"][:16])  # same minute, MP's format
    assert sent["expiration_date_from"] < sent["expiration_date_to"]
    # The raw JSON carries the amount as the Decimal's text, never through a float.
    raw = mercadopago.preference_bodies[checkout["reference"]].decode()
    assert '"unit_price": 900.00' in raw

    back = _click_pay(checkout["url"])
    assert back.startswith(f"{PANEL}/facturas/{invoice_id}?pago=aprobado")
    assert "collection_status=approved" in back
    assert _settle(stack) == {"batchItemFailures": []}
    assert Invoice.get(*Invoice.key(invoice_id)).status == "paid"
    service = Service.get(*Service.key(order["service"]["service_id"]))
    assert (service.status, service.activation_state) == ("pending", "awaiting_requirements")  # paid: staff's turn


def test_a_stripe_session_asks_for_the_balance_and_its_completion_pays_the_invoice(api, stack, providers, holder):
    _, stripe = providers
    _, claims = holder
    order = _order(api, claims, "soporte-profesional", domain=None, billing_cycle="monthly")  # ARS 50,00
    usd = _order(api, claims, "vps-cloud", domain=None)["invoice"]["invoice_id"]  # USD 200,00
    refused = _checkout(api, claims, usd, "mercadopago")  # Mercado Pago Argentina charges in pesos only
    assert (refused.status, refused.json()["code"], refused.json()["field"]) == (422, "currency_not_accepted",
                                                                                "provider")
    in_dollars = _checkout(api, claims, usd, "stripe").json()
    assert stripe.sessions[in_dollars["reference"]]["request"]["line_items"][0]["price_data"]["currency"] == "usd"
    invoice_id = order["invoice"]["invoice_id"]

    checkout = _checkout(api, claims, invoice_id, "stripe").json()
    assert checkout["url"] == f"{stripe.url}/c/pay/{checkout['reference']}"
    form = stripe.sessions[checkout["reference"]]["request"]
    assert form["mode"] == "payment"
    assert form["line_items"] == [{"price_data": {"currency": "ars", "unit_amount": "5000",
                                                  "product_data": {"name": f"Factura {invoice_id} - Paneldecliente"}},
                                   "quantity": "1"}]
    assert form["metadata"] == {"invoice_id": invoice_id}
    assert form["payment_intent_data"] == {"metadata": {"invoice_id": invoice_id}}
    assert (form["client_reference_id"], form["customer_email"], form["locale"]) == (
        invoice_id, "ana@ejemplo.com.ar", "es-419")
    assert form["success_url"] == f"{PANEL}/facturas/{invoice_id}?pago=aprobado"
    assert form["cancel_url"] == f"{PANEL}/facturas/{invoice_id}?pago=cancelado"
    from datetime import datetime

    opened = datetime.fromisoformat(checkout["open_until"].replace("Z", "+00:00"))
    assert int(form["expires_at"]) == int(opened.timestamp())  # what we store is what Stripe closes it at

    assert _click_pay(checkout["url"]).startswith(f"{PANEL}/facturas/{invoice_id}?pago=aprobado")
    assert [d["status"] for d in stripe.deliveries] == [200]
    assert _settle(stack) == {"batchItemFailures": []}
    assert Invoice.get(*Invoice.key(invoice_id)).status == "paid"
    assert Service.get(*Service.key(order["service"]["service_id"])).status == "active"


def test_a_second_call_returns_the_open_checkout_and_a_new_balance_opens_a_new_one(
        api, stack, providers, holder, store):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.clock import SystemClock
    from shared.money import Money

    mercadopago, _ = providers
    _, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]  # ARS 150,00
    first = _checkout(api, claims, invoice_id).json()
    again = _checkout(api, claims, invoice_id).json()
    assert (again["reference"], again["url"]) == (first["reference"], first["url"])
    assert len(mercadopago.preferences) == 1

    # A partial payment elsewhere: the open checkout asks for a stale balance, so a new one is opened.
    partial = ProviderPayment("mercadopago", "mp-parcial", "approved", Money(5000, "ARS"), invoice_id, "approved")
    settle(store.billing, store.accounts, SystemClock(), partial)
    fresh = _checkout(api, claims, invoice_id).json()
    assert fresh["reference"] != first["reference"]
    assert fresh["amount"]["amount"] == 10000
    # The replaced one asks for the old balance: closed at Mercado Pago, so an old tab cannot pay it.
    with pytest.raises(urllib.error.HTTPError) as old_tab:
        urllib.request.urlopen(first["url"], timeout=10)  # noqa: S310 (loopback)
    assert old_tab.value.code == 404
    with urllib.request.urlopen(fresh["url"], timeout=10) as page:  # noqa: S310 (loopback)
        assert "100,00" in page.read().decode()
    assert mercadopago.preference_requests[fresh["reference"]]["items"][0]["unit_price"] == 100.0
    stored = Checkout.get(*Checkout.key(invoice_id, "mercadopago"))
    assert (stored.amount, stored.generation, stored.reference) == (10000, 2, fresh["reference"])


def test_credit_pays_first_and_a_checkout_is_opened_only_for_what_is_left(api, providers, holder):
    from shared.dal.accounts import Client

    mercadopago, _ = providers
    client_id, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]  # ARS 150,00, issued with no credit
    client = Client.get(*Client.key(client_id))
    client.adjust_credit("ARS", 4000)  # a refund credited since
    client.save()
    partly = _checkout(api, claims, invoice_id).json()
    assert (partly["credit_applied"]["amount"], partly["amount"]["amount"]) == (4000, 11000)
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 0

    other = _order(api, claims, "hosting-inicial", domain="otro.com.ar")["invoice"]["invoice_id"]  # ARS 100,00
    client = Client.get(*Client.key(client_id))
    client.adjust_credit("ARS", 25000)
    client.save()
    covered = _checkout(api, claims, other)
    assert covered.status == 200, covered
    assert (covered.json()["url"], covered.json()["credit_applied"]["amount"]) == (None, 10000)
    assert covered.json()["invoice"]["status"] == "paid"
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 15000
    assert len(mercadopago.preferences) == 1  # only the first invoice's


def test_nothing_to_pay_is_refused_and_an_unreachable_provider_writes_nothing(
        api, providers, holder, store, monkeypatch):
    _, claims = holder
    paid = _order(api, claims)["invoice"]["invoice_id"]
    pay(store, paid)
    refused = _checkout(api, claims, paid)
    assert (refused.status, refused.json()["code"]) == (409, "nothing_to_pay")

    unpaid = _order(api, claims, "hosting-inicial", domain="otro.com.ar")["invoice"]["invoice_id"]
    monkeypatch.setitem(ENV_OVERRIDES, "MERCADOPAGO_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MERCADOPAGO_API_URL", "http://127.0.0.1:9")
    down = _checkout(api, claims, unpaid)
    assert (down.status, down.json()["code"]) == (503, "payment_provider_unavailable")
    assert [i for i in TableItem.scan() if isinstance(i, Checkout)] == []


@pytest.mark.parametrize("body", [{"provider": "paypal"}, {}, {"provider": "stripe", "amount": 1}])
def test_a_bad_checkout_request_is_refused(api, providers, holder, body):
    _, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]
    response = api.call("POST", f"/me/invoices/{invoice_id}/checkout", body=body, claims=claims)
    assert (response.status, response.json()["code"]) == (422, "validation_error")
    assert [i for i in TableItem.scan() if isinstance(i, Checkout)] == []


def test_the_checkout_of_a_partly_paid_invoice_after_an_expiry_opens_a_fresh_one(api, providers, holder, now):
    mercadopago, _ = providers
    _, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]
    first = _checkout(api, claims, invoice_id).json()
    stored = Checkout.get(*Checkout.key(invoice_id, "mercadopago"))
    stored.open_until = to_storage(now - timedelta(hours=1))
    stored.save()
    later = _checkout(api, claims, invoice_id).json()
    assert later["reference"] != first["reference"]
    assert Decimal(str(mercadopago.preference_requests[later["reference"]]["items"][0]["unit_price"])) == 150


def test_a_replaced_stripe_session_is_expired_and_two_calls_in_one_window_send_one_request(api, providers, holder,
                                                                                          store):
    import time as clock

    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.clock import SystemClock
    from shared.money import Money

    _, stripe = providers
    _, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]
    if 600 - clock.time() % 600 < 5:  # the checkout's 10-minute window is about to turn: start in the next one
        clock.sleep(600 - clock.time() % 600 + 0.1)
    first = _checkout(api, claims, invoice_id, "stripe").json()
    # A retry whose first answer was lost (the record deleted) asks Stripe the very same thing under the same
    # key: Stripe answers the same session, not an idempotency_error.
    Checkout.get(*Checkout.key(invoice_id, "stripe")).delete()
    again = _checkout(api, claims, invoice_id, "stripe")
    assert again.status == 200, again
    assert again.json()["reference"] == first["reference"] and len(stripe.sessions) == 1

    settle(store.billing, store.accounts, SystemClock(),
           ProviderPayment("mercadopago", "mp-parte", "approved", Money(5000, "ARS"), invoice_id, "approved"))
    fresh = _checkout(api, claims, invoice_id, "stripe").json()
    assert fresh["reference"] != first["reference"]
    assert stripe.session(first["reference"])["status"] == "expired"


def test_a_refunded_invoice_of_an_ended_service_cannot_be_paid(api, providers, holder, store):
    _, claims = holder
    order = _order(api, claims)
    invoice = Invoice.get(*Invoice.key(order["invoice"]["invoice_id"]))
    invoice.status = "refunded"  # paid, then refunded
    invoice.save()
    service = Service.get(*Service.key(order["service"]["service_id"]))
    service.status = "terminated"  # then ended by staff
    service.save()
    refused = _checkout(api, claims, invoice.invoice_id)
    assert (refused.status, refused.json()["code"]) == (409, "invoice_closed")
    assert [i for i in TableItem.scan() if isinstance(i, Checkout)] == []


def test_two_clicks_at_once_open_one_checkout(api, providers, holder):
    from concurrent.futures import ThreadPoolExecutor

    mercadopago, _ = providers
    _, claims = holder
    invoice_id = _order(api, claims)["invoice"]["invoice_id"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _checkout(api, claims, invoice_id), range(3)))
    assert all(a.status == 200 for a in answers), answers
    assert len({a.json()["reference"] for a in answers}) == 1
    stored = Checkout.get(*Checkout.key(invoice_id, "mercadopago"))
    assert stored.reference == answers[0].json()["reference"]
    open_ones = [p for p in mercadopago.preferences.values() if p["external_reference"] == invoice_id]
    assert len(open_ones) == 1  # the same request under the same key: Mercado Pago answered one preference
