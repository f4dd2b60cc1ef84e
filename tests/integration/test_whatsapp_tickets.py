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


def _answer_twice(stack, aws):
    """A staff reply's event through the tickets worker and the WhatsApp sender, and all of it once more, as the
    queues' redeliveries would: whatever is sent, is sent once."""
    for _ in range(2):
        relay(stack, aws)
        ticket_events(stack)
        relay(stack, aws)
        whatsapp_out(stack)


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
    _answer_twice(stack, aws)
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


def _media_message(wamid: str, kind: str, media_id: str, mime_type: str, caption: str = "") -> tuple[str, dict]:
    from devstack.fake_whatsapp import incoming_message

    raw = json.dumps(incoming_message("5491123450000", caption, "Ana", "1", wamid, 1764510000,
                                      media=(kind, media_id, mime_type)))
    signature = hmac.new(SECRETS["app_secret"].encode(), raw.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={signature}"}


def test_photos_and_documents_sent_by_whatsapp_are_kept_with_the_message(api, stack, aws, store, account, whatsapp):
    _full(api, store, account)
    relay(stack, aws)
    ticket_events(stack)
    photo = whatsapp.add_media(b"\x89PNG\r\n\x1a\n captura del error", "image/png")
    audio = whatsapp.add_media(b"OggS nota de voz", "audio/ogg")
    for wamid, kind, media_id, mime, caption in (("wamid.M1", "image", photo, "image/png", "Así se ve el error"),
                                                 ("wamid.M2", "audio", audio, "audio/ogg", ""),
                                                 ("wamid.M3", "document", "999", "application/pdf", "")):
        raw, headers = _media_message(wamid, kind, media_id, mime, caption)
        assert api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers).status == 200
        relay(stack, aws)
        ticket_events(stack)
    (ticket,) = Tickets().tickets_of(account)
    messages = Tickets().conversation(ticket.ticket_id)[1]
    assert [m.body for m in messages][0] == "Así se ve el error"
    (kept,) = messages[0].attachments
    assert (kept.content_type, kept.size) == ("image/png", len(b"\x89PNG\r\n\x1a\n captura del error"))
    stored = boto3.client("s3", region_name="us-east-1").get_object(Bucket=stack.refs["AttachmentsBucket"],
                                                                    Key=kept.key)["Body"].read()
    assert stored.startswith(b"\x89PNG")
    # A voice note is no type the panel takes, and a media id WhatsApp no longer has cannot be fetched: the
    # messages are filed all the same, saying why, for staff to look in WhatsApp.
    assert "un audio: no se pudo guardar (tipo o tamaño que el panel no acepta)" in messages[1].body
    assert "un documento: no se pudo guardar (WhatsApp respondió 404)" in messages[2].body
    assert not messages[1].attachments and not messages[2].attachments


@pytest.mark.parametrize("choice, templates", [("alerted", 1), ("no_alerts_asked", 1), ("ticket_alerts_off", 0)])
def test_an_answer_after_the_24_hour_window_goes_as_one_approved_template(api, stack, aws, store, account, whatsapp,
                                                                          choice, templates):
    from datetime import timedelta

    from shared.clock import shift_system_clock

    _full(api, store, account)
    holder = claims_for(client_id=account)
    if choice == "no_alerts_asked":  # they wrote from the number, but never asked for WhatsApp alerts
        api.call("PATCH", "/me", claims=holder, body={"whatsapp_opt_in": False})
    if choice == "ticket_alerts_off":  # they said no to ticket alerts by WhatsApp: no template either
        assert api.call("PATCH", "/me/alerts/settings", claims=holder,
                        body={"preferences": {"tickets": False}}).status == 200
    relay(stack, aws)
    _send(api, stack, aws, "wamid.W1", "¿Me renuevan el SSL?")
    (ticket,) = Tickets().tickets_of(account)
    relay(stack, aws)
    whatsapp_out(stack)  # the alerts of the plan's payment and activation, out of the way
    whatsapp.reset()
    shift_system_clock(timedelta(hours=25))
    try:
        answered = api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF,
                            body={"body": "Listo, el certificado se renovó."})
        assert answered.status == 200, answered
        _answer_twice(stack, aws)
    finally:
        shift_system_clock(-timedelta(hours=25))
    to_number = [m for m in whatsapp.sent if m["to"] == "5491123450000"]
    # Never free text outside the window; one ticket_respondido at most: the person's own alert, or the reply.
    assert [(m["template"], m["text"]) for m in to_number] == [("ticket_respondido", None)] * templates
    assert all(m["parameters"][0] == ticket.ticket_id[-8:] for m in to_number)
