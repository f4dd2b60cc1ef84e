"""Stripe's side of a webhook, for `make dev` and the tests: a signed event, as Stripe sends it.

Stripe-Signature: t=<unix s>,v1=HMAC-SHA256(secret, "<t>.<raw body>") (https://docs.stripe.com/webhooks).
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid


def checkout_completed(*, invoice_id: str, amount: int, currency: str, paid: bool = True) -> dict:
    intent = f"pi_{uuid.uuid4().hex[:24]}"
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "livemode": False, "type": "checkout.session.completed",
        "data": {"object": {
            "id": f"cs_test_{uuid.uuid4().hex[:24]}", "object": "checkout.session", "mode": "payment",
            "amount_total": amount, "currency": currency.lower(), "payment_intent": intent,
            "payment_status": "paid" if paid else "unpaid", "status": "complete",
            "client_reference_id": invoice_id, "metadata": {"invoice_id": invoice_id},
        }},
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
