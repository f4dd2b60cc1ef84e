"""WhatsApp messages to support through the real webhook (signed as Meta signs it), the outbox relay and the
tickets worker: the phonebook follows the accounts' changes, a Profesional or Full account's message opens a
ticket and the next ones go into it, each message once under Meta's and the queue's redeliveries; a number
of no account, or of a plan without WhatsApp, files nothing."""

import hashlib
import hmac
import json

import boto3
import pytest

from shared.dal.tickets import Ticket, TicketNote, Tickets
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, relay, ticket_events, whatsapp_out

SECRETS = {"access_token": "wa-test-token", "app_secret": "wa-app-secret", "verify_token": "wa-verify"}
STAFF = claims_for(staff=True, sub="sub-staff")
PHONE = "+5491123450000"


@pytest.fixture
def whatsapp(stack, monkeypatch):
    """Meta's Cloud API faked on loopback, where the sender calls it."""
    from devstack.fake_whatsapp import FakeWhatsApp
    from devstack.runtime import ENV_OVERRIDES

    fake = FakeWhatsApp(SECRETS["access_token"], "1234567890").start()
    for name, value in (("WHATSAPP_API_URL", fake.url), ("WHATSAPP_PHONE_NUMBER_ID", "1234567890"),
                        ("QUIET_HOURS", "")):
        monkeypatch.setitem(ENV_OVERRIDES, name, value)
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


@pytest.fixture
def account(api, stack, catalog, whatsapp):
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["WhatsAppSecrets"], SecretString=json.dumps(SECRETS))
    made = api.call("POST", "/clients", body={"email": "wa@ejemplo.com.ar", "password": "Segura123", "name": "Ana WA",
                                               "phone": "011 15 2345-0000", "whatsapp_opt_in": True})
    assert made.status == 201, made
    return made.json()["client_id"]


def _message(wamid: str, text: str, sender: str = "5491123450000") -> tuple[str, dict]:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "5491140000000", "phone_number_id": "1"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": sender}],
        "messages": [{"from": sender, "id": wamid, "timestamp": "1764510000", "type": "text",
                      "text": {"body": text}}]}}]}]}
    raw = json.dumps(body)
    signature = hmac.new(SECRETS["app_secret"].encode(), raw.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={signature}"}


def _send(api, stack, aws, wamid, text, sender="5491123450000"):
    raw, headers = _message(wamid, text, sender)
    answer = api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)
    assert answer.status == 200, answer
    relay(stack, aws)
    ticket_events(stack)
    return answer.json()


def _full(api, store, client_id, product="soporte-profesional"):
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": product, "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])


def test_the_phonebook_follows_the_accounts_changes(api, stack, aws, account):
    relay(stack, aws)
    ticket_events(stack)
    assert [(e.client_id, e.contact_id) for e in Tickets().people_with_phone(PHONE)] == [(account, None)]
    changed = api.call("PATCH", "/me", claims=claims_for(client_id=account), body={"phone": "011 15 2345-9999"})
    assert changed.status == 200, changed
    relay(stack, aws)
    ticket_events(stack)
    assert Tickets().people_with_phone(PHONE) == []
    assert [e.client_id for e in Tickets().people_with_phone("+5491123459999")] == [account]


def test_a_plan_without_whatsapp_or_an_unknown_number_files_nothing_and_is_told_once_a_day(
        api, stack, aws, account, whatsapp):
    relay(stack, aws)
    ticket_events(stack)
    _send(api, stack, aws, "wamid.A1", "Hola, no anda el correo")
    _send(api, stack, aws, "wamid.A2", "¿Me ayudan?")
    _send(api, stack, aws, "wamid.A3", "Hola", sender="5491199998888")
    relay(stack, aws)
    whatsapp_out(stack)
    assert Tickets().tickets_of(account) == []
    texts = sorted((m["to"], m["text"]) for m in whatsapp.sent if m["text"])
    assert [to for to, _ in texts] == ["5491123450000", "5491199998888"]  # one each, however many they wrote
    assert "planes de soporte Profesional y Full" in texts[0][1] and "/tickets" in texts[0][1]
    assert "no está registrado" in texts[1][1]


def test_a_profesional_accounts_conversation_is_one_ticket_answered_back_by_whatsapp(api, stack, aws, store,
                                                                                     account, whatsapp):
    _full(api, store, account)
    relay(stack, aws)
    assert _send(api, stack, aws, "wamid.B1", "Hola, mi sitio no carga")["messages"] == 1
    (ticket,) = Tickets().tickets_of(account)
    assert (ticket.channel, ticket.requester_email, ticket.plan) == ("whatsapp", "wa@ejemplo.com.ar", "profesional")
    assert _send(api, stack, aws, "wamid.B1", "Hola, mi sitio no carga")["messages"] == 0  # Meta's retry
    _send(api, stack, aws, "wamid.B2", "Es www.ejemplo.com.ar")
    relay(stack, aws)  # the queue brings the events again: nothing more is filed
    ticket_events(stack)
    (same,) = Tickets().tickets_of(account)
    messages = api.call("GET", f"/me/tickets/{same.ticket_id}", claims=claims_for(client_id=account)).json()["messages"]
    assert [m["body"] for m in messages] == ["Hola, mi sitio no carga", "Es www.ejemplo.com.ar"]
    assert {m["channel"] for m in messages} == {"whatsapp"}
    # Staff's answer goes back by WhatsApp (inside the 24-hour window), once however often the event comes.
    answered = api.call("POST", f"/staff/tickets/{same.ticket_id}/replies", claims=STAFF,
                        body={"body": "Ya lo revisamos: era el DNS, pruebe ahora."})
    assert answered.status == 200, answered
    for _ in range(2):
        relay(stack, aws)
        ticket_events(stack)
        relay(stack, aws)
        whatsapp_out(stack)
    replies = [m for m in whatsapp.sent if m["text"] and "era el DNS" in m["text"]]
    assert len(replies) == 1 and replies[0]["to"] == "5491123450000"
    assert same.ticket_id in replies[0]["text"]


def test_a_number_several_people_share_opens_the_ticket_for_staff_to_say_who(api, stack, aws, store, account):
    _full(api, store, account, "soporte-full")
    added = api.call("POST", "/me/contacts", claims=claims_for(client_id=account), body={
        "email": "socio-wa@ejemplo.com.ar", "name": "Socio", "phone": "011 15 2345-0000",
        "whatsapp_opt_in": True, "permissions": ["tickets"]})
    assert added.status == 201, added
    relay(stack, aws)
    ticket_events(stack)
    assert len(Tickets().people_with_phone(PHONE)) == 2
    _send(api, stack, aws, "wamid.C1", "¿Quién tiene la clave del FTP?")
    (ticket,) = Tickets().tickets_of(account)
    notes = [n.body for n in TicketNote.query(f"TICKET#{ticket.ticket_id}", TicketNote.sk.startswith("NOTE#"))]
    assert any("varias personas de la cuenta" in n and "Socio (contacto)" in n for n in notes)
    assert Ticket.get(*Ticket.key(ticket.ticket_id)).opened_by == f"whatsapp:{PHONE}"
