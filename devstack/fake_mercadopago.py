"""A loopback stand-in for Mercado Pago's API and its webhooks, speaking the real payloads.

- GET /v1/payments/{id} (Authorization: Bearer <access token>) answers a payment as Mercado Pago does
  (id, status, status_detail, transaction_amount, currency_id, external_reference, date_approved…).
- `pay()` creates a payment and sends the signed webhook notification to our endpoint, exactly as
  Mercado Pago would (x-signature over "id:<data.id>;request-id:<x-request-id>;ts:<ts>;").
Used by `make dev` (POST /local/payments) and by the tests.
"""

import hashlib
import hmac
import json
import time
import urllib.request
import uuid
from decimal import Decimal

from devstack.loopback import LoopbackJsonServer


class FakeMercadoPago:
    def __init__(self, access_token: str, webhook_secret: str, host: str = "127.0.0.1", port: int = 0):
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.payments: dict[str, dict] = {}
        self.requests: list[str] = []
        self._next_id = 1_000_000_000 + int(time.time()) % 1_000_000
        self._server = LoopbackJsonServer("fake-mercadopago", self._answer, host, port)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        self.requests.append(path)
        if method != "GET":
            return 405, {"message": "method not allowed", "error": "method_not_allowed", "status": 405}
        if headers.get("Authorization") != f"Bearer {self.access_token}":
            return 401, {"message": "invalid access token", "error": "unauthorized", "status": 401}
        payment_id = path.rsplit("/", 1)[-1]
        if not path.startswith("/v1/payments/") or payment_id not in self.payments:
            return 404, {"message": "Payment not found", "error": "not_found", "status": 404}
        return 200, self.payments[payment_id]

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> "FakeMercadoPago":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def create_payment(self, *, amount: Decimal, currency: str, external_reference: str | None,
                       status: str = "approved") -> str:
        self._next_id += 1
        payment_id = str(self._next_id)
        self.payments[payment_id] = {
            "id": int(payment_id), "status": status,
            "status_detail": "accredited" if status == "approved" else status,
            "transaction_amount": float(amount), "currency_id": currency,
            "external_reference": external_reference, "date_approved": "2026-11-25T12:00:00.000-03:00",
            "payment_method_id": "visa", "payment_type_id": "credit_card",
        }
        return payment_id

    def set_status(self, payment_id: str, status: str) -> None:
        self.payments[payment_id]["status"] = status

    def signed_notification(self, payment_id: str, ts: int | None = None) -> tuple[str, dict[str, str], bytes]:
        """(query string, headers, body) of the webhook Mercado Pago sends for a payment."""
        ts = ts if ts is not None else int(time.time() * 1000)
        request_id = str(uuid.uuid4())
        manifest = f"id:{payment_id};request-id:{request_id};ts:{ts};"
        v1 = hmac.new(self.webhook_secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
        body = json.dumps({
            "id": int(time.time() * 1000), "live_mode": False, "type": "payment", "date_created":
            "2026-11-25T12:00:00.000-03:00", "user_id": 44444, "api_version": "v1", "action": "payment.updated",
            "data": {"id": payment_id},
        }).encode()
        headers = {"x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id,
                   "Content-Type": "application/json"}
        return f"data.id={payment_id}&type=payment", headers, body

    def notify(self, webhook_url: str, payment_id: str) -> int:
        query, headers, body = self.signed_notification(payment_id)
        request = urllib.request.Request(f"{webhook_url}?{query}", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status

    def pay(self, webhook_url: str, *, amount: Decimal, currency: str, invoice_id: str) -> str:
        payment_id = self.create_payment(amount=amount, currency=currency, external_reference=invoice_id)
        self.notify(webhook_url, payment_id)
        return payment_id
