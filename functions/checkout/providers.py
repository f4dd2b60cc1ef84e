"""Opening a checkout at a payment provider: where the client is sent to pay an invoice.

Mercado Pago Checkout Pro (https://www.mercadopago.com.ar/developers/es/reference/preferences/_checkout_preferences/post):
  POST /checkout/preferences, JSON, Authorization: Bearer <access token>, X-Idempotency-Key. Amounts are in
  currency units (a JSON number with the currency's decimals). The answer's ``init_point`` is the page to
  send the buyer to; payments made there carry our ``external_reference`` and are notified to
  ``notification_url`` (our signed webhook, functions/payments).
Stripe Checkout (https://docs.stripe.com/api/checkout/sessions/create):
  POST /v1/checkout/sessions, form-encoded with bracket notation, Authorization: Bearer <secret key>,
  Idempotency-Key. Amounts in minor units. The answer's ``url`` is the hosted page; the session's
  completion reaches the webhook configured in Stripe's dashboard as checkout.session.completed, with our
  ``metadata.invoice_id`` (read by functions/payments/providers.stripe_payment).
"""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shared.errors import ServiceUnavailable
from shared.money import Money

TIMEOUT_S = 8.0  # the checkout route's own timeout is 15 s: opening, then closing the one it replaces
CLOSE_TIMEOUT_S = 3.0
CLOCK_SKEW = timedelta(minutes=5)


class CheckoutUnavailable(ServiceUnavailable):
    code = "payment_provider_unavailable"
    message = "El proveedor de pagos no respondió. Intente de nuevo en unos minutos."


@dataclass(frozen=True)
class CheckoutRequest:
    invoice_id: str
    title: str  # what the buyer sees, e.g. "Factura 0001-00000042 - Paneldecliente"
    amount: Money
    notification_url: str  # Mercado Pago only: Stripe notifies the endpoint set in its dashboard
    success_url: str
    pending_url: str
    failure_url: str
    payer_email: str | None
    open_until: datetime
    idempotency_key: str


@dataclass(frozen=True)
class OpenedCheckout:
    reference: str  # preference or session id
    url: str


class CheckoutGateway(Protocol):
    def open(self, request: CheckoutRequest, now: datetime) -> OpenedCheckout: ...

    def close(self, reference: str, now: datetime) -> bool:
        """No longer payable; False if the provider could not be told (it expires on its own anyway)."""


def _open(request: urllib.request.Request, provider: str, url_field: str) -> OpenedCheckout:
    """Send the provider's create request; its answer's id and the page (``url_field``) to send the buyer to."""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (configured URL)
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        # A 4xx is our request's fault (or the credentials'): nothing the client can fix, so it is a 503 for
        # them and an error in our logs; a 5xx is the provider's.
        raise CheckoutUnavailable(f"{provider} rechazó la apertura del pago ({error.code}).") from error
    except (OSError, http.client.HTTPException, ValueError) as error:  # URLError, resets, timeouts, bad JSON
        raise CheckoutUnavailable() from error
    reference, url = (body.get("id"), body.get(url_field)) if isinstance(body, dict) else (None, None)
    if not isinstance(reference, str) or not isinstance(url, str) or not url.startswith("http"):
        raise CheckoutUnavailable()
    return OpenedCheckout(reference, url)


def _close(request: urllib.request.Request) -> bool:
    try:
        with urllib.request.urlopen(request, timeout=CLOSE_TIMEOUT_S):  # noqa: S310 (configured URL)
            return True
    except (OSError, http.client.HTTPException, ValueError):
        return False  # it expires by itself within a day; a payment on it is applied or credited anyway


def _iso_ms(at: datetime) -> str:
    """Mercado Pago's date format: ISO 8601 with milliseconds and offset."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+00:00"


class MercadoPagoCheckout:
    def __init__(self, base_url: str, access_token: str):
        self._base = base_url.rstrip("/")
        self._token = access_token

    @staticmethod
    def preference(request: CheckoutRequest, now: datetime) -> str:
        """The preference's JSON. unit_price is written from the Decimal's text: never through a float."""
        body = {
            "items": [{
                "id": request.invoice_id, "title": request.title, "quantity": 1,
                "currency_id": request.amount.currency.value, "unit_price": "__UNIT_PRICE__",
            }],
            "external_reference": request.invoice_id,
            # Webhooks only (signed): without it, Mercado Pago also sends the legacy unsigned IPN calls.
            "notification_url": f"{request.notification_url}?source_news=webhooks",
            "back_urls": {"success": request.success_url, "pending": request.pending_url,
                          "failure": request.failure_url},
            "auto_return": "approved",
            "binary_mode": False,  # cash (Rapipago, Pago Fácil) stays pending until paid, then is notified
            "expires": True,
            "expiration_date_from": _iso_ms(now - CLOCK_SKEW),  # payable at once even if its clock is behind
            "expiration_date_to": _iso_ms(request.open_until),
            "metadata": {"invoice_id": request.invoice_id},
            "statement_descriptor": "PANELDECLIENTE",
        }
        if request.payer_email:
            body["payer"] = {"email": request.payer_email}
        text = json.dumps(body, ensure_ascii=False)
        return text.replace('"__UNIT_PRICE__"', str(request.amount.to_decimal()))

    def open(self, request: CheckoutRequest, now: datetime) -> OpenedCheckout:
        http = urllib.request.Request(
            f"{self._base}/checkout/preferences", data=self.preference(request, now).encode(), method="POST",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
                     "X-Idempotency-Key": request.idempotency_key},
        )
        return _open(http, "Mercado Pago", "init_point")

    def close(self, reference: str, now: datetime) -> bool:
        """PUT the preference with its expiration set to now."""
        body = json.dumps({"expires": True, "expiration_date_to": _iso_ms(now)}).encode()
        http = urllib.request.Request(
            f"{self._base}/checkout/preferences/{urllib.parse.quote(reference, safe='')}", data=body, method="PUT",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"})
        return _close(http)


class StripeCheckout:
    def __init__(self, base_url: str, secret_key: str):
        self._base = base_url.rstrip("/")
        self._key = secret_key

    @staticmethod
    def session_form(request: CheckoutRequest) -> list[tuple[str, str]]:
        return [
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", request.amount.currency.value.lower()),
            ("line_items[0][price_data][unit_amount]", str(request.amount.amount)),
            ("line_items[0][price_data][product_data][name]", request.title),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", request.invoice_id),
            ("metadata[invoice_id]", request.invoice_id),
            # So that payment_intent.* events name the invoice too.
            ("payment_intent_data[metadata][invoice_id]", request.invoice_id),
            ("success_url", request.success_url),
            ("cancel_url", request.failure_url),
            ("expires_at", str(int(request.open_until.timestamp()))),
            ("locale", "es-419"),
            *([("customer_email", request.payer_email)] if request.payer_email else []),
        ]

    def open(self, request: CheckoutRequest, now: datetime) -> OpenedCheckout:
        http = urllib.request.Request(
            f"{self._base}/v1/checkout/sessions", data=urllib.parse.urlencode(self.session_form(request)).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self._key}", "Content-Type": "application/x-www-form-urlencoded",
                     "Idempotency-Key": request.idempotency_key},
        )
        return _open(http, "Stripe", "url")

    def close(self, reference: str, now: datetime) -> bool:
        """POST /v1/checkout/sessions/{id}/expire."""
        http = urllib.request.Request(
            f"{self._base}/v1/checkout/sessions/{urllib.parse.quote(reference, safe='')}/expire", data=b"",
            method="POST", headers={"Authorization": f"Bearer {self._key}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
        return _close(http)
