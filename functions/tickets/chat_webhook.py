"""Tawk.to's webhook: POST /webhooks/tawkto (public: the X-Tawk-Signature HMAC-SHA1 of the raw body, with the
webhook's secret key, is the authentication). ``chat:transcript_created`` files the chat as a ticket
(tickets.chat_transcripts), once per chat whatever Tawk.to retries; the other events are acknowledged and
ignored. Tawk.to retries anything but a 2xx for 12 hours, with the same X-Hook-Event-Id."""

import hashlib
import hmac

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from tickets import chat_transcripts
from tickets.clocks import TicketPolicy
from tickets.records import Repositories

from shared import config
from shared.aws import json_secret
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.dal.tickets import Tickets
from shared.errors import Unauthenticated
from shared.http import answers, create_app, lambda_handler_for, parse_json
from shared.secret_compare import same_secret

app = create_app()
clock = SystemClock()
repos = Repositories(Tickets(), Accounts(), Services())


class InvalidSignature(Unauthenticated):
    code = "invalid_signature"
    message = "La firma X-Tawk-Signature no es válida."


def valid_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha1).hexdigest()
    return same_secret(expected, header.strip().lower())


def _secret() -> str:
    values = json_secret(config.CHAT_SECRETS_ID)
    return str(values.get("tawkto_webhook_secret", ""))


@app.post("/webhooks/tawkto", tags=["Webhooks"], summary="Transcripciones de chat de Tawk.to",
          responses=answers())
def tawkto() -> dict:
    event = app.current_event
    raw = (event.body or "").encode("utf-8")
    if not valid_signature(raw, event.headers.get("X-Tawk-Signature"), _secret()):
        raise InvalidSignature()
    payload = parse_json(event.body or "{}")
    if not isinstance(payload, dict) or payload.get("event") != "chat:transcript_created":
        return {"received": True, "ticket_id": None}
    ticket_id, filed = chat_transcripts.file(repos, TicketPolicy.from_env(), clock.now(),
                                             chat_transcripts.transcript_of(payload),
                                             event.headers.get("X-Hook-Event-Id"))
    return {"received": True, "ticket_id": ticket_id, "filed": filed}


lambda_handler = lambda_handler_for(app)
