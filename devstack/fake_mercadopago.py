"""A loopback stand-in for Mercado Pago's API, its Checkout Pro pages and its webhooks, speaking the real payloads.

API (Authorization: Bearer <access token>; 401 otherwise):
- POST /checkout/preferences creates a Checkout Pro preference from the real API's body (items, external_reference,
  notification_url, back_urls, auto_return, expires, expiration_date_from/to, metadata, payer…), validated enough
  to catch our mistakes (400 {"message", "error": "bad_request", "status": 400, "cause": [...]}), honouring
  X-Idempotency-Key; 201 with the preference (id "<collector>-<uuid>", init_point, sandbox_init_point…).
- GET /checkout/preferences/{id} answers a stored preference.
- GET /v1/payments/{id} answers a payment as Mercado Pago does (id, status, status_detail, transaction_amount,
  currency_id, external_reference, date_approved…); GET /v1/payments/search?external_reference=… lists them.
The buyer's browser (no auth), what init_point opens:
- GET /checkout/v1/redirect?pref_id={id}: the items, their amounts in es-AR format, the total and a "Pagar" form
  (404 page for an unknown or expired preference).
- POST /checkout/v1/pay?pref_id={id} [status=approved|rejected|pending, approved by default]: creates the payment,
  sends the signed webhook to the preference's notification_url and redirects (303) to the matching back_url with
  the query Mercado Pago appends (collection_id, collection_status, payment_id, status, external_reference,
  preference_id…); without that back_url, or when the notification failed, a page says what happened. As on the
  real Checkout Pro, a preference can be paid more than once (until it expires).
Webhooks: `pay()`/`notify()`/the pay form send the notification exactly as Mercado Pago would
(x-signature "ts=<ms>,v1=HMAC-SHA256" over "id:<data.id>;request-id:<x-request-id>;ts:<ts>;"), signed at the
injected clock's time (`now`, seconds since the epoch; time.time by default).
Used by `make dev` (POST /local/payments, the checkout links) and by the tests.
"""

import hashlib
import hmac
import json
import math
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

from devstack.loopback import (
    LoopbackFake,
    LoopbackJsonServer,
    RawAnswer,
    delivery_outcome,
    es_ar_number,
    escape,
    html_answer,
    redirect_answer,
)

COLLECTOR_ID = 123456789  # the seller's Mercado Pago user (the prefix of a preference id)
CLIENT_ID = "6295877106812064"  # the seller's application
ARGENTINA = timezone(timedelta(hours=-3))
CURRENCIES = {"ARS": "$", "USD": "US$"}
BACK_URL_FOR = {"approved": "success", "pending": "pending", "rejected": "failure"}
STATUS_DETAIL = {"approved": "accredited", "pending": "pending_waiting_payment", "rejected": "cc_rejected_other_reason"}
NOT_YET_TOLERANCE = timedelta(minutes=5)  # our clock a little ahead of Mercado Pago's must not lock the buyer out
PAGE_TITLE = {"approved": "Pago aprobado", "pending": "Pago pendiente", "rejected": "Pago rechazado"}


def _mp_date(ts: float) -> str:
    """Mercado Pago's dates: ISO 8601 with milliseconds, in Argentina's offset."""
    return datetime.fromtimestamp(ts, ARGENTINA).isoformat(timespec="milliseconds")


def _is_http_url(value) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, params: dict) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"


def _positive_number(value) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0)


