"""Payment webhooks: POST /webhooks/mercadopago and POST /webhooks/stripe (public: the signature is the
authentication). A verified notification is queued and answered 200 at once; the settlement function
does the slow part (Mercado Pago retries a notification not answered within 22 s)."""

import json

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from payments.providers import payment_message, stripe_payment, verify_mercadopago, verify_stripe

from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.config import PAYMENTS_QUEUE_URL, env
from shared.errors import InvalidInput
from shared.http import answers, create_app, lambda_handler_for, parse_json
from shared.provider_secrets import provider_secrets

app = create_app()
sqs = LazyClient("sqs")
clock = SystemClock()


def _queue(message: dict) -> None:
    sqs.send_message(QueueUrl=env(PAYMENTS_QUEUE_URL), MessageBody=json.dumps(message))


def _json_body() -> dict:
    body = parse_json(app.current_event.body or "{}")  # answered as the API answers bodies: 400, then 422
    if not isinstance(body, dict):
        raise InvalidInput("El cuerpo de la notificación debe ser un objeto JSON.", code="validation_error",
                           field="body")
    return body


@app.post("/webhooks/mercadopago", tags=["Webhooks"], summary="Notificaciones de Mercado Pago", responses=answers())
def mercadopago() -> dict:
    event = app.current_event
    query = event.query_string_parameters or {}
    data_id = query.get("data.id")
    verify_mercadopago(
        signature=event.headers.get("x-signature"),
        request_id=event.headers.get("x-request-id"),
        data_id=data_id,
        secret=provider_secrets()["mercadopago_webhook_secret"],
        now=clock.now(),
    )
    body = _json_body()
    topic = body.get("type") or query.get("type") or query.get("topic")
    # The payment id is the signed one (data.id of the query string), never the body's.
    if topic != "payment" or not data_id:
        return {"received": True, "queued": False}
    notification_id = body.get("id") or event.headers.get("x-request-id")
    if not notification_id:
        raise InvalidInput("La notificación no tiene id.", code="missing_notification_id")
    _queue({"provider": "mercadopago", "notification_id": str(notification_id), "payment_id": data_id})
    return {"received": True, "queued": True}


@app.post("/webhooks/stripe", tags=["Webhooks"], summary="Notificaciones de Stripe", responses=answers())
def stripe() -> dict:
    event = app.current_event
    raw = (event.body or "").encode("utf-8")  # the exact bytes Stripe signed (base64 already undone)
    verify_stripe(raw_body=raw, signature=event.headers.get("Stripe-Signature"),
                  secret=provider_secrets()["stripe_webhook_secret"], now=clock.now())
    body = _json_body()
    if not body.get("id"):
        raise InvalidInput("El evento no tiene id.", code="missing_notification_id")
    payment = stripe_payment(body)
    if payment is None:
        return {"received": True, "queued": False}
    _queue({
        "provider": "stripe",
        "notification_id": str(body.get("id")),
        "payment": payment_message(payment),
    })
    return {"received": True, "queued": True}


lambda_handler = lambda_handler_for(app)
