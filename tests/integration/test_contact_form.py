"""The public contact form through the real handler, with Cloudflare Turnstile faked on loopback: a person
with or without an account opens a ticket and is acknowledged by email; a bot (no token, a reused or forged
one) and a flood are refused with nothing written; Turnstile out of reach fails closed."""

import json

import boto3
import pytest

from devstack.fake_turnstile import FakeTurnstile
from shared.dal.table import TableItem
from shared.dal.tickets import Ticket, TicketNote, Tickets
from tests.integration.conftest import claims_for

SECRET = "test-turnstile-secret"


@pytest.fixture
def turnstile(stack, monkeypatch):
    fake = FakeTurnstile(SECRET).start()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ContactFormSecrets"], SecretString=json.dumps({"turnstile_secret": SECRET}))
    _point_at(monkeypatch, fake)
    yield fake
    fake.stop()


def _point_at(monkeypatch, fake: FakeTurnstile) -> None:
    """The handlers' TURNSTILE_API_URL, also for a Runtime made later (it sets the template's values first)."""
    from devstack.runtime import ENV_OVERRIDES

    monkeypatch.setitem(ENV_OVERRIDES, "TURNSTILE_API_URL", fake.url)
    monkeypatch.setenv("TURNSTILE_API_URL", fake.url)


def form(turnstile, **fields) -> dict:
    return {"name": "Ana Pérez", "email": "ana@ejemplo.org", "subject": "Consulta por planes",
            "message": "¿El plan Pyme incluye certificado SSL?", "captcha_token": turnstile.issue(), **fields}


def _items() -> list:
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


def test_a_stranger_gets_a_guest_ticket_and_its_acknowledgement(api, stack, aws, turnstile):
    from devstack.mailbox import sent_emails
    from tests.integration.flows import relay, ticket_events

    sent = api.call("POST", "/contact-requests", body=form(turnstile, phone="011 4321-5678"))
    assert sent.status == 202, sent
    reference = sent.json()["reference"]
    ticket = Ticket.get(*Ticket.key(reference))
    assert (ticket.client_id, ticket.guest_email, ticket.channel) == (None, "ana@ejemplo.org", "form")
    conversation = api.call("GET", f"/staff/tickets/{reference}", claims=claims_for(staff=True)).json()
    assert conversation["messages"][0]["body"].endswith("Teléfono de contacto: +541143215678")
    assert any("no está verificada" in n["body"] for n in conversation["notes"])
    relay(stack, aws)
    ticket_events(stack)
    (ack,) = sent_emails()
    assert ack["to"] == ["ana@ejemplo.org"] and reference in ack["subject"]


def test_a_clients_address_opens_the_ticket_in_its_account_with_the_same_answer(api, catalog, turnstile):
    made = api.call("POST", "/clients", body={"email": "cliente-form@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Cliente Form"}).json()
    sent = api.call("POST", "/contact-requests", body=form(turnstile, email="Cliente-Form@Ejemplo.com.ar"))
    stranger = api.call("POST", "/contact-requests", body=form(turnstile, email="otro@ejemplo.org"))
    assert sent.status == stranger.status == 202
    assert set(sent.json()) == set(stranger.json())  # nothing tells a stranger the address is a client's
    (ticket,) = Tickets().tickets_of(made["client_id"])
    assert ticket.ticket_id == sent.json()["reference"] and ticket.opened_by_role == "holder"
    mine = api.call("GET", "/me/tickets", claims=claims_for(client_id=made["client_id"])).json()
    assert [t["ticket_id"] for t in mine] == [ticket.ticket_id]


@pytest.mark.parametrize("token", ["", "forged-token", "reused"])
def test_without_a_good_token_nothing_is_written(api, turnstile, token):
    if token == "reused":
        body = form(turnstile)
        assert api.call("POST", "/contact-requests", body=body).status == 202
        body["email"] = "segunda@ejemplo.org"
    else:
        body = form(turnstile, captcha_token=token)
    before = _items()
    refused = api.call("POST", "/contact-requests", body=body)
    assert refused.status == 422, refused
    assert refused.json()["code"] == ("validation_error" if not token else "captcha_failed")
    assert _items() == before


def test_a_flood_from_one_address_or_one_ip_is_refused(api, turnstile):
    from tickets.contact_form import CONTACTS_PER_EMAIL, CONTACTS_PER_IP

    for n in range(CONTACTS_PER_EMAIL):
        assert api.call("POST", "/contact-requests", body=form(turnstile, subject=f"Consulta {n}")).status == 202
    before, calls = _items(), turnstile.calls
    refused = api.call("POST", "/contact-requests", body=form(turnstile))
    assert (refused.status, refused.json()["code"]) == (429, "too_many_contact_requests")
    assert _items() == before and turnstile.calls == calls  # refused before Turnstile is even asked
    for n in range(CONTACTS_PER_IP - CONTACTS_PER_EMAIL):
        assert api.call("POST", "/contact-requests", body=form(turnstile, email=f"p{n}@ejemplo.org")).status == 202
    assert api.call("POST", "/contact-requests", body=form(turnstile, email="ultima@ejemplo.org")).status == 429
    assert len([n for n in TicketNote.scan() if "formulario" in n.body]) == CONTACTS_PER_IP


def test_turnstile_out_of_reach_or_unconfigured_fails_closed(api, stack, turnstile, monkeypatch):
    body = form(turnstile)
    turnstile.stop()
    before = _items()
    down = api.call("POST", "/contact-requests", body=body)
    assert (down.status, down.json()["code"]) == (503, "captcha_unavailable")
    assert _items() == before
    fresh = FakeTurnstile("otro-secreto").start()  # our secret is not the one Turnstile knows
    _point_at(monkeypatch, fresh)
    try:
        wrong = api.call("POST", "/contact-requests", body=form(fresh))
    finally:
        fresh.stop()
    assert (wrong.status, wrong.json()["code"]) == (503, "captcha_unavailable")


def test_a_bad_phone_is_refused(api, turnstile):
    refused = api.call("POST", "/contact-requests", body=form(turnstile, phone="12"))
    assert (refused.status, refused.json()["code"]) == (422, "invalid_phone")
