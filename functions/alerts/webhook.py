"""WhatsApp webhook: GET /webhooks/whatsapp answers Meta's verification handshake; POST applies the
message statuses Meta reports and records the messages people send us (alerts.inbound: each once, as an
event the tickets capability files). Public routes: the verify token and the X-Hub-Signature-256 HMAC are
the authentication."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from alerts.inbound import messages_of
from alerts.inbound import record as record_message
from alerts.statuses import apply_status, clock, statuses_of
from alerts.whatsapp import valid_signature
from alerts.whatsapp_secrets import whatsapp_secrets
from aws_lambda_powertools.event_handler import Response, content_types

from shared.dal.alerts import Alerts
from shared.errors import ConcurrentModification, Forbidden, InvalidInput, Unauthenticated
from shared.http import answers, create_app, lambda_handler_for, parse_json
from shared.secret_compare import same_secret

app = create_app()
deliveries = Alerts()


class InvalidSignature(Unauthenticated):
    code = "invalid_signature"
    message = "La firma X-Hub-Signature-256 no es válida."


@app.get("/webhooks/whatsapp", tags=["Webhooks"], summary="Verificación del webhook de WhatsApp (Meta)",
         responses=answers(200, "El hub.challenge recibido, como texto"))
def verify() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    expected = whatsapp_secrets()["verify_token"]
    token = query.get("hub.verify_token") or ""
    challenge = query.get("hub.challenge") or ""
    if query.get("hub.mode") != "subscribe" or not same_secret(expected, token):
        raise Forbidden("El token de verificación no coincide.", code="invalid_verify_token")
    if not challenge or len(challenge) > 200:
        raise InvalidInput("Falta hub.challenge.", code="missing_challenge", field="hub.challenge")
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/webhooks/whatsapp", tags=["Webhooks"], summary="Estados de los mensajes de WhatsApp (Meta)",
          responses=answers())
def statuses() -> dict:
    event = app.current_event
    raw = (event.body or "").encode("utf-8")  # the bytes Meta signed (base64 already undone)
    if not valid_signature(raw, event.headers.get("X-Hub-Signature-256"), whatsapp_secrets()["app_secret"]):
        raise InvalidSignature()
    notification = parse_json(event.body or "{}")
    applied = 0
    for status in statuses_of(notification):
        applied += _apply(status)
    messages = sum(record_message(clock, message) for message in messages_of(notification))
    return {"received": True, "applied": applied, "messages": messages}


def _apply(status: dict) -> int:
    for _ in range(3):  # the sender may be saving the same delivery at this instant
        delivery = deliveries.delivery_of_message(status["id"])
        if delivery is None or not apply_status(delivery, status):
            return 0
        try:
            deliveries.save_delivery(delivery)
            return 1
        except ConcurrentModification:
            continue
    raise ConcurrentModification()  # 409: Meta retries the notification later


lambda_handler = lambda_handler_for(app)
