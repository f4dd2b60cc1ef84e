"""Telegram to support through the real webhook (with the secret token Telegram sends back), the outbox relay and
the tickets worker, the Bot API faked on loopback: a Full account's person links their Telegram with a one-time
code from the panel, their messages (and photos) become one ticket, staff's reply goes back by sendMessage once
whatever is redelivered; strangers, other plans, wrong codes and a blocked bot are each handled once."""

import json
from datetime import timedelta

import boto3
import pytest

from shared.clock import shift_system_clock
from shared.dal.tickets import TelegramChat, TelegramSent, Tickets
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, relay, ticket_events

SECRETS = {"bot_token": "7000000001:test-token", "webhook_secret": "test-webhook-secret"}
STAFF = claims_for(staff=True, sub="sub-staff")
ANA = 424242001


@pytest.fixture
def telegram(stack, monkeypatch):
    from devstack.fake_telegram import FakeTelegram
    from devstack.runtime import ENV_OVERRIDES

    fake = FakeTelegram(SECRETS["bot_token"], "SoporteTestBot").start()
    for name, value in (("TELEGRAM_API_URL", fake.url), ("TELEGRAM_BOT_USERNAME", "SoporteTestBot")):
        monkeypatch.setitem(ENV_OVERRIDES, name, value)
        monkeypatch.setenv(name, value)
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["TelegramSecrets"], SecretString=json.dumps(SECRETS))
    yield fake
    fake.stop()


@pytest.fixture
def account(api, catalog, telegram):
    made = api.call("POST", "/clients", body={"email": "tg@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Ana Telegram"})
    assert made.status == 201, made
    return made.json()["client_id"]


def _on_full(api, store, client_id):
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": "soporte-full", "billing_cycle": "monthly"}).json()
    pay(store, order["invoice"]["invoice_id"])


def _deliver(api, body: bytes, secret: str | None = SECRETS["webhook_secret"]):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return api.call("POST", "/webhooks/telegram", raw=body.decode(), headers=headers)


def _write(api, stack, aws, telegram, text, user_id=ANA, **media):
    update_id, body = telegram.compose(user_id, text, "Ana", "ana_tg", **media)
    answer = _deliver(api, body)
    assert answer.status == 200, answer
    _work(stack, aws)
    return update_id, body


def _work(stack, aws):
    """The relay and the tickets worker until nothing is left (a reply requested is sent on the next round)."""
    for _ in range(2):
        relay(stack, aws)
        ticket_events(stack)


def _linked(api, stack, aws, store, telegram, client_id):
    _on_full(api, store, client_id)
    code = api.call("POST", "/me/telegram-link", claims=claims_for(client_id=client_id))
    assert code.status == 201, code
    _write(api, stack, aws, telegram, f"/start {code.json()['code']}")
    return code.json()


def test_the_webhook_wants_the_secret_token_and_records_each_update_once(api, telegram):
    update_id, body = telegram.compose(ANA, "Hola")
    for wrong in (None, "", "otro-secreto", SECRETS["webhook_secret"] + "x"):
        refused = _deliver(api, body, wrong)
        assert (refused.status, refused.json()["code"]) == (401, "invalid_secret_token")
    assert _deliver(api, body).json() == {"received": True, "recorded": True}
    assert _deliver(api, body).json() == {"received": True, "recorded": False}  # Telegram's retry
    group = json.loads(body)
    group["update_id"] += 1
    group["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Un grupo"}
    assert _deliver(api, json.dumps(group).encode()).json() == {"received": True, "recorded": False}
    assert _deliver(api, b'{"update_id": 5, "edited_message": {}}').json()["recorded"] is False
    malformed = _deliver(api, b"{not json")
    assert malformed.status == 400 and malformed.json()["code"]