def _json_object(body: bytes) -> dict | tuple[int, dict]:
    """A request's JSON object, or Mercado Pago's 400 for anything else."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return _mp_error(400, "the body is not valid JSON", "bad_request")
    if not isinstance(data, dict):
        return _mp_error(400, "the body must be a JSON object", "bad_request")
    return data


def _mp_error(status: int, message: str, error: str, causes: list[dict] | None = None) -> tuple[int, dict]:
    return status, {"message": message, "error": error, "status": status, "cause": causes or []}


class FakeMercadoPago(LoopbackFake):
    def __init__(self, access_token: str, webhook_secret: str, host: str = "127.0.0.1", port: int = 0, *,
                 now: Callable[[], float] | None = None):
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.now: Callable[[], float] = now or time.time
        self.payments: dict[str, dict] = {}
        self.preferences: dict[str, dict] = {}  # id -> the preference as answered (it echoes the request's fields)
        self.preference_requests: dict[str, dict] = {}  # id -> the request's JSON, parsed
        self.preference_bodies: dict[str, bytes] = {}  # id -> the request's body, byte for byte
        self.requests: list[str] = []  # every path (with query) asked for
        self.notifications: list[dict] = []  # webhooks the pay form sent: url, payment_id, status, error
        self.notification_errors: list[dict] = []  # those that failed (no answer or not 2xx)
        self._idempotent: dict[str, str] = {}  # X-Idempotency-Key -> preference id
        self._next_id = 1_000_000_000 + int(time.time()) % 1_000_000
        self._lock = threading.RLock()
        self._server = LoopbackJsonServer("fake-mercadopago", self._answer, host, port)

    def _update_preference(self, preference_id: str, body: bytes) -> tuple[int, dict]:
        """PUT /checkout/preferences/{id}: the fields sent replace the preference's (we send the expiration)."""
        changes = _json_object(body)
        if isinstance(changes, tuple):
            return changes
        with self._lock:
            preference = self.preferences.get(preference_id)
            if preference is None:
                return _mp_error(404, "Preference not found", "not_found")
            preference.update({k: v for k, v in changes.items()
                               if k in ("expires", "expiration_date_from", "expiration_date_to")})
            return 200, preference

    # --- HTTP ---

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict] | RawAnswer:
        with self._lock:
            self.requests.append(path)
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route = parts.path.rstrip("/")
        # The buyer's browser: no token.
        if route == "/checkout/v1/redirect" and method == "GET":
            return self._checkout_page(query.get("pref_id", ""))
        if route == "/checkout/v1/pay" and method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            return self._checkout_pay(query.get("pref_id") or form.get("pref_id", ""),
                                      form.get("status") or query.get("status") or "approved")
        if route.startswith("/checkout/v1/"):
            return html_answer(404, "Página no encontrada", "<p>Esta página de Mercado Pago no existe.</p>")
        # The API: the seller's access token.
        if _header(headers, "Authorization") != f"Bearer {self.access_token}":
            return _mp_error(401, "invalid access token", "unauthorized")
        if route == "/checkout/preferences" and method == "POST":
            return self._create_preference(body, _header(headers, "X-Idempotency-Key"))
        if route.startswith("/checkout/preferences/") and method == "PUT":
            return self._update_preference(route.rsplit("/", 1)[-1], body)
        if method != "GET":
            return 405, {"message": "method not allowed", "error": "method_not_allowed", "status": 405}
        if route.startswith("/checkout/preferences/"):
            with self._lock:
                preference = self.preferences.get(route.rsplit("/", 1)[-1])
            if preference is None:
                return _mp_error(404, "Preference not found", "not_found")
            return 200, preference
        if route == "/v1/payments/search":
            return 200, self._search(query)
        payment_id = route.rsplit("/", 1)[-1]
        with self._lock:
            payment = self.payments.get(payment_id) if route.startswith("/v1/payments/") else None
        if payment is None:
            return 404, {"message": "Payment not found", "error": "not_found", "status": 404}
        return 200, payment

    def reset(self) -> None:
        """Forget every preference, payment, request and notification (a test's clean slate)."""
        with self._lock:
            for store in (self.payments, self.preferences, self.preference_requests, self.preference_bodies,
                          self._idempotent):
                store.clear()
            for log in (self.requests, self.notifications, self.notification_errors):
                log.clear()

    # --- Payments and webhooks ---

    def create_payment(self, *, amount: Decimal, currency: str, external_reference: str | None,
                       status: str = "approved") -> str:
        with self._lock:
            self._next_id += 1
            payment_id = str(self._next_id)
            now = _mp_date(self.now())
            self.payments[payment_id] = {
                "id": int(payment_id), "status": status,
                "status_detail": "accredited" if status == "approved" else STATUS_DETAIL.get(status, status),
                "transaction_amount": float(amount), "currency_id": currency,
                "external_reference": external_reference, "date_created": now,
                "date_approved": now if status == "approved" else None,
                "date_last_updated": now, "payment_method_id": "visa", "payment_type_id": "credit_card",
                "live_mode": False, "collector_id": COLLECTOR_ID,
            }
            return payment_id

    def set_status(self, payment_id: str, status: str) -> None:
        with self._lock:
            self.payments[payment_id]["status"] = status

    def signed_notification(self, payment_id: str, ts: int | None = None) -> tuple[str, dict[str, str], bytes]:
        """(query string, headers, body) of the webhook Mercado Pago sends for a payment; `ts` in ms (the fake's
        clock by default)."""
        ts = ts if ts is not None else int(self.now() * 1000)
        request_id = str(uuid.uuid4())
        manifest = f"id:{payment_id};request-id:{request_id};ts:{ts};"
        v1 = hmac.new(self.webhook_secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
        body = json.dumps({
            "id": int(self.now() * 1000), "live_mode": False, "type": "payment", "date_created":
            _mp_date(self.now()), "user_id": COLLECTOR_ID, "api_version": "v1", "action": "payment.updated",
            "data": {"id": payment_id},
        }).encode()
        headers = {"x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id,
                   "Content-Type": "application/json"}
        return f"data.id={payment_id}&type=payment", headers, body

    def notify(self, webhook_url: str, payment_id: str) -> int:
        """Send the signed notification; raises urllib's HTTPError for a non-2xx answer."""
        query, headers, body = self.signed_notification(payment_id)
        url = f"{webhook_url}{'&' if urlsplit(webhook_url).query else '?'}{query}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status

    def pay(self, webhook_url: str, *, amount: Decimal, currency: str, invoice_id: str) -> str:
        payment_id = self.create_payment(amount=amount, currency=currency, external_reference=invoice_id)
        self.notify(webhook_url, payment_id)
        return payment_id

    def _search(self, query: dict) -> dict:
        reference = query.get("external_reference")
        with self._lock:
            results = [p for p in self.payments.values() if reference is None or p["external_reference"] == reference]
        return {"paging": {"total": len(results), "limit": 30, "offset": 0}, "results": results}

    def _deliver(self, url: str | None, payment_id: str) -> str | None:
        """Send the notification from the pay form; the error, if it failed (recorded, never raised)."""
        record = {"url": url, "payment_id": payment_id, "status": None, "error": None}
        if not url:
            record["error"] = "la preferencia no tiene notification_url"
        else:
            record["status"], record["error"] = delivery_outcome(lambda: self.notify(url, payment_id))
        with self._lock:
            self.notifications.append(record)
            if record["error"]:
                self.notification_errors.append(record)
        return record["error"]

    # --- Checkout Pro ---

    def _create_preference(self, body: bytes, idempotency_key: str | None) -> tuple[int, dict]:
        data = _json_object(body)
        if isinstance(data, tuple):
            return data
        causes = self._preference_problems(data)
        if causes:
            return _mp_error(400, causes[0]["description"], "bad_request", causes)
        with self._lock:
            if idempotency_key and idempotency_key in self._idempotent:
                return 201, self.preferences[self._idempotent[idempotency_key]]
            preference_id = f"{COLLECTOR_ID}-{uuid.uuid4()}"
            init_point = f"{self.url}/checkout/v1/redirect?pref_id={preference_id}"
            items = [{"id": item.get("id", ""), "title": item["title"], "description": item.get("description", ""),
                      "picture_url": item.get("picture_url"), "category_id": item.get("category_id", ""),
                      "currency_id": item["currency_id"], "quantity": item["quantity"],
                      "unit_price": item["unit_price"]} for item in data["items"]]
            preference = {
                "id": preference_id, "init_point": init_point, "sandbox_init_point": init_point,
                "items": items, "external_reference": data.get("external_reference", ""),
                "notification_url": data.get("notification_url"),
                "back_urls": {key: (data.get("back_urls") or {}).get(key, "") for key in BACK_URL_FOR.values()},
                "auto_return": data.get("auto_return", ""), "binary_mode": data.get("binary_mode", False),
                "expires": data.get("expires", False), "expiration_date_from": data.get("expiration_date_from"),
                "expiration_date_to": data.get("expiration_date_to"),
                "date_of_expiration": data.get("date_of_expiration"), "metadata": data.get("metadata") or {},
                "payer": data.get("payer") or {}, "payment_methods": data.get("payment_methods") or {},
                "statement_descriptor": data.get("statement_descriptor"), "date_created": _mp_date(self.now()),
                "collector_id": COLLECTOR_ID, "client_id": CLIENT_ID, "operation_type": "regular_payment",
                "site_id": "MLA", "marketplace": "NONE", "additional_info": data.get("additional_info", ""),
            }
            self.preferences[preference_id] = preference
            self.preference_requests[preference_id] = data
            self.preference_bodies[preference_id] = body
            if idempotency_key:
                self._idempotent[idempotency_key] = preference_id
            return 201, preference

    def _preference_problems(self, data: dict) -> list[dict]:
        causes: list[dict] = []

        def problem(code: str, description: str) -> None:
            causes.append({"code": code, "description": description, "data": None})

        items = data.get("items")
        if not isinstance(items, list) or not items:
            problem("invalid_items", "items is required and must be a non-empty list")
            items = []
        currencies = set()
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problem("invalid_items", f"items[{index}] must be an object")
                continue
            if not isinstance(item.get("title"), str) or not item["title"].strip():
                problem("invalid_items", f"items[{index}].title is required")
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                problem("invalid_items", f"items[{index}].quantity must be a positive integer")
            price = item.get("unit_price")
            if not _positive_number(price):
                problem("invalid_items", f"items[{index}].unit_price must be a positive number")
            elif Decimal(str(price)).as_tuple().exponent < -2:
                # Stricter than Mercado Pago (which rounds): more than 2 decimals is a units/cents mix-up of ours.
                problem("invalid_items", f"items[{index}].unit_price has more than 2 decimals: {price}")
            currency = item.get("currency_id")
            if currency is None:
                problem("invalid_items", f"items[{index}].currency_id is required")
            elif currency != "ARS":  # Mercado Pago Argentina (site MLA) charges in pesos only
                problem("invalid_items", f"items[{index}].currency_id invalid: {currency!r} (MLA: ARS)")
            else:
                currencies.add(currency)
        if len(currencies) > 1:
            problem("invalid_items", "all items must have the same currency_id")
        # Mercado Pago falls back to the application's webhook; ours always names it, so it is required here.
        if not _is_http_url(data.get("notification_url")):
            problem("invalid_notification_url", "notification_url must be an http(s) URL")
        reference = data.get("external_reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 256):
            problem("invalid_external_reference", "external_reference must be a string of up to 256 characters")
        back_urls = data.get("back_urls")
        if back_urls is not None:
            if not isinstance(back_urls, dict):
                problem("invalid_back_urls", "back_urls must be an object")
                back_urls = {}
            for key, value in back_urls.items():
                if key not in BACK_URL_FOR.values():
                    problem("invalid_back_urls", f"back_urls.{key} is not a back_url (success, pending, failure)")
                elif value not in (None, "") and not _is_http_url(value):
                    problem("invalid_back_urls", f"back_urls.{key} must be an http(s) URL")
        auto_return = data.get("auto_return")
        if auto_return not in (None, "", "approved", "all"):
            problem("invalid_auto_return", "auto_return must be approved or all")
        elif auto_return and not (back_urls or {}).get("success"):
            problem("invalid_auto_return", "auto_return invalid. back_url.success must be defined")
        if "expires" in data and not isinstance(data["expires"], bool):
            problem("invalid_expires", "expires must be a boolean")
        dates = {}
        for key in ("expiration_date_from", "expiration_date_to", "date_of_expiration"):
            if data.get(key) is None:
                continue
            try:
                parsed = datetime.fromisoformat(data[key])
                if parsed.tzinfo is None:
                    raise ValueError(key)
                dates[key] = parsed
            except (TypeError, ValueError):
                problem("invalid_date", f"{key} must be an ISO 8601 date with its offset "
                                        "(yyyy-MM-dd'T'HH:mm:ss.SSSZ)")
        if {"expiration_date_from", "expiration_date_to"} <= dates.keys() and (
                dates["expiration_date_from"] > dates["expiration_date_to"]):
            problem("invalid_date", "expiration_date_from must be before expiration_date_to")
        for key in ("metadata", "payer"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                problem(f"invalid_{key}", f"{key} must be an object")
        return causes

    def _payable(self, preference_id: str) -> tuple[dict | None, str | None]:
        """(preference, None) if it can be paid now, else (preference or None, why not)."""
        with self._lock:
            preference = self.preferences.get(preference_id)
        if preference is None:
            return None, "No encontramos este link de pago."
        now = datetime.fromtimestamp(self.now(), UTC)
        if preference.get("expires"):
            since, until = preference.get("expiration_date_from"), preference.get("expiration_date_to")
            if until and now > datetime.fromisoformat(until):
                return preference, "Este link de pago venció."
            if since and now < datetime.fromisoformat(since) - NOT_YET_TOLERANCE:
                return preference, "Este link de pago todavía no está disponible."
        return preference, None

    def _checkout_page(self, preference_id: str) -> RawAnswer:
        preference, why_not = self._payable(preference_id)
        if why_not:
            return html_answer(404, "Link de pago no disponible", f"<p>{escape(why_not)}</p>")
        currency = preference["items"][0]["currency_id"]
        rows = "".join(
            f"<tr><td>{escape(item['title'])}</td><td class=\"amount\">{item['quantity']}</td>"
            f"<td class=\"amount\">{_amount(Decimal(str(item['unit_price'])) * item['quantity'], currency)}</td></tr>"
            for item in preference["items"])
        action = f"/checkout/v1/pay?{urlencode({'pref_id': preference_id})}"
        back = preference["back_urls"].get("failure") or preference["back_urls"].get("pending")
        body = (
            f"<p class=\"note\">Mercado Pago (simulado, sin dinero real) · referencia "
            f"{escape(preference['external_reference'])}</p>"
            f"<table><tr><th>Producto</th><th class=\"amount\">Cantidad</th><th class=\"amount\">Importe</th></tr>"
            f"{rows}<tr><th colspan=\"2\">Total</th><th class=\"amount\">{_amount(_total(preference), currency)}"
            f"</th></tr></table>"
            f"<form method=\"post\" action=\"{escape(action)}\">"
            f"<button type=\"submit\" name=\"status\" value=\"approved\">Pagar</button> "
            f"<button type=\"submit\" name=\"status\" value=\"rejected\">Simular rechazo</button> "
            f"<button type=\"submit\" name=\"status\" value=\"pending\">Simular pago pendiente</button></form>"
            + (f"<p><a href=\"{escape(back)}\">Volver al sitio</a></p>" if back else "")
        )
        return html_answer(200, "Pagá con Mercado Pago", body)

    def _checkout_pay(self, preference_id: str, status: str) -> RawAnswer:
        preference, why_not = self._payable(preference_id)
        if why_not:
            return html_answer(404, "Link de pago no disponible", f"<p>{escape(why_not)}</p>")
        if status not in BACK_URL_FOR:
            return html_answer(400, "Pago no válido", "<p>El estado pedido no existe.</p>")
        currency = preference["items"][0]["currency_id"]
        total = _total(preference)
        payment_id = self.create_payment(amount=total, currency=currency,
                                         external_reference=preference["external_reference"], status=status)
        with self._lock:
            self.payments[payment_id].update({"preference_id": preference_id, "metadata": preference["metadata"]})
        # Sent in this request's thread (the server answers others meanwhile, e.g. our API's GET of the payment).
        error = self._deliver(preference.get("notification_url"), payment_id)
        back_url = preference["back_urls"].get(BACK_URL_FOR[status])
        if back_url:
            back_url = _with_query(back_url, {
                "collection_id": payment_id, "collection_status": status, "payment_id": payment_id,
                "status": status, "external_reference": preference["external_reference"],
                "payment_type": "credit_card", "merchant_order_id": str(int(payment_id) + 7_000_000_000),
                "preference_id": preference_id, "site_id": "MLA", "processing_mode": "aggregator",
                "merchant_account_id": "null",
            })
            if not error:
                return redirect_answer(back_url)
        body = f"<p>{_amount(total, currency)} · pago n.º {escape(payment_id)}</p>"
        if error:
            body += f"<p class=\"error\">No se pudo notificar al sitio: {escape(error)}.</p>"
        if back_url:
            body += f"<p><a href=\"{escape(back_url)}\">Volver al sitio</a></p>"
        return html_answer(200, PAGE_TITLE[status], body)


def _total(preference: dict) -> Decimal:
    return sum((Decimal(str(item["unit_price"])) * item["quantity"] for item in preference["items"]), Decimal(0))


def _amount(value: Decimal, currency: str) -> str:
    return f"{CURRENCIES.get(currency, currency)} {es_ar_number(value)}"


def _header(headers: dict[str, str], name: str) -> str | None:
    """A request header whatever its case (http.server keeps the sender's)."""
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)
