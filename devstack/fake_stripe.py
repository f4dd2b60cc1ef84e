"""Stripe's side, for `make dev` and the tests: signed webhook events as Stripe sends them, and `FakeStripe`, a
loopback stand-in for Stripe Checkout (its API and the hosted page a person clicks).

Stripe-Signature: t=<unix s>,v1=HMAC-SHA256(secret, "<t>.<raw body>") (https://docs.stripe.com/webhooks).

FakeStripe (Authorization: Bearer <secret key>, or HTTP Basic with the key as user name; 401 otherwise):
- POST /v1/checkout/sessions takes Stripe's form encoding with bracket notation (line_items[0][price_data][...]),
  validated enough to catch our mistakes (unknown parameters, mode other than payment, no line items, amounts not
  positive integers of minor units, no currency, no success_url, expires_at outside 30 min–24 h…; 400
  {"error": {"type": "invalid_request_error", "message", "param"}}) and honours Idempotency-Key; it answers the
  checkout.session (id cs_test_…, url = <fake>/c/pay/<id>, status open, payment_status unpaid…).
- GET /v1/checkout/sessions/<id> answers the session as it is now (expired once expires_at passed);
  GET /v1/checkout/sessions lists them; POST /v1/checkout/sessions/<id>/expire expires an open one.
- GET /c/pay/<id> (the buyer's browser, no key) shows the amount and a "Pagar" button; POST /c/pay/<id> completes
  the session (paid, payment_intent pi_…), sends checkout.session.completed signed at the injected clock's time to
  `webhook_url` (what Stripe's dashboard configures, settable after start) and redirects (303) to success_url, with
  {CHECKOUT_SESSION_ID} replaced. A session paid or expired says so and sends nothing; a failed delivery is shown
  on the page and kept in `deliveries`, like every delivery.
"""

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

from devstack.loopback import (
    LoopbackFake,
    LoopbackJsonServer,
    RawAnswer,
    delivery_outcome,
    es_ar_number,
    escape,
    html_answer,
    json_answer,
    redirect_answer,
)

API_VERSION = "2024-06-20"


def checkout_completed(*, invoice_id: str, amount: int, currency: str, paid: bool = True,
                       created: int | None = None) -> dict:
    intent = f"pi_{uuid.uuid4().hex[:24]}"
    return event("checkout.session.completed", {
        "id": f"cs_test_{uuid.uuid4().hex[:24]}", "object": "checkout.session", "mode": "payment",
        "amount_total": amount, "currency": currency.lower(), "payment_intent": intent,
        "payment_status": "paid" if paid else "unpaid", "status": "complete",
        "client_reference_id": invoice_id, "metadata": {"invoice_id": invoice_id},
    }, created=created)


def event(kind: str, obj: dict, *, created: int | None = None) -> dict:
    """A Stripe event carrying `obj` (a copy) as data.object."""
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": kind, "data": {"object": json.loads(json.dumps(obj))},
    }


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    v1 = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={v1}"


def send_stripe_event(url: str, secret: str, *, invoice_id: str, amount: int, currency: str) -> int:
    body = json.dumps(checkout_completed(invoice_id=invoice_id, amount=amount, currency=currency)).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": sign(secret, body)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# --- Stripe's form encoding ---

class StripeParamError(ValueError):
    def __init__(self, message: str, param: str | None = None, code: str = "parameter_invalid"):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")


