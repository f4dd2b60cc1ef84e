"""Tawk.to's chat transcripts through the real webhook handler, signed as Tawk.to signs them (the loopback
fake builds the payload): a finished chat is one ticket whatever Tawk.to retries, answered in the chat or
waiting for an answer, with staff told how long the first answer took against the 10-minute sales target."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import boto3
import pytest

from devstack.fake_tawkto import FakeTawkTo
from shared.dal.table import TableItem
from shared.dal.tickets import Ticket, TicketNote, Tickets
from tests.integration.conftest import claims_for

SECRET = "test-tawkto-secret"
# Monday 30 November 2026, 11:00 in Buenos Aires: business hours.
MONDAY_11 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def tawkto(stack):
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ChatSecrets"], SecretString=json.dumps({"tawkto_webhook_secret": SECRET}))
    return FakeTawkTo(SECRET)  # builds payloads; the test posts them through the API


def post(api, payload: dict, event_id: str = "evt-1", secret: str = SECRET):
    body = json.dumps(payload)
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha1).hexdigest()
    return api.call("POST", "/webhooks/tawkto", raw=body,
                    headers={"X-Tawk-Signature": signature, "X-Hook-Event-Id": event_id})


def _notes(ticket_id):
    return [n.body for n in TicketNote.query(f"TICKET#{ticket_id}", TicketNote.sk.startswith("NOTE#"))]


def test_an_answered_chat_of_a_client_is_one_answered_ticket_of_its_account(api, catalog, tawkto):
    made = api.call("POST", "/clients", body={"email": "chat@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Cliente Chat"}).json()
    payload = tawkto.transcript("María", "Chat@Ejemplo.com.ar", [("v", "¿El plan Pyme tiene SSL?"),
                                                                 ("a", "Sí, incluido y automático."),
                                                                 ("v", "Gracias")], started=MONDAY_11)
    first = post(api, payload)
    assert first.status == 200, first
    assert first.json()["filed"] is True
    ticket = Ticket.get(*Ticket.key(first.json()["ticket_id"]))
    assert (ticket.client_id, ticket.channel, ticket.status) == (made["client_id"], "chat", "answered")
    assert ticket.response.met_at == "2026-11-30T14:02:00.000000Z"  # the agent's first line, 2 minutes later
    assert ticket.subject == "Chat: ¿El plan Pyme tiene SSL?"
    view = api.call("GET", f"/me/tickets/{ticket.ticket_id}", claims=claims_for(client_id=made["client_id"]))
    body = view.json()["messages"][0]["body"]
    assert "[30/11 11:00] María (visitante): ¿El plan Pyme tiene SSL?" in body
    assert "[30/11 11:02] Soporte (soporte): Sí, incluido y automático." in body
    assert any("2 min" in n and "dentro del objetivo de 10 minutos" in n for n in _notes(ticket.ticket_id))
    # Tawk.to's retry (same event id) and a second delivery of the chat (another id): the same ticket.
    assert post(api, payload).json() == {"received": True, "ticket_id": ticket.ticket_id, "filed": False}
    assert post(api, payload, event_id="evt-2").json()["ticket_id"] == ticket.ticket_id
    assert len(Tickets().tickets_of(made["client_id"])) == 1


def test_an_unanswered_chat_without_an_address_waits_for_staff(api, tawkto):
    payload = tawkto.transcript("V1561719148780935", "", [("v", "Hola, ¿hay alguien?")], started=MONDAY_11)
    filed = post(api, payload)
    assert filed.status == 200, filed
    ticket = Ticket.get(*Ticket.key(filed.json()["ticket_id"]))
    assert (ticket.client_id, ticket.guest_email, ticket.status, ticket.gsi1pk) == (None, None, "open", None)
    assert ticket.response.met_at is None and ticket.due_pk  # its SLA runs: on the staff queue
    notes = _notes(ticket.ticket_id)
    assert any("sin respuesta" in n and "no dejó su correo" in n for n in notes)


def test_unsigned_forged_and_other_events_file_nothing(api, tawkto):
    payload = tawkto.transcript("Ana", "ana@ejemplo.org", [("v", "Hola")])
    before = sorted((i.pk, i.sk) for i in TableItem.scan())
    assert post(api, payload, secret="otro").status == 401
    unsigned = api.call("POST", "/webhooks/tawkto", raw=json.dumps(payload))
    assert (unsigned.status, unsigned.json()["code"]) == (401, "invalid_signature")
    started = {"event": "chat:start", "chatId": "c-1", "time": "2026-11-30T14:00:00.000Z",
               "message": {"text": "Hola", "type": "msg", "sender": {"type": "visitor"}}}
    assert post(api, started).json() == {"received": True, "ticket_id": None}
    broken = post(api, {"event": "chat:transcript_created", "chat": {"messages": []}})
    assert (broken.status, broken.json()["code"]) == (422, "invalid_chat")
    assert sorted((i.pk, i.sk) for i in TableItem.scan()) == before