def test_a_full_account_links_its_telegram_and_its_messages_are_one_ticket_answered_back_once(
        api, stack, aws, store, account, telegram):
    holder = claims_for(client_id=account)
    code = _linked(api, stack, aws, store, telegram, account)
    assert code["link"] == f"https://t.me/SoporteTestBot?start={code['code']}" and len(code["code"]) == 8
    (confirmation,) = telegram.sent
    assert confirmation["chat_id"] == ANA and "quedó vinculado" in confirmation["text"]
    status = api.call("GET", "/me/telegram-link", claims=holder).json()
    assert (status["linked"], status["username"], status["code"], status["included"]) == (True, "ana_tg", None, True)

    update_id, body = _write(api, stack, aws, telegram, "Hola, no puedo entrar por FTP")
    assert _deliver(api, body).json()["recorded"] is False  # Telegram's retry of the same update
    _write(api, stack, aws, telegram, "Es desde Filezilla", photo=b"\xff\xd8\xff\xe0 captura de pantalla")
    (ticket,) = Tickets().tickets_of(account)
    assert (ticket.channel, ticket.plan, ticket.opened_by) == ("telegram", "full", f"telegram:{ANA}")
    messages = api.call("GET", f"/me/tickets/{ticket.ticket_id}", claims=holder).json()["messages"]
    assert [m["body"] for m in messages] == ["Hola, no puedo entrar por FTP", "Es desde Filezilla"]
    (photo,) = messages[1]["attachments"]
    link = api.call("GET", f"/me/tickets/{ticket.ticket_id}/attachments/{photo['attachment_id']}", claims=holder)
    assert link.status == 200 and photo["content_type"] == "image/jpeg"
    (kept,) = [a for m in Tickets().conversation(ticket.ticket_id)[1] for a in m.attachments]
    stored = boto3.client("s3", region_name="us-east-1").get_object(Bucket=stack.refs["AttachmentsBucket"],
                                                                    Key=kept.key)["Body"].read()
    assert stored == b"\xff\xd8\xff\xe0 captura de pantalla"

    answered = api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF,
                        body={"body": "Active el modo pasivo en Filezilla y pruebe otra vez."})
    assert answered.status == 200, answered
    for _ in range(2):  # the queue brings the event again: one message all the same
        _work(stack, aws)
    replies = [m for m in telegram.sent if "modo pasivo" in m["text"]]
    assert len(replies) == 1 and replies[0]["chat_id"] == ANA and ticket.ticket_id in replies[0]["text"]


def test_strangers_and_plans_without_telegram_are_told_once_a_day_and_file_nothing(
        api, stack, aws, store, account, telegram):
    refused = api.call("POST", "/me/telegram-link", claims=claims_for(client_id=account))
    assert (refused.status, refused.json()["code"]) == (409, "channel_not_in_plan")
    assert "plan de soporte Full" in refused.json()["message"]
    assert api.call("GET", "/me/telegram-link", claims=claims_for(client_id=account)).json()["plan_needed"] == "full"
    _write(api, stack, aws, telegram, "Hola")
    _write(api, stack, aws, telegram, "¿Hay alguien?")
    (told,) = telegram.sent
    assert "no está vinculado" in told["text"] and "/tickets" in told["text"]
    # Linked while on Full, then the plan ends: told once, nothing filed.
    _linked(api, stack, aws, store, telegram, account)
    (support,) = [s for s in api.call("GET", "/me/services", claims=claims_for(client_id=account)).json()
                  if s["product_id"] == "soporte-full"]
    ended = api.call("POST", f"/staff/services/{support['service_id']}/termination", claims=STAFF,
                     body={"reason": "Prueba: el plan terminó."})
    assert ended.status == 200, ended
    telegram.reset()
    shift_system_clock(timedelta(days=1))  # another local day: the automatic answer is due again
    try:
        _write(api, stack, aws, telegram, "Sigo sin FTP")
        _write(api, stack, aws, telegram, "¿Me responden?")
    finally:
        shift_system_clock(-timedelta(days=1))
    (told,) = telegram.sent
    assert "plan de soporte Full" in told["text"]
    assert Tickets().tickets_of(account) == []


@pytest.fixture
def at_local_noon():
    """The system clock at today's 12:00 in Buenos Aires (then back): a test that moves it 16 minutes must not
    cross midnight, where the day's count of wrong codes starts again."""
    from datetime import UTC, datetime, time

    from shared.calendar import BUSINESS_TZ
    from shared.clock import reset_system_clock

    now = datetime.now(UTC)
    noon = datetime.combine(now.astimezone(BUSINESS_TZ).date(), time(12), tzinfo=BUSINESS_TZ)
    shift_system_clock(noon - now)
    yield
    reset_system_clock()


def test_wrong_or_old_codes_link_nothing_and_guessing_stops_after_a_few(api, stack, aws, store, account, telegram,
                                                                       at_local_noon):
    _on_full(api, store, account)
    holder = claims_for(client_id=account)
    old = api.call("POST", "/me/telegram-link", claims=holder).json()["code"]
    new = api.call("POST", "/me/telegram-link", claims=holder).json()["code"]  # replaces the one before
    _write(api, stack, aws, telegram, f"/start {old}")
    assert "no es válido" in telegram.sent[-1]["text"]
    shift_system_clock(timedelta(minutes=16))  # past its 15 minutes
    try:
        _write(api, stack, aws, telegram, f"/start {new}")
    finally:
        shift_system_clock(-timedelta(minutes=16))
    assert "no es válido" in telegram.sent[-1]["text"]
    assert api.call("GET", "/me/telegram-link", claims=holder).json()["linked"] is False
    for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD"):
        _write(api, stack, aws, telegram, guess)
    answered = len(telegram.sent)
    assert answered == 5  # five wrong codes answered ...
    good = api.call("POST", "/me/telegram-link", claims=holder).json()["code"]
    _write(api, stack, aws, telegram, f"/start {good}")
    assert len(telegram.sent) == answered  # ... then even a good one is not tried today
    assert TelegramChat.get(*TelegramChat.key(str(ANA))).client_id is None


