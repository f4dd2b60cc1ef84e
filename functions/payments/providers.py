"""What the payment providers send and answer: signature checks and normalised payments.

Mercado Pago (https://www.mercadopago.com.ar/developers, "Notificaciones webhooks"):
  x-signature: "ts=<unix s or ms>,v1=<hex HMAC-SHA256>" over the manifest
  "id:<data.id>;request-id:<x-request-id>;ts:<ts>;" (pairs whose value is absent are left out; an
  alphanumeric data.id is lower-cased), keyed with the webhook secret. The notification carries only
  the payment id: amount and status are read from GET /v1/payments/{id}.
Stripe (https://docs.stripe.com/webhooks#verify-manually):
  Stripe-Signature: "t=<unix s>,v1=<hex>[,v1=...][,v0=...]" — HMAC-SHA256 of "<t>.<raw body>" with the
  endpoint secret; any v1 may match; 300 s tolerance. The event body is trusted once verified.
"""

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from shared.errors import DomainError, Unauthenticated
from shared.money import Currency, Money

MERCADOPAGO_MAX_AGE_S = 600  # Mercado Pago retries for hours, but each delivery is signed anew
STRIPE_TOLERANCE_S = 300

# Provider statuses -> what settlement does with them.
MERCADOPAGO_STATUS = {
    "approved": "approved",
    "authorized": "pending",
    "pending": "pending",
    "in_process": "pending",
    "in_mediation": "pending",
    "rejected": "failed",
    "cancelled": "failed",
    "refunded": "refunded",
    "charged_back": "refunded",
}


class BadSignature(Unauthenticated):
    code = "invalid_signature"
    message = "La firma de la notificación no es válida."


class ProviderUnavailable(DomainError):
    code = "provider_unavailable"
    message = "El proveedor de pagos no respondió."


@dataclass(frozen=True)
class ProviderPayment:
    provider: str  # mercadopago | stripe
    payment_id: str
    status: str  # approved | pending | failed | refunded
    amount: Money | None
    invoice_id: str | None  # our reference (external_reference / metadata.invoice_id)
    provider_status: str


def _parts(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key and value:
            pairs.append((key.strip(), value.strip()))
    return pairs


_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_EPOCH = re.compile(r"\d{9,13}")  # seconds (10 digits today) or milliseconds (13)


def _epoch_seconds(text: str) -> float:
    if not _EPOCH.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    return value / 1000 if value > 10**11 else value  # milliseconds are accepted too


def _same(expected: str, given: str) -> bool:
    # Only a well-formed hex digest is compared (compare_digest refuses non-ASCII text).
    return bool(_HEX64.fullmatch(given)) and hmac.compare_digest(expected, given.lower())


def verify_mercadopago(
    *, signature: str | None, request_id: str | None, data_id: str | None, secret: str, now: datetime
) -> None:
    if not signature or not secret:
        raise BadSignature()
    parts = dict(_parts(signature))
    ts, v1 = parts.get("ts"), parts.get("v1")
    if not ts or not v1:
        raise BadSignature()
    try:
        age = abs(now.timestamp() - _epoch_seconds(ts))
    except ValueError:
        raise BadSignature() from None
    if age > MERCADOPAGO_MAX_AGE_S:
        raise BadSignature("La notificación es demasiado antigua.", code="stale_signature")
    manifest = ""
    if data_id:
        manifest += f"id:{data_id.lower() if data_id.isalnum() else data_id};"
    if request_id:
        manifest += f"request-id:{request_id};"
    manifest += f"ts:{ts};"
    expected = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    if not _same(expected, v1):
        raise BadSignature()


def verify_stripe(*, raw_body: bytes, signature: str | None, secret: str, now: datetime) -> None:
    if not signature or not secret:
        raise BadSignature()
    parts = _parts(signature)
    timestamps = [v for k, v in parts if k == "t"]
    candidates = [v for k, v in parts if k == "v1"]
    if len(timestamps) != 1 or not candidates:
        raise BadSignature()
    try:
        age = abs(now.timestamp() - _epoch_seconds(timestamps[0]))
    except ValueError:
        raise BadSignature() from None
    if age > STRIPE_TOLERANCE_S:
        raise BadSignature("La notificación es demasiado antigua.", code="stale_signature")
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    if not any(_same(expected, c) for c in candidates):
        raise BadSignature()


def _money(amount, currency: str | None) -> Money | None:
    try:
        return Money.from_decimal(Decimal(str(amount)), Currency(str(currency).upper()))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _minor(amount, currency: str | None) -> Money | None:
    try:
        return Money(int(amount), Currency(str(currency).upper()))
    except (ValueError, TypeError):
        return None


class MercadoPagoApi:
    def __init__(self, base_url: str, access_token: str, timeout_s: float = 5.0):
        self._base = base_url.rstrip("/")
        self._token = access_token
        self._timeout = timeout_s

    def get_payment(self, payment_id: str) -> ProviderPayment:
        request = urllib.request.Request(
            f"{self._base}/v1/payments/{urllib.request.quote(payment_id, safe='')}",
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured URL)
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return ProviderPayment("mercadopago", payment_id, "failed", None, None, "not_found")
            raise ProviderUnavailable(f"Mercado Pago respondió {error.code}.") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise ProviderUnavailable() from error
        raw_status = str(body.get("status", ""))
        return ProviderPayment(
            provider="mercadopago",
            payment_id=str(body.get("id", payment_id)),
            status=MERCADOPAGO_STATUS.get(raw_status, "pending"),
            amount=_money(body.get("transaction_amount"), body.get("currency_id")),
            invoice_id=body.get("external_reference") or None,
            provider_status=raw_status,
        )


def stripe_payment(event: dict) -> ProviderPayment | None:
    """The payment a verified Stripe event reports, or None for events we do not act on."""
    kind = event.get("type")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if kind == "checkout.session.completed":
        if obj.get("payment_status") != "paid":
            return None  # asynchronous methods complete later (checkout.session.async_payment_succeeded)
        return ProviderPayment(
            provider="stripe",
            payment_id=str(obj.get("payment_intent") or obj.get("id")),
            status="approved",
            amount=_minor(obj.get("amount_total"), obj.get("currency")),
            invoice_id=metadata.get("invoice_id") or obj.get("client_reference_id"),
            provider_status="paid",
        )
    if kind == "payment_intent.succeeded":
        return ProviderPayment(
            provider="stripe",
            payment_id=str(obj.get("id")),
            status="approved",
            amount=_minor(obj.get("amount_received"), obj.get("currency")),
            invoice_id=metadata.get("invoice_id"),
            provider_status="succeeded",
        )
    # Money taken back: a full refund, or a dispute lost (an open dispute may still be won). A partial
    # refund is staff's call (it shows in Stripe's dashboard); we do not undo a whole payment for it.
    full_refund = kind == "charge.refunded" and obj.get("refunded") is True
    lost_dispute = kind == "charge.dispute.closed" and obj.get("status") == "lost"
    if full_refund or lost_dispute:
        return ProviderPayment(
            provider="stripe",
            payment_id=str(obj.get("payment_intent") or obj.get("id")),
            status="refunded",
            amount=_minor(obj.get("amount_refunded") or obj.get("amount"), obj.get("currency")),
            invoice_id=metadata.get("invoice_id"),
            provider_status=kind,
        )
    return None
