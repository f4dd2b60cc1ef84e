"""The loopback checkouts of Mercado Pago (Checkout Pro) and Stripe (Checkout): what our backend sends them is
validated as the real APIs would, and the pages a person clicks pay and deliver the signed webhooks our
functions verify, at the injected clock's time."""

import base64
import http.client
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from payments.providers import BadSignature, stripe_payment, verify_mercadopago, verify_stripe

from devstack.fake_mercadopago import FakeMercadoPago
from devstack.fake_stripe import FakeStripe, StripeParamError, parse_form
from shared.money import Currency, Money

TOKEN, MP_SECRET = "TEST-access-token", "mp-webhook-secret"
STRIPE_KEY, STRIPE_SECRET = "sk_test_local_0123456789abcdef", "whsec_local"
T0 = 1_800_000_000.0  # 2027-01-15: far from the real time, so a signature at the real time would be refused


class Clock:
    def __init__(self, at: float = T0):
        self.at = at

    def __call__(self) -> float:
        return self.at

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


class Receiver:
    """Our webhook endpoint: records every request and answers `status`."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path, "headers": self.headers, "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def call(method: str, url: str, *, headers: dict | None = None, body: bytes | str | dict | None = None):
    """(status, headers, body) without following redirects."""
    parts = urlsplit(url)
    headers = dict(headers or {})
    if isinstance(body, dict):
        body, headers["Content-Type"] = json.dumps(body), "application/json"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                           body=body.encode() if isinstance(body, str) else body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def as_json(answer) -> dict:
    return json.loads(answer[2])


# One server of each for the module (stopping one waits for its poll loop), reset before every test.

@pytest.fixture(scope="module")
def clock_for_module():
    return Clock()


@pytest.fixture
def clock(clock_for_module):
    clock_for_module.at = T0
    return clock_for_module


@pytest.fixture(scope="module")
def receiver_for_module():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_for_module):
    receiver_for_module.received.clear()
    receiver_for_module.status = 200
    return receiver_for_module


# --- Mercado Pago ---

@pytest.fixture(scope="module")
def mp_for_module(clock_for_module):
    fake = FakeMercadoPago(TOKEN, MP_SECRET, now=clock_for_module).start()
    yield fake
    fake.stop()


@pytest.fixture
def mp(mp_for_module, clock):
    mp_for_module.reset()
    return mp_for_module


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def preference_body(receiver: Receiver, **overrides) -> dict:
    body = {
        "items": [{"id": "hosting-avanzado", "title": "Hosting Avanzado (anual)", "quantity": 2,
                   "unit_price": 1234.5, "currency_id": "ARS"}],
        "external_reference": "INV-0001",
        "notification_url": receiver.url("/webhooks/mercadopago"),
        "back_urls": {"success": "http://panel.local/pagos/exito", "pending": "http://panel.local/pagos/pendiente",
                      "failure": "http://panel.local/pagos/error"},
        "auto_return": "approved",
        "expires": True,
        "expiration_date_from": "2027-01-15T00:00:00.000-03:00",
        "expiration_date_to": "2027-01-16T00:00:00.000-03:00",
        "metadata": {"invoice_id": "INV-0001"},
        "payer": {"email": "ana@ejemplo.com.ar"},
    }
    body.update(overrides)
    return body


def create_preference(mp: FakeMercadoPago, body: dict, headers: dict | None = None) -> dict:
    answer = call("POST", f"{mp.url}/checkout/preferences", headers={**AUTH, **(headers or {})}, body=body)
    assert answer[0] == 201, answer
    return as_json(answer)


def test_a_preference_echoes_the_request_and_points_to_the_checkout(mp, receiver):
    body = preference_body(receiver)
    preference = create_preference(mp, body)

    collector, _, _ = preference["id"].partition("-")
    assert collector.isdigit() and preference["collector_id"] == int(collector) and preference["client_id"]
    assert preference["init_point"] == f"{mp.url}/checkout/v1/redirect?pref_id={preference['id']}"
    assert preference["sandbox_init_point"] == preference["init_point"]
    assert preference["items"][0]["unit_price"] == 1234.5 and preference["items"][0]["quantity"] == 2
    for key in ("external_reference", "notification_url", "back_urls", "auto_return", "expires",
                "expiration_date_from", "expiration_date_to", "metadata", "payer"):
        assert preference[key] == body[key], key
    assert preference["date_created"].startswith("2027-01-15T")  # the injected clock, in Argentina's offset
    assert mp.preferences[preference["id"]] == preference
    assert mp.preference_requests[preference["id"]] == body
    assert json.loads(mp.preference_bodies[preference["id"]]) == body


@pytest.mark.parametrize("change", [
    {"items": None}, {"items": []}, {"items": "hosting"},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": "1234.50", "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": 0, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": -5, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": True, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": 12.345, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 0, "unit_price": 10, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1.5, "unit_price": 10, "currency_id": "ARS"}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": 10}]},
    {"items": [{"title": "Hosting", "quantity": 1, "unit_price": 10, "currency_id": "EUR"}]},
    {"items": [{"quantity": 1, "unit_price": 10, "currency_id": "ARS"}]},
    {"items": [{"title": "A", "quantity": 1, "unit_price": 10, "currency_id": "ARS"},
               {"title": "B", "quantity": 1, "unit_price": 10, "currency_id": "USD"}]},
    {"notification_url": None}, {"notification_url": "ftp://panel.local/hook"}, {"notification_url": "hook"},
    {"back_urls": {}, "auto_return": "approved"}, {"back_urls": {"success": "panel/ok"}},
    {"expiration_date_to": "mañana"}, {"expiration_date_to": "2027-01-16T00:00:00"},
    {"expiration_date_from": "2027-01-17T00:00:00.000-03:00"},
])
def test_a_preference_mercado_pago_would_refuse_answers_400(mp, receiver, change):
    status, _, data = call("POST", f"{mp.url}/checkout/preferences", headers=AUTH, body=preference_body(receiver,
                                                                                                         **change))
    error = json.loads(data)
    assert status == 400 and error["error"] == "bad_request" and error["status"] == 400
    assert error["message"] and error["cause"] and all(c["description"] for c in error["cause"])
    assert not mp.preferences


def test_the_api_wants_the_access_token_but_the_checkout_page_does_not(mp, receiver):
    for headers in ({}, {"Authorization": "Bearer TEST-other"}, {"Authorization": TOKEN}):
        answer = call("POST", f"{mp.url}/checkout/preferences", headers=headers, body=preference_body(receiver))
        assert answer[0] == 401 and as_json(answer)["error"] == "unauthorized"
    assert call("GET", f"{mp.url}/v1/payments/1")[0] == 401
    preference = create_preference(mp, preference_body(receiver))
    assert call("GET", preference["init_point"])[0] == 200
    assert call("PUT", f"{mp.url}/checkout/preferences", headers=AUTH)[0] == 405


def test_one_idempotency_key_makes_one_preference(mp, receiver):
    first = create_preference(mp, preference_body(receiver), {"X-Idempotency-Key": "invoice-INV-0001-1"})
    again = create_preference(mp, preference_body(receiver), {"X-Idempotency-Key": "invoice-INV-0001-1"})
    other = create_preference(mp, preference_body(receiver), {"X-Idempotency-Key": "invoice-INV-0001-2"})
    assert again == first and other["id"] != first["id"]
    assert len(mp.preferences) == 2
    answer = call("GET", f"{mp.url}/checkout/preferences/{first['id']}", headers=AUTH)
    assert answer[0] == 200 and as_json(answer) == first


def test_the_checkout_page_shows_the_amounts_in_pesos_and_a_pay_button(mp, receiver):
    preference = create_preference(mp, preference_body(receiver, items=[
        {"title": "Hosting <Avanzado>", "quantity": 2, "unit_price": 1234.5, "currency_id": "ARS"},
        {"title": "Dominio .com.ar", "quantity": 1, "unit_price": 15000, "currency_id": "ARS"}]))
    status, headers, page = call("GET", preference["init_point"])
    text = page.decode("utf-8")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "$ 2.469,00" in text and "$ 15.000,00" in text and "$ 17.469,00" in text  # items and total
    assert "Hosting &lt;Avanzado&gt;" in text and "INV-0001" in text
    assert f'action="/checkout/v1/pay?pref_id={preference["id"]}"' in text and ">Pagar</button>" in text
    assert call("GET", f"{mp.url}/checkout/v1/redirect?pref_id=123-nope")[0] == 404


def test_an_expired_preference_is_not_payable(mp, receiver, clock):
    preference = create_preference(mp, preference_body(receiver))
    clock.at += 2 * 86400  # past expiration_date_to
    status, _, page = call("GET", preference["init_point"])
    assert status == 404 and "venció" in page.decode()
    assert call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}", body="status=approved")[0] == 404
    assert not mp.payments and not receiver.received


def test_paying_notifies_signed_at_the_clock_and_returns_to_the_site(mp, receiver, clock):
    preference = create_preference(mp, preference_body(receiver))
    status, headers, _ = call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}", body="status=approved",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert status == 303
    location = urlsplit(headers["Location"])
    query = {k: v[-1] for k, v in parse_qs(location.query).items()}
    payment_id = query["payment_id"]
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://panel.local/pagos/exito"
    assert query["collection_id"] == payment_id and query["collection_status"] == query["status"] == "approved"
    assert query["external_reference"] == "INV-0001" and query["preference_id"] == preference["id"]

    [delivery] = receiver.received
    path = urlsplit(delivery["path"])
    assert path.path == "/webhooks/mercadopago"
    assert parse_qs(path.query) == {"data.id": [payment_id], "type": ["payment"]}
    assert json.loads(delivery["body"])["data"]["id"] == payment_id
    signed = {"signature": delivery["headers"]["x-signature"], "request_id": delivery["headers"]["x-request-id"],
              "data_id": payment_id, "secret": MP_SECRET}
    verify_mercadopago(**signed, now=clock.datetime())
    with pytest.raises(BadSignature):
        verify_mercadopago(**signed, now=datetime.now(UTC))  # signed at the injected time, not the real one
    assert mp.notifications[0]["status"] == 200 and not mp.notification_errors

    answer = call("GET", f"{mp.url}/v1/payments/{payment_id}", headers=AUTH)
    payment = as_json(answer)
    assert answer[0] == 200 and payment["status"] == "approved" and payment["status_detail"] == "accredited"
    assert payment["transaction_amount"] == 2469.0 and payment["currency_id"] == "ARS"
    assert payment["external_reference"] == "INV-0001" and payment["preference_id"] == preference["id"]
    assert payment["metadata"] == {"invoice_id": "INV-0001"}


def test_without_back_urls_the_payment_shows_its_own_page_and_a_failed_notification_is_told(mp, receiver):
    preference = create_preference(mp, preference_body(receiver, back_urls=None, auto_return=None))
    status, _, page = call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}")
    assert status == 200 and "Pago aprobado" in page.decode() and len(receiver.received) == 1

    receiver.status = 500
    status, _, page = call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}")
    assert status == 200 and "No se pudo notificar" in page.decode()
    [error] = mp.notification_errors
    assert error["status"] == 500 and error["url"] == receiver.url("/webhooks/mercadopago")


def test_an_unreachable_webhook_is_recorded_and_the_buyer_still_gets_a_page(mp, receiver):
    unreachable = Receiver()
    url = unreachable.url("/webhooks/mercadopago")
    unreachable.stop()
    preference = create_preference(mp, preference_body(receiver, notification_url=url))
    status, _, page = call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}")
    assert status == 200 and "No se pudo notificar" in page.decode() and "Volver al sitio" in page.decode()
    assert mp.notification_errors[0]["error"] and mp.notification_errors[0]["status"] is None


def test_a_rejected_payment_returns_to_the_failure_url(mp, receiver):
    preference = create_preference(mp, preference_body(receiver))
    status, headers, _ = call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}", body="status=rejected")
    assert status == 303 and headers["Location"].startswith("http://panel.local/pagos/error?")
    payment_id = parse_qs(urlsplit(headers["Location"]).query)["payment_id"][0]
    assert mp.payments[payment_id]["status"] == "rejected" and mp.payments[payment_id]["date_approved"] is None


def test_the_existing_notification_helpers_sign_at_the_clock(mp, clock):
    payment_id = mp.create_payment(amount=100, currency="ARS", external_reference="INV-9")
    _, headers, _ = mp.signed_notification(payment_id)
    assert headers["x-signature"].startswith(f"ts={int(T0 * 1000)},")
    verify_mercadopago(signature=headers["x-signature"], request_id=headers["x-request-id"], data_id=payment_id,
                       secret=MP_SECRET, now=clock.datetime())


# --- Stripe ---

@pytest.fixture(scope="module")
def stripe_for_module(clock_for_module):
    fake = FakeStripe(STRIPE_KEY, STRIPE_SECRET, now=clock_for_module).start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe(stripe_for_module, clock, receiver):
    stripe_for_module.reset()
    stripe_for_module.webhook_url = receiver.url("/webhooks/stripe")  # set after start, as the dashboard's endpoint
    return stripe_for_module


STRIPE_AUTH = {"Authorization": f"Bearer {STRIPE_KEY}", "Content-Type": "application/x-www-form-urlencoded"}


def session_form(**overrides) -> dict:
    form = {
        "mode": "payment",
        "line_items[0][price_data][currency]": "ars",
        "line_items[0][price_data][unit_amount]": "123450",
        "line_items[0][price_data][product_data][name]": "Hosting Avanzado (anual)",
        "line_items[0][quantity]": "1",
        "metadata[invoice_id]": "INV-0001",
        "client_reference_id": "INV-0001",
        "success_url": "http://panel.local/pagos/exito?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://panel.local/facturas/INV-0001",
        "expires_at": str(int(T0) + 3600),
        "customer_email": "ana@ejemplo.com.ar",
        "locale": "es-419",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def create_session(stripe: FakeStripe, form: dict, headers: dict | None = None):
    return call("POST", f"{stripe.url}/v1/checkout/sessions", headers={**STRIPE_AUTH, **(headers or {})},
                body=urlencode(form))


def test_the_bracket_notation_parses_into_nested_objects_and_lists():
    parsed = parse_form(urlencode({
        "line_items[0][price_data][product_data][name]": "Hosting", "line_items[0][quantity]": "1",
        "line_items[1][price_data][unit_amount]": "500", "metadata[invoice_id]": "INV-1", "mode": "payment",
    }) + "&expand[]=line_items&expand[]=payment_intent&metadata[empty]=")
    assert parsed == {
        "line_items": [{"price_data": {"product_data": {"name": "Hosting"}}, "quantity": "1"},
                       {"price_data": {"unit_amount": "500"}}],
        "metadata": {"invoice_id": "INV-1", "empty": ""}, "mode": "payment",
        "expand": ["line_items", "payment_intent"],
    }
    for bad in ("line_items[1][quantity]=1", "mode=payment&mode=setup", "metadata=x&metadata[a]=b", "a]b=1"):
        with pytest.raises(StripeParamError):
            parse_form(bad)


def test_a_checkout_session_is_created_from_the_form(stripe):
    status, _, data = create_session(stripe, session_form(**{"line_items[0][quantity]": "2"}))
    session = json.loads(data)
    assert status == 200 and session["object"] == "checkout.session" and session["mode"] == "payment"
    assert session["id"].startswith("cs_test_") and len(session["id"]) == len("cs_test_") + 24
    assert session["amount_total"] == 246900 and session["currency"] == "ars"
    assert session["metadata"] == {"invoice_id": "INV-0001"} and session["client_reference_id"] == "INV-0001"
    assert (session["payment_status"], session["status"]) == ("unpaid", "open")
    assert session["url"] == f"{stripe.url}/c/pay/{session['id']}"
    assert session["success_url"] == session_form()["success_url"] and session["cancel_url"]
    assert session["expires_at"] == int(T0) + 3600 and session["created"] == int(T0)
    request = stripe.sessions[session["id"]]["request"]
    assert request["line_items"][0]["price_data"] == {"currency": "ars", "unit_amount": "123450",
                                                      "product_data": {"name": "Hosting Avanzado (anual)"}}
    assert request["line_items"][0]["quantity"] == "2" and request["metadata"] == {"invoice_id": "INV-0001"}

    answer = call("GET", f"{stripe.url}/v1/checkout/sessions/{session['id']}", headers=STRIPE_AUTH)
    assert answer[0] == 200 and as_json(answer) == session
    assert call("GET", f"{stripe.url}/v1/checkout/sessions/cs_test_nope", headers=STRIPE_AUTH)[0] == 404


def test_stripe_wants_the_secret_key_as_bearer_or_basic(stripe):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sk_test_wrong_0000000000"}):
        status, _, data = create_session(stripe, session_form(), headers)
        assert status == 401 and json.loads(data)["error"]["type"] == "invalid_request_error"
    assert "Invalid API Key provided: sk_test_" in as_json(create_session(stripe, session_form(), {
        "Authorization": "Bearer sk_test_wrong_0000000000"}))["error"]["message"]
    basic = base64.b64encode(f"{STRIPE_KEY}:".encode()).decode()
    assert create_session(stripe, session_form(), {"Authorization": f"Basic {basic}"})[0] == 200


@pytest.mark.parametrize(("change", "param"), [
    ({"mode": "subscription"}, "mode"), ({"mode": None}, "mode"),
    ({k: None for k in session_form() if k.startswith("line_items")}, "line_items"),
    ({"line_items[0][price_data][unit_amount]": "1234.50"}, "line_items[0][price_data][unit_amount]"),
    ({"line_items[0][price_data][unit_amount]": "0"}, "line_items[0][price_data][unit_amount]"),
    ({"line_items[0][price_data][unit_amount]": None}, "line_items[0][price_data][unit_amount]"),
    ({"line_items[0][price_data][currency]": None}, "line_items[0][price_data][currency]"),
    ({"line_items[0][quantity]": None}, "line_items[0][quantity]"),
    ({"line_items[0][price_data][product_data][name]": None}, "line_items[0][price_data][product_data][name]"),
    ({"line_items[0][price_data][amount]": "100"}, "line_items[0][price_data][amount]"),
    ({"success_url": None}, "success_url"), ({"success_url": "panel.local/ok"}, "success_url"),
    ({"metadata": "INV-0001", "metadata[invoice_id]": None}, "metadata"),
    ({"expires_at": str(int(T0) + 3 * 86400)}, "expires_at"), ({"expires_at": str(int(T0 * 1000))}, "expires_at"),
    ({"invoice_id": "INV-0001"}, "invoice_id"), ({"customer_email": "ana"}, "customer_email"),
])
def test_a_session_stripe_would_refuse_answers_400(stripe, change, param):
    status, _, data = create_session(stripe, session_form(**change))
    error = json.loads(data)["error"]
    assert status == 400 and error["type"] == "invalid_request_error" and error["param"] == param, error
    assert error["message"] and not stripe.sessions


def test_one_idempotency_key_makes_one_session(stripe):
    first = as_json(create_session(stripe, session_form(), {"Idempotency-Key": "inv-INV-0001-1"}))
    status, headers, data = create_session(stripe, session_form(), {"Idempotency-Key": "inv-INV-0001-1"})
    assert status == 200 and json.loads(data) == first and headers["Idempotent-Replayed"] == "true"
    changed = create_session(stripe, session_form(**{"line_items[0][quantity]": "3"}),
                             {"Idempotency-Key": "inv-INV-0001-1"})
    assert changed[0] == 400 and as_json(changed)["error"]["type"] == "idempotency_error"
    assert len(stripe.sessions) == 1


def test_paying_sends_one_signed_event_and_returns_to_the_success_url(stripe, receiver, clock):
    session = as_json(create_session(stripe, session_form()))
    status, _, page = call("GET", session["url"])
    text = page.decode("utf-8")
    assert status == 200 and "$ 1.234,50" in text and ">Pagar</button>" in text
    assert f'action="/c/pay/{session["id"]}"' in text

    status, headers, _ = call("POST", session["url"])
    assert status == 303 and headers["Location"] == f"http://panel.local/pagos/exito?session_id={session['id']}"
    [delivery] = receiver.received
    assert delivery["path"] == "/webhooks/stripe" and delivery["headers"]["Content-Type"] == "application/json"
    signature = delivery["headers"]["Stripe-Signature"]
    verify_stripe(raw_body=delivery["body"], signature=signature, secret=STRIPE_SECRET, now=clock.datetime())
    with pytest.raises(BadSignature):
        verify_stripe(raw_body=delivery["body"], signature=signature, secret=STRIPE_SECRET, now=datetime.now(UTC))
    event = json.loads(delivery["body"])
    assert event["type"] == "checkout.session.completed" and event["id"].startswith("evt_")
    assert event["created"] == int(T0) and event["livemode"] is False and event["api_version"]
    completed = event["data"]["object"]
    assert completed["id"] == session["id"] and completed["payment_intent"].startswith("pi_")
    assert (completed["payment_status"], completed["status"]) == ("paid", "complete")
    payment = stripe_payment(event)
    assert payment.amount == Money(123450, Currency.ARS) and payment.invoice_id == "INV-0001"
    assert payment.status == "approved" and payment.payment_id == completed["payment_intent"]
    assert [d["status"] for d in stripe.deliveries] == [200]

    now = as_json(call("GET", f"{stripe.url}/v1/checkout/sessions/{session['id']}", headers=STRIPE_AUTH))
    assert (now["status"], now["payment_status"]) == ("complete", "paid") and now["url"] is None

    status, _, page = call("POST", session["url"])  # paid twice: the page says so, no second event
    assert status == 409 and "ya fue realizado" in page.decode()
    assert "ya fue realizado" in call("GET", session["url"])[2].decode()
    assert len(receiver.received) == 1 and len(stripe.deliveries) == 1


def test_an_expired_session_is_not_paid(stripe, receiver, clock):
    session = as_json(create_session(stripe, session_form()))
    clock.at += 2 * 3600
    assert "venció" in call("GET", session["url"])[2].decode()
    assert call("POST", session["url"])[0] == 410
    assert as_json(call("GET", f"{stripe.url}/v1/checkout/sessions/{session['id']}",
                        headers=STRIPE_AUTH))["status"] == "expired"
    assert not receiver.received and not stripe.deliveries


def test_a_failed_delivery_is_recorded_and_shown(stripe, receiver):
    receiver.status = 400
    session = as_json(create_session(stripe, session_form()))
    status, _, page = call("POST", session["url"])
    assert status == 200 and "No se pudo notificar" in page.decode()
    assert stripe.deliveries[0]["status"] == 400 and stripe.deliveries[0]["error"]


def test_a_notification_url_with_a_query_keeps_it(mp, receiver):
    preference = create_preference(mp, preference_body(receiver, notification_url=receiver.url(
        "/webhooks/mercadopago?source=checkout")))
    assert call("POST", f"{mp.url}/checkout/v1/pay?pref_id={preference['id']}")[0] == 303
    query = parse_qs(urlsplit(receiver.received[0]["path"]).query)
    assert query["source"] == ["checkout"] and query["type"] == ["payment"] and len(query["data.id"]) == 1