def test_a_blocked_bot_is_recorded_and_throttling_is_retried_until_sent(api, stack, aws, store, account, telegram):
    _linked(api, stack, aws, store, telegram, account)
    _write(api, stack, aws, telegram, "No me anda el correo")
    (ticket,) = Tickets().tickets_of(account)
    telegram.fail_next(429, "Too Many Requests: retry after 3", retry_after=3)
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Primera respuesta."})
    _work(stack, aws)
    _work(stack, aws)
    # Throttled, so the event came back and was sent then: once.
    assert telegram.refused == [("sendMessage", 429)]
    assert len([m for m in telegram.sent if "Primera respuesta" in m["text"]]) == 1
    telegram.blocked.add(ANA)
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Segunda respuesta."})
    _work(stack, aws)
    assert TelegramChat.get(*TelegramChat.key(str(ANA))).blocked_at is not None
    failed = [s for s in TelegramSent.scan() if s.status == "failed"]
    assert len(failed) == 1 and "blocked" in failed[0].error
    telegram.blocked.clear()
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Tercera respuesta."})
    _work(stack, aws)
    assert not [m for m in telegram.sent if "Tercera" in m["text"]]  # not tried while blocked
    _write(api, stack, aws, telegram, "Perdón, ya los desbloqueé")  # writing again makes them reachable
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Cuarta respuesta."})
    _work(stack, aws)
    assert [m["chat_id"] for m in telegram.sent if "Cuarta" in m["text"]] == [ANA]


def test_unlinking_stops_filing_and_a_contact_links_its_own_telegram(api, stack, aws, store, account, telegram):
    holder = claims_for(client_id=account)
    _linked(api, stack, aws, store, telegram, account)
    assert api.call("DELETE", "/me/telegram-link", claims=holder).status == 204
    assert api.call("DELETE", "/me/telegram-link", claims=holder).status == 204  # nothing linked: still fine
    assert api.call("GET", "/me/telegram-link", claims=holder).json()["linked"] is False
    _write(api, stack, aws, telegram, "¿Siguen ahí?")
    assert Tickets().tickets_of(account) == [] and "no está vinculado" in telegram.sent[-1]["text"]
    contact = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "socio-tg@ejemplo.com.ar", "name": "Socio", "permissions": ["tickets"]}).json()["contact_id"]
    partner = claims_for(client_id=account, contact_id=contact, sub="sub-socio")
    code = api.call("POST", "/me/telegram-link", claims=partner).json()["code"]
    _write(api, stack, aws, telegram, code, user_id=ANA + 1)  # the code typed alone works too
    _write(api, stack, aws, telegram, "Soy el socio: no anda el webmail", user_id=ANA + 1)
    (ticket,) = Tickets().tickets_of(account)
    assert (ticket.opened_by_role, ticket.opened_by_contact_id) == ("contact", contact)
    assert api.call("GET", "/me/telegram-link", claims=partner).json()["linked"] is True
    assert api.call("GET", "/me/telegram-link", claims=holder).json()["linked"] is False
    # The holder removes the contact: staff's answer no longer reaches that Telegram (the holder reads it).
    assert api.call("DELETE", f"/me/contacts/{contact}", claims=holder).status == 204
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Respuesta al socio."})
    _work(stack, aws)
    assert not [m for m in telegram.sent if "Respuesta al socio" in m["text"]]


def test_commands_are_not_questions_and_a_long_answer_points_to_the_panel(api, stack, aws, store, account, telegram):
    _linked(api, stack, aws, store, telegram, account)
    _write(api, stack, aws, telegram, "/start")  # "Restart bot" after unblocking, or the link tapped again
    _write(api, stack, aws, telegram, "/help")
    assert Tickets().tickets_of(account) == []
    assert ["ya está vinculado" in m["text"] for m in telegram.sent[1:]] == [True]  # once a day
    _write(api, stack, aws, telegram, "Necesito el detalle de la migración")
    (ticket,) = Tickets().tickets_of(account)
    long_answer = "Paso a paso de la migración. " * 300  # 9,000 characters: more than one Telegram message
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": long_answer})
    _work(stack, aws)
    (reply,) = [m for m in telegram.sent if m["text"].startswith("Paso a paso")]
    assert len(reply["text"]) <= 4096 and f"/tickets/{ticket.ticket_id})" in reply["text"]
    assert reply["text"].endswith(f"(ticket {ticket.ticket_id})")
