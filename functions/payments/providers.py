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

from shared.errors import DomainError, InvalidInput, Unauthenticated
from shared.money import MINOR_UNITS, Currency, Money
from shared.secret_compare import same_secret

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
    amount: Money | None  # None: not a usable amount (see ``problem``)
    invoice_id: str | None  # our reference (external_reference / metadata.invoice_id); None unless a string
    provider_status: str
    # Why ``amount`` is None: "currency" (not one we bill in) or "amount" (zero, negative, not a whole
    # number of minor units, not a number); ``reported`` keeps the provider's own text for staff.
    problem: str | None = None
    reported: str | None = None


def payment_message(payment: ProviderPayment) -> dict:
    """A verified Stripe event's payment as queued for settlement (JSON)."""
    return {
        "payment_id": payment.payment_id, "status": payment.status, "invoice_id": payment.invoice_id,
        "provider_status": payment.provider_status,
        "amount": payment.amount.amount if payment.amount else None,
        "currency": payment.amount.currency.value if payment.amount else None,
        "problem": payment.problem, "reported": payment.reported,
    }


def payment_from_message(data: dict) -> ProviderPayment:
    amount = Money(data["amount"], Currency(data["currency"])) if data.get("amount") is not None else None
    return ProviderPayment("stripe", data["payment_id"], data["status"], amount, data.get("invoice_id"),
                           data["provider_status"], data.get("problem"), data.get("reported"))


def _parts(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key and value:
            pairs.append((key.strip(), value.strip()))
    return pairs


_EPOCH = re.compile(r"\d{9,13}")  # seconds (10 digits today) or milliseconds (13)


def _epoch_seconds(text: str) -> float:
    if not _EPOCH.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    return value / 1000 if value > 10**11 else value  # milliseconds are accepted too


def _check_age(ts: str, now: datetime, tolerance_s: int) -> None:
    """A signed timestamp within the tolerance either way (clocks drift); older is a replay, later a forgery
    or a clock far ahead, and each is told as what it is."""
    try:
        age = now.timestamp() - _epoch_seconds(ts)
    except ValueError:
        raise BadSignature() from None
    if age > tolerance_s:
        raise BadSignature("La notificación es demasiado antigua.", code="stale_signature")
    if age < -tolerance_s:
        raise BadSignature("La firma de la notificación tiene una fecha futura.", code="signature_from_future")


def verify_mercadopago(
    *, signature: str | None, request_id: str | None, data_id: str | None, secret: str, now: datetime
) -> None:
    if not signature or not secret:
        raise BadSignature()
    parts = dict(_parts(signature))
    ts, v1 = parts.get("ts"), parts.get("v1")
    if not ts or not v1:
        raise BadSignature()
    _check_age(ts, now, MERCADOPAGO_MAX_AGE_S)
    manifest = ""
    if data_id:
        manifest += f"id:{data_id.lower() if data_id.isalnum() else data_id};"
    if request_id:
        manifest += f"request-id:{request_id};"
    manifest += f"ts:{ts};"
    expected = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    if not same_secret(expected, v1.lower()):
        raise BadSignature()


def verify_stripe(*, raw_body: bytes, signature: str | None, secret: str, now: datetime) -> None:
    if not signature or not secret:
        raise BadSignature()
    parts = _parts(signature)
    timestamps = [v for k, v in parts if k == "t"]
    candidates = [v for k, v in parts if k == "v1"]
    if len(timestamps) != 1 or not candidates:
        raise BadSignature()
    _check_age(timestamps[0], now, STRIPE_TOLERANCE_S)
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    if not any(same_secret(expected, c.lower()) for c in candidates):
        raise BadSignature()


def reported_amount(amount, currency, *, minor_units: bool) -> tuple[Money | None, str | None, str | None]:
    """(Money, None, None) for a usable amount, else (None, problem, the provider's text). Usable: a
    currency we bill in and a positive amount that is a whole number of minor units — never rounded,
    never a bool, never negative (a refund is its own event, not a negative payment)."""
    text = f"{amount!r} {currency!r}"[:100]
    try:
        code = Currency(str(currency).upper())
    except ValueError:
        return None, "currency", text
    if isinstance(amount, bool) or not isinstance(amount, int | float | str | Decimal):
        return None, "amount", text
    try:
        value = Decimal(str(amount))
        minor = value if minor_units else value.scaleb(MINOR_UNITS[code])
        if not minor.is_finite() or minor <= 0 or minor != minor.to_integral_value():
            return None, "amount", text
        return Money(int(minor), code), None, None
    except (InvalidOperation, ValueError):
        return None, "amount", text


def _reference(value) -> str | None:
    """Our invoice id as the provider echoes it: only a non-empty string can be one."""
    return value if isinstance(value, str) and value else None


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
        amount, problem, reported = reported_amount(body.get("transaction_amount"), body.get("currency_id"),
                                                    minor_units=False)
        return ProviderPayment(
            provider="mercadopago",
            payment_id=payment_id,  # the id we asked for (and the signed notification named)
            status=MERCADOPAGO_STATUS.get(raw_status, "pending"),
            amount=amount,
            invoice_id=_reference(body.get("external_reference")),
            provider_status=raw_status,
            problem=problem,
            reported=reported,
        )


class MissingPaymentId(InvalidInput):
    code = "missing_payment_id"
    message = "El evento no identifica el pago (payment_intent o id)."


def _stripe_id(value) -> str | None:
    """A Stripe object id (an expanded object carries it in ``id``)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def stripe_payment(event: dict) -> ProviderPayment | None:
    """The payment a verified Stripe event reports, or None for events we do not act on. An event we act
    on that names no payment is refused (MissingPaymentId): it could only be stored under a made-up id."""
    kind = event.get("type")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}

    def payment(payment_id, status: str, amount, provider_status: str, invoice_id) -> ProviderPayment:
        if payment_id is None:
            raise MissingPaymentId()
        money, problem, reported = reported_amount(amount, obj.get("currency"), minor_units=True)
        return ProviderPayment("stripe", payment_id, status, money, _reference(invoice_id), provider_status,
                               problem, reported)

    if kind == "checkout.session.completed":
        if obj.get("payment_status") != "paid":
            return None  # asynchronous methods complete later (checkout.session.async_payment_succeeded)
        return payment(_stripe_id(obj.get("payment_intent")) or _stripe_id(obj.get("id")), "approved",
                       obj.get("amount_total"), "paid",
                       metadata.get("invoice_id") or obj.get("client_reference_id"))
    if kind == "payment_intent.succeeded":
        return payment(_stripe_id(obj.get("id")), "approved", obj.get("amount_received"), "succeeded",
                       metadata.get("invoice_id"))
    # Money taken back: a full refund, or a dispute lost (an open dispute may still be won). A partial
    # refund is staff's call (it shows in Stripe's dashboard); we do not undo a whole payment for it.
    full_refund = kind == "charge.refunded" and obj.get("refunded") is True
    lost_dispute = kind == "charge.dispute.closed" and obj.get("status") == "lost"
    if full_refund or lost_dispute:
        return payment(_stripe_id(obj.get("payment_intent")) or _stripe_id(obj.get("id")), "refunded",
                       obj.get("amount_refunded") or obj.get("amount"), kind, metadata.get("invoice_id"))
    return None