def parse_form(body: str) -> dict:
    """Stripe's bracket notation into nested dicts and lists: "a[b][0][c]=1&e[]=x" -> {"a": {"b": [{"c": "1"}]},
    "e": ["x"]}. Indices must run 0, 1, 2…; a name both a value and an object, or given twice, is refused."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.fullmatch(key)
        if not match:
            raise StripeParamError(f"Invalid parameter name: {key}", key)
        segments = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        node = root
        for depth, segment in enumerate(segments):
            segment = segment or str(len(node))  # "[]" appends
            if depth == len(segments) - 1:
                if segment in node:
                    raise StripeParamError(f"Received {key} more than once, or both as a value and an object.", key)
                node[segment] = value
            else:
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    raise StripeParamError(f"Invalid object: {key} (it was also given as a value).", key)
                node = child
    return _listify(root, "")


def _listify(node, path: str):
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, f"{path}[{k}]" if path else k) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        by_index = {int(k): v for k, v in converted.items()}
        if sorted(by_index) != list(range(len(by_index))):
            raise StripeParamError(f"Invalid array: the indices of {path} must be 0, 1, 2… without gaps.", path)
        return [by_index[i] for i in range(len(by_index))]
    return converted


# What Checkout Session create takes (https://docs.stripe.com/api/checkout/sessions/create): anything else is a
# typo of ours, which Stripe refuses too ("Received unknown parameter").
SESSION_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "automatic_tax", "billing_address_collection",
    "branding_settings", "cancel_url", "client_reference_id", "consent_collection", "currency", "custom_fields",
    "custom_text", "customer", "customer_account", "customer_creation", "customer_email", "customer_update",
    "discounts", "excluded_payment_method_types", "expand", "expires_at", "invoice_creation", "line_items", "locale",
    "metadata", "mode", "name_collection", "optional_items", "origin_context", "payment_intent_data",
    "payment_method_collection", "payment_method_configuration", "payment_method_data", "payment_method_options",
    "payment_method_types", "permissions", "phone_number_collection", "redirect_on_completion", "return_url",
    "saved_payment_method_options", "setup_intent_data", "shipping_address_collection", "shipping_options",
    "submit_type", "subscription_data", "success_url", "tax_id_collection", "ui_mode", "wallet_options",
}
LINE_ITEM_PARAMS = {"adjustable_quantity", "dynamic_tax_rates", "metadata", "price", "price_data", "quantity",
                    "tax_rates"}
PRICE_DATA_PARAMS = {"currency", "product", "product_data", "recurring", "tax_behavior", "unit_amount",
                     "unit_amount_decimal"}
PRODUCT_DATA_PARAMS = {"description", "images", "metadata", "name", "tax_code", "unit_label"}
LOCALES = {"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
           "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
           "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW"}
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}
SYMBOLS = {"ars": "$", "usd": "US$"}
_INTEGER = re.compile(r"-?\d+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _unknown(given: dict, known: set[str], prefix: str) -> None:
    for key in given:
        if key not in known:
            param = f"{prefix}[{key}]" if prefix else key
            raise StripeParamError(f"Received unknown parameter: {param}", param, "parameter_unknown")


def _object(params: dict, key: str, prefix: str = "") -> dict:
    value = params.get(key, {})
    if not isinstance(value, dict):
        param = f"{prefix}[{key}]" if prefix else key
        raise StripeParamError(f"Invalid object: {param} must be an object (bracket notation).", param)
    return value


def _positive_integer(value, param: str) -> int:
    if value is None:
        raise StripeParamError(f"Missing required param: {param}.", param, "parameter_missing")
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise StripeParamError(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    if int(value) <= 0:
        raise StripeParamError(f"Invalid {param}: must be greater than 0.", param)
    return int(value)


def _url(params: dict, key: str, required: bool) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise StripeParamError(f"Missing required param: {key}.", key, "parameter_missing")
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise StripeParamError("Not a valid URL", key, "url_invalid")
    return value


def _line_items(params: dict) -> list[dict]:
    items = params.get("line_items")
    if not items:
        raise StripeParamError("line_items is required in payment mode: give at least one line item.", "line_items",
                               "parameter_missing")
    if not isinstance(items, list):
        raise StripeParamError("Invalid array: line_items must be line_items[0][...], line_items[1][...]…",
                               "line_items")
    checked = []
    for index, item in enumerate(items):
        prefix = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise StripeParamError(f"Invalid object: {prefix}", prefix)
        _unknown(item, LINE_ITEM_PARAMS, prefix)
        if "price" in item:
            raise StripeParamError(f"The fake Stripe only takes {prefix}[price_data], not a Price id.",
                                   f"{prefix}[price]")
        price_data = _object(item, "price_data", prefix)
        if not price_data:
            raise StripeParamError(f"Missing required param: {prefix}[price_data].", f"{prefix}[price_data]",
                                   "parameter_missing")
        _unknown(price_data, PRICE_DATA_PARAMS, f"{prefix}[price_data]")
        currency = price_data.get("currency")
        if not currency:
            raise StripeParamError(f"Missing required param: {prefix}[price_data][currency].",
                                   f"{prefix}[price_data][currency]", "parameter_missing")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise StripeParamError(f"Invalid currency: {currency}.", f"{prefix}[price_data][currency]")
        if "unit_amount_decimal" in price_data:
            raise StripeParamError("The fake Stripe takes unit_amount (an integer of minor units), not "
                                   "unit_amount_decimal.", f"{prefix}[price_data][unit_amount_decimal]")
        unit_amount = _positive_integer(price_data.get("unit_amount"), f"{prefix}[price_data][unit_amount]")
        product_data = _object(price_data, "product_data", f"{prefix}[price_data]")
        _unknown(product_data, PRODUCT_DATA_PARAMS, f"{prefix}[price_data][product_data]")
        if not product_data.get("name") and not price_data.get("product"):
            raise StripeParamError(f"Missing required param: {prefix}[price_data][product_data][name].",
                                   f"{prefix}[price_data][product_data][name]", "parameter_missing")
        quantity = _positive_integer(item.get("quantity"), f"{prefix}[quantity]")
        checked.append({"name": product_data.get("name") or price_data.get("product"), "currency": currency.lower(),
                        "unit_amount": unit_amount, "quantity": quantity})
    if len({item["currency"] for item in checked}) > 1:
        raise StripeParamError("All line items must have the same currency.", "line_items")
    return checked


def _metadata(params: dict) -> dict:
    metadata = _object(params, "metadata")
    if len(metadata) > 50:
        raise StripeParamError("Invalid metadata: at most 50 keys.", "metadata")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise StripeParamError(f"Invalid metadata[{key}]: must be a string.", f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise StripeParamError(f"Invalid metadata[{key}]: keys up to 40 characters, values up to 500.",
                                   f"metadata[{key}]")
    return metadata


def _minor_to_text(amount: int, currency: str) -> str:
    decimals = 0 if currency in ZERO_DECIMAL else 2
    value = Decimal(amount).scaleb(-decimals)
    return f"{SYMBOLS.get(currency, currency.upper())} {es_ar_number(value, decimals)}"


class FakeStripe(LoopbackFake):
    def __init__(self, secret_key: str, webhook_secret: str, webhook_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, now: Callable[[], float] | None = None):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url  # where events go (Stripe's dashboard endpoint); settable after start
        self.now: Callable[[], float] = now or time.time
        self.sessions: dict[str, dict] = {}  # id -> {"request": parsed form, "session": the object, "items": [...]}
        self.deliveries: list[dict] = []  # every event sent: event_id, type, url, status, error, body, signature
        self.requests: list[str] = []  # every "<METHOD> <path>"
        self._idempotent: dict[str, tuple[dict, str]] = {}  # Idempotency-Key -> (params, session id)
        self._lock = threading.RLock()
        self._server = LoopbackJsonServer("fake-stripe", self._answer, host, port)

    def reset(self) -> None:
        """Forget every session, request and delivery (a test's clean slate)."""
        with self._lock:
            for store in (self.sessions, self._idempotent):
                store.clear()
            for log in (self.requests, self.deliveries):
                log.clear()

    def session(self, session_id: str) -> dict:
        """The checkout.session as it is now (an open one past expires_at is expired)."""
        with self._lock:
            current = self.sessions[session_id]["session"]
            if current["status"] == "open" and self.now() >= current["expires_at"]:
                current["status"] = "expired"
            return json.loads(json.dumps(current))

    # --- HTTP ---

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict] | RawAnswer:
        with self._lock:
            self.requests.append(f"{method} {path}")
        route = urlsplit(path).path.rstrip("/")
        if route.startswith("/c/pay/"):
            session_id = route.removeprefix("/c/pay/")
            return self._pay_page(session_id) if method == "GET" else self._pay(session_id)
        problem = self._auth_problem(_header(headers, "Authorization"))
        if problem:
            return 401, {"error": {"type": "invalid_request_error", "message": problem}}
        parts = route.removeprefix("/v1/checkout/sessions").strip("/").split("/") if route.startswith(
            "/v1/checkout/sessions") else None
        try:
            if parts == [""] and method == "POST":
                return self._create(body.decode("utf-8", "replace"), _header(headers, "Idempotency-Key"))
            if parts == [""] and method == "GET":
                with self._lock:
                    ids = list(reversed(self.sessions))
                return 200, {"object": "list", "url": "/v1/checkout/sessions", "has_more": False,
                             "data": [self.session(i) for i in ids]}
            if parts and len(parts) == 1 and method == "GET":
                return 200, self.session(self._known(parts[0]))
            if parts and len(parts) == 2 and parts[1] == "expire" and method == "POST":
                return 200, self._expire(self._known(parts[0]))
        except StripeParamError as error:
            status = 404 if error.code == "resource_missing" else 400
            return status, {"error": {"type": "invalid_request_error", "code": error.code, "message": error.message,
                                      "param": error.param}}
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({method}: {route})."}}

    def _auth_problem(self, authorization: str | None) -> str | None:
        key = None
        if authorization and authorization.startswith("Bearer "):
            key = authorization.removeprefix("Bearer ").strip()
        elif authorization and authorization.startswith("Basic "):
            try:
                key = base64.b64decode(authorization.removeprefix("Basic ").strip()).decode().partition(":")[0]
            except ValueError:
                key = ""
        if not key:
            return ("You did not provide an API key. You need to provide your API key in the Authorization header, "
                    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if not hmac.compare_digest(key.encode(), self.secret_key.encode()):
            return f"Invalid API Key provided: {key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"
        return None

    def _known(self, session_id: str) -> str:
        with self._lock:
            if session_id not in self.sessions:
                raise StripeParamError(f"No such checkout.session: '{session_id}'", "session", "resource_missing")
        return session_id

    def _create(self, body: str, idempotency_key: str | None) -> tuple[int, dict] | RawAnswer:
        params = parse_form(body)
        with self._lock:  # held throughout: two requests with one Idempotency-Key make one session
            return self._create_locked(params, idempotency_key)

    def _create_locked(self, params: dict, idempotency_key: str | None) -> tuple[int, dict] | RawAnswer:
        if idempotency_key and idempotency_key in self._idempotent:
            first, session_id = self._idempotent[idempotency_key]
            if first != params:
                return 400, {"error": {
                    "type": "idempotency_error", "message": (
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idempotency_key}' if you meant to execute a "
                        "different request.")}}
            return json_answer(200, self.session(session_id),
                               {"Idempotent-Replayed": "true", "Idempotency-Key": idempotency_key})
        _unknown(params, SESSION_PARAMS, "")
        mode = params.get("mode")
        if not mode:
            raise StripeParamError("Missing required param: mode.", "mode", "parameter_missing")
        if mode != "payment":
            raise StripeParamError(f"Invalid mode: {mode!r}. The fake Stripe only takes mode=payment.", "mode")
        items = _line_items(params)
        success_url = _url(params, "success_url", required=True)
        cancel_url = _url(params, "cancel_url", required=False)
        metadata = _metadata(params)
        created = int(self.now())
        expires_at = created + 24 * 3600
        if "expires_at" in params:
            expires_at = _positive_integer(params["expires_at"], "expires_at")
            if expires_at - created > 24 * 3600:
                raise StripeParamError("The `expires_at` timestamp must be less than 24 hours from Checkout Session "
                                       "creation.", "expires_at")
            if expires_at - created < 30 * 60:
                raise StripeParamError("The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                                       "creation.", "expires_at")
        reference = params.get("client_reference_id")
        if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 200):
            raise StripeParamError("Invalid client_reference_id: a string of 1 to 200 characters.",
                                   "client_reference_id")
        email = params.get("customer_email")
        if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email)):
            raise StripeParamError(f"Invalid email address: {email}", "customer_email", "email_invalid")
        locale = params.get("locale")
        if locale is not None and locale not in LOCALES:
            raise StripeParamError(f"Invalid locale: {locale}", "locale")
        amount = sum(item["unit_amount"] * item["quantity"] for item in items)
        session_id = f"cs_test_{uuid.uuid4().hex[:24]}"
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "livemode": False,
            "amount_subtotal": amount, "amount_total": amount, "currency": items[0]["currency"],
            "metadata": metadata, "client_reference_id": reference, "customer_email": email,
            "customer_details": None, "locale": locale, "payment_intent": None, "payment_status": "unpaid",
            "status": "open", "ui_mode": "hosted", "url": f"{self.url}/c/pay/{session_id}",
            "success_url": success_url, "cancel_url": cancel_url, "expires_at": expires_at, "created": created,
        }
        self.sessions[session_id] = {"request": params, "session": session, "items": items}
        if idempotency_key:
            self._idempotent[idempotency_key] = (params, session_id)
        return 200, self.session(session_id)

    def _expire(self, session_id: str) -> dict:
        with self._lock:
            current = self.session(session_id)
            if current["status"] != "open":
                raise StripeParamError(f"Only Checkout Sessions with a status of `open` can be expired; this one is "
                                       f"`{current['status']}`.", "session", "checkout_session_not_open")
            self.sessions[session_id]["session"].update(status="expired", url=None)
            return self.session(session_id)

    # --- The hosted page ---

    def _closed_page(self, session: dict) -> RawAnswer:
        if session["status"] == "complete":
            return html_answer(409, "Pago ya realizado", "<p>Este pago ya fue realizado.</p>")
        return html_answer(410, "Sesión vencida", "<p>Esta sesión de pago venció: pedí un link nuevo.</p>")

    def _pay_page(self, session_id: str) -> RawAnswer:
        with self._lock:
            record = self.sessions.get(session_id)
        if record is None:
            return html_answer(404, "Pago no encontrado", "<p>No encontramos esta sesión de pago.</p>")
        session = self.session(session_id)
        if session["status"] != "open":
            return self._closed_page(session)
        rows = "".join(
            f"<tr><td>{escape(item['name'])}</td><td class=\"amount\">{item['quantity']}</td>"
            f"<td class=\"amount\">{_minor_to_text(item['unit_amount'] * item['quantity'], item['currency'])}</td></tr>"
            for item in record["items"])
        body = (
            "<p class=\"note\">Stripe Checkout (simulado, sin dinero real)"
            + (f" · {escape(session['customer_email'])}" if session["customer_email"] else "") + "</p>"
            "<table><tr><th>Producto</th><th class=\"amount\">Cantidad</th><th class=\"amount\">Importe</th></tr>"
            f"{rows}<tr><th colspan=\"2\">Total</th><th class=\"amount\">"
            f"{_minor_to_text(session['amount_total'], session['currency'])}</th></tr></table>"
            f"<form method=\"post\" action=\"/c/pay/{escape(session_id)}\">"
            "<button type=\"submit\">Pagar</button></form>"
            + (f"<p><a href=\"{escape(session['cancel_url'])}\">Cancelar y volver</a></p>"
               if session["cancel_url"] else "")
        )
        return html_answer(200, "Pagá con Stripe", body)

    def _pay(self, session_id: str) -> RawAnswer:
        with self._lock:
            if session_id not in self.sessions:
                return html_answer(404, "Pago no encontrado", "<p>No encontramos esta sesión de pago.</p>")
            session = self.session(session_id)
            if session["status"] != "open":
                return self._closed_page(session)
            email = session["customer_email"]
            self.sessions[session_id]["session"].update(
                status="complete", payment_status="paid", url=None, payment_intent=f"pi_{uuid.uuid4().hex[:24]}",
                customer_details={"email": email, "name": None, "phone": None} if email else None)
            session = self.session(session_id)
        error = self.deliver(event("checkout.session.completed", session, created=int(self.now())))
        success_url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        if not error:
            return redirect_answer(success_url)
        return html_answer(200, "Pago aprobado", (
            f"<p>{_minor_to_text(session['amount_total'], session['currency'])} · {escape(session['payment_intent'])}"
            f"</p><p class=\"error\">No se pudo notificar al sitio: {escape(error)}.</p>"
            f"<p><a href=\"{escape(success_url)}\">Continuar</a></p>"))

    def deliver(self, stripe_event: dict) -> str | None:
        """Sign and POST an event to `webhook_url`; the error if it failed (recorded in `deliveries`, never
        raised)."""
        body = json.dumps(stripe_event).encode()
        signature = sign(self.webhook_secret, body, at=int(self.now()))
        record = {"event_id": stripe_event["id"], "type": stripe_event["type"], "url": self.webhook_url,
                  "status": None, "error": None, "body": body, "signature": signature}
        if not self.webhook_url:
            record["error"] = "no hay webhook_url configurada"
        else:
            request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers={
                "Content-Type": "application/json", "Stripe-Signature": signature})

            def send() -> int:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                    return response.status

            record["status"], record["error"] = delivery_outcome(send)
        with self._lock:
            self.deliveries.append(record)
        return record["error"]


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)

