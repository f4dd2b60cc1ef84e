"""WhatsApp alerts through the real functions on moto, against a loopback fake of the Cloud API."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from devstack.fake_whatsapp import FakeWhatsApp
from devstack.runtime import Runtime
from shared.calendar import BUSINESS_TZ as QUIET_TZ
from shared.clock import FixedClock, to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.alerts import Delivery
from shared.dal.table import TableItem
from shared.events import EventType
from shared.ids import new_id
from tests.integration.conftest import claims_for
from tests.integration.flows import relay

STAFF = claims_for(staff=True, sub="staff-1")
SECRETS = {"access_token": "wa-test-token", "app_secret": "wa-app-secret", "verify_token": "wa-verify"}
PHONE_ID = "1234567890"
HOLDER_PHONE = "+5491123456789"


@pytest.fixture
def setting(monkeypatch):
    """Set a function's environment variable over the template's (the runtime re-applies those)."""
    from devstack.runtime import ENV_OVERRIDES

    def set_it(name, value):
        monkeypatch.setitem(ENV_OVERRIDES, name, value)
        monkeypatch.setenv(name, value)

    return set_it


@pytest.fixture
def whatsapp(stack, setting):
    fake = FakeWhatsApp(SECRETS["access_token"], PHONE_ID).start()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["WhatsAppSecrets"], SecretString=json.dumps(SECRETS))
    setting("WHATSAPP_API_URL", fake.url)
    setting("WHATSAPP_PHONE_NUMBER_ID", PHONE_ID)
    setting("QUIET_HOURS", "")  # most tests send at once; the quiet hours have their own tests
    yield fake
    fake.stop()


@pytest.fixture
def client_id(api, catalog):
    body = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana", "phone": "011 15 2345-6789",
            "whatsapp_opt_in": True}
    return api.call("POST", "/clients", body=body).json()["client_id"]


def _contact(client_id, name, permissions, phone="+5491155550000", opt_in=True, preferences=None):
    contact_id = new_id()
    Contact(*Contact.key(client_id, contact_id), client_id=client_id, contact_id=contact_id,
            email=f"{name}@ejemplo.com.ar", name=name, permissions=permissions, phone=phone,
            whatsapp_opt_in=opt_in, alert_preferences=preferences or {},
            created_at=to_storage(datetime.now(UTC))).save()
    return contact_id


def _envelope(event_type, client_id, payload=None, event_id=None):
    return {"id": event_id or new_id(), "type": str(event_type), "occurred_at": to_storage(datetime.now(UTC)),
            "client_id": client_id, "payload": payload or {}, "version": 1}


INVOICE = {"invoice_id": "01JD8X7Q3M5Z2C4V6B8N0P2R4T", "total": 15000, "currency": "ARS",
           "due_at": "2026-11-28T03:00:00.000000Z"}


def _fan_out(stack, *envelopes, message_ids=None):
    records = [{"messageId": (message_ids or {}).get(i, f"m{i}"), "receiptHandle": f"r{i}",
                "body": json.dumps(envelope)} for i, envelope in enumerate(envelopes)]
    return Runtime(stack).invoke("AlertsFanoutFunction", {"Records": records})


def _receive(stack, queue="DeliveriesQueue"):
    sqs = boto3.client("sqs", region_name="us-east-1")
    got = sqs.receive_message(QueueUrl=stack.refs[queue], MaxNumberOfMessages=10).get("Messages", [])
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]} for m in got]


def _send(stack):
    """The sender on what the deliveries queue holds; consumed messages are deleted as the event source
    does, failed ones stay (their visibility set by the sender)."""
    records = _receive(stack)
    if not records:
        return [], {"batchItemFailures": []}
    result = Runtime(stack).invoke("AlertsSenderFunction", {"Records": records})
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    sqs = boto3.client("sqs", region_name="us-east-1")
    for record in records:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=stack.refs["DeliveriesQueue"], ReceiptHandle=record["receiptHandle"])
    return records, result


def _make_visible(stack, records):
    sqs = boto3.client("sqs", region_name="us-east-1")
    for record in records:
        sqs.change_message_visibility(QueueUrl=stack.refs["DeliveriesQueue"], ReceiptHandle=record["receiptHandle"],
                                      VisibilityTimeout=0)


def _deliveries():
    return sorted((i for i in TableItem.scan() if isinstance(i, Delivery)), key=lambda d: d.recipient)


def test_an_invoice_alert_goes_to_the_holder_and_the_contacts_it_concerns(stack, whatsapp, client_id):
    billing = _contact(client_id, "contable", ["invoices"], phone="+5491155550001")
    _contact(client_id, "tecnico", ["services"], phone="+5491155550002")  # no right to invoices
    _contact(client_id, "silencio", ["invoices"], phone="+5491155550003", opt_in=False)
    _contact(client_id, "sin-facturas", ["invoices"], phone="+5491155550004", preferences={"billing": False})
    _contact(client_id, "mismo-numero", ["invoices"], phone=HOLDER_PHONE)  # one message per number

    assert _fan_out(stack, _envelope(EventType.INVOICE_CREATED, client_id, INVOICE)) == {"batchItemFailures": []}
    _send(stack)

    assert [d.recipient for d in _deliveries()] == [f"contact:{billing}", "holder"]
    sent = sorted(whatsapp.sent, key=lambda m: m["to"])
    assert [m["to"] for m in sent] == ["5491123456789", "5491155550001"]
    assert {(m["template"], m["language"]) for m in sent} == {("factura_emitida", "es_AR")}
    assert sent[0]["parameters"] == ["8N0P2R4T", "ARS 150,00", "28/11/2026"]  # due at 00:00 local on the 28th
    assert {d.status for d in _deliveries()} == {"sent"}
    assert all(d.wa_message_id.startswith("wamid.") for d in _deliveries())


def test_events_of_the_outbox_reach_whatsapp_through_both_queues(api, stack, aws, whatsapp, client_id):
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": "hosting-inicial", "billing_cycle": "annually"}).json()
    relay(stack, aws)
    events = _receive(stack, "AlertsQueue")
    result = Runtime(stack).invoke("AlertsFanoutFunction", {"Records": events})
    _send(stack)

    assert result == {"batchItemFailures": []}
    assert [m["template"] for m in whatsapp.sent] == ["factura_emitida"]  # service.ordered is no alert
    assert whatsapp.sent[0]["parameters"][0] == order["invoice"]["invoice_id"][-8:]


def test_a_redelivered_message_or_a_repeated_event_never_sends_twice(stack, whatsapp, client_id):
    envelope = _envelope(EventType.INVOICE_PAID, client_id, INVOICE)
    _fan_out(stack, envelope, envelope, message_ids={0: "same", 1: "same-again"})  # twice in one batch
    _send(stack)
    _fan_out(stack, envelope)  # republished later (outbox replay)
    _send(stack)

    assert len(whatsapp.sent) == 1
    assert len(_deliveries()) == 1


def test_a_delivery_queued_twice_is_sent_once(stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    (delivery,) = _deliveries()
    from alerts.queue import send_batch

    assert send_batch(boto3.client("sqs", region_name="us-east-1"), [delivery.pk]) == []  # a second copy
    _send(stack)
    _send(stack)

    assert len(whatsapp.sent) == 1


@pytest.mark.parametrize(("code", "retried"), [
    (131056, True),  # pair rate limit (throttled)
    (130429, True),  # throughput limit
    (131016, True),  # service unavailable (transient)
    (131000, True),  # something went wrong (transient)
    (190, True),  # expired token: retried after someone renews it, and a metric for the alarm
    (131026, False),  # undeliverable
    (131047, False),  # outside the 24 h window
    (132001, False),  # template does not exist
])
def test_each_error_class(stack, whatsapp, client_id, capsys, code, retried):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    whatsapp.fail_next(code)

    records, result = _send(stack)
    (delivery,) = _deliveries()

    if retried:
        assert result["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
        assert (delivery.status, delivery.error_code, int(delivery.attempts)) == ("queued", code, 1)
        _make_visible(stack, records)
        _send(stack)
        assert _deliveries()[0].status == "sent" and len(whatsapp.sent) == 1
    else:
        assert result == {"batchItemFailures": []}
        assert (delivery.status, delivery.error_code) == ("failed", code)
        assert delivery.error_reason
        assert _send(stack)[0] == [] and whatsapp.sent == []  # nothing comes back
    assert ("WhatsAppTokenExpired" in capsys.readouterr().out) == (code == 190)


def test_http_429_without_a_code_is_throttling_and_5xx_is_transient(stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    whatsapp.fail_next(999, http_status=429)
    records, _ = _send(stack)
    assert _deliveries()[0].status == "queued"
    whatsapp.fail_next(998, http_status=503)
    _make_visible(stack, records)
    records, _ = _send(stack)
    assert _deliveries()[0].status == "queued"
    _make_visible(stack, records)
    _send(stack)
    assert _deliveries()[0].status == "sent"


def test_an_argentine_number_registered_without_the_nine_is_retried_as_54(stack, whatsapp, client_id):
    whatsapp.registered_without_nine.add("5491123456789")
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    _send(stack)

    (delivery,) = _deliveries()
    assert [m["to"] for m in whatsapp.sent] == ["541123456789"]
    assert (delivery.status, delivery.sent_to, delivery.wa_id) == ("sent", "541123456789", "541123456789")


def test_a_message_that_keeps_failing_reaches_the_dlq_and_the_redrive_sends_it(stack, whatsapp, client_id):
    from tools.redrive_dlq import redrive

    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    whatsapp.fail_next(131016, times=100)
    receives = 0
    while True:
        records, _ = _send(stack)
        if not records:
            break
        receives += 1
        _make_visible(stack, records)
    sqs = boto3.client("sqs", region_name="us-east-1")
    assert receives == 6  # the template's maxReceiveCount
    assert _deliveries()[0].status == "queued" and whatsapp.sent == []

    whatsapp.reset()  # the cause is fixed
    moved = redrive(sqs, stack.refs["DeliveriesDeadLetterQueue"], stack.refs["DeliveriesQueue"])
    _send(stack)

    assert moved == 1
    assert len(whatsapp.sent) == 1 and _deliveries()[0].status == "sent"


def _signed(body: dict, secret=SECRETS["app_secret"]):
    raw = json.dumps(body)
    return raw, {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()}


def _statuses(*items):
    def status(wamid, name):
        entry = {"id": wamid, "status": name, "timestamp": "1764000000", "recipient_id": "5491123456789"}
        if name == "failed":
            entry["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
        return entry

    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_ID},
             "statuses": [status(wamid, name) for wamid, name in items]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}


def test_the_webhook_handshake_answers_the_challenge_only_to_the_right_token(api, whatsapp):
    good = api.call("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wa-verify&hub.challenge=1158201444")
    wrong = api.call("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
    no_mode = api.call("GET", "/webhooks/whatsapp?hub.verify_token=wa-verify&hub.challenge=1")

    assert (good.status, good.text) == (200, "1158201444")
    assert (wrong.status, wrong.json()["code"]) == (403, "invalid_verify_token")
    assert no_mode.status == 403


def test_statuses_apply_out_of_order_and_never_move_backwards(api, stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    _send(stack)
    wamid = _deliveries()[0].wa_message_id

    for status in ("read", "delivered", "sent", "read"):  # read arrives first, then the older ones
        raw, headers = _signed(_statuses((wamid, status)))
        assert api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers).status == 200
    assert _deliveries()[0].status == "read"
    raw, headers = _signed(_statuses((wamid, "failed"), ("wamid.UNKNOWN", "delivered")))
    assert api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers).json() == {
        "received": True, "applied": 0, "messages": 0}
    assert _deliveries()[0].status == "read"


def test_a_failed_status_records_its_reason(api, stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    _send(stack)
    raw, headers = _signed(_statuses((_deliveries()[0].wa_message_id, "failed")))
    api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)

    delivery = _deliveries()[0]
    assert (delivery.status, delivery.error_code, delivery.error_reason) == ("failed", 131026, "Message undeliverable")


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature-256": "md5=abc"}, "other-secret"])
def test_forged_status_notifications_are_401_and_change_nothing(api, stack, whatsapp, client_id, headers):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    _send(stack)
    raw, signed = _signed(_statuses((_deliveries()[0].wa_message_id, "read")),
                          secret="otro" if headers == "other-secret" else SECRETS["app_secret"])

    response = api.call("POST", "/webhooks/whatsapp", raw=raw, headers=signed if headers == "other-secret" else headers)

    assert (response.status, response.json()["code"]) == (401, "invalid_signature")
    assert _deliveries()[0].status == "sent"


def test_quiet_hours_hold_non_urgent_alerts_until_they_end(stack, store, whatsapp, client_id):
    from alerts.dispatch import fan_out, release_waiting
    from alerts.queue import send_batch

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = lambda pks, delays: send_batch(sqs, pks, delays)  # noqa: E731
    night = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # 23:30 in Buenos Aires
    invoice = _envelope(EventType.INVOICE_OVERDUE, client_id, {**INVOICE, "balance": 15000, "days_overdue": 2})
    activated = _envelope(EventType.SERVICE_ACTIVATED, client_id, {"product_name": "Hosting", "domain": "ana.com.ar"})

    fan_out(store.alerts, store.accounts, queue, FixedClock(night), [("a", invoice), ("b", activated)], [],
            "21:00-09:00")
    _send(stack)
    assert [m["template"] for m in whatsapp.sent] == ["servicio_activo"]  # urgent: at once
    held = next(d for d in _deliveries() if d.event_type == "invoice.overdue")
    assert (held.status, held.not_before) == ("waiting", "2026-11-25T12:00:00.000000Z")  # 09:00 local

    assert release_waiting(store.alerts, queue, FixedClock(datetime(2026, 11, 25, 11, 59, tzinfo=UTC))) == 0
    assert release_waiting(store.alerts, queue, FixedClock(datetime(2026, 11, 25, 12, 1, tzinfo=UTC))) == 1
    assert release_waiting(store.alerts, queue, FixedClock(datetime(2026, 11, 25, 12, 16, tzinfo=UTC))) == 0
    _send(stack)
    assert [m["template"] for m in whatsapp.sent] == ["servicio_activo", "factura_vencida"]


def test_staff_alerts_go_to_the_on_call_numbers(stack, whatsapp, client_id, setting):
    setting("OPS_WHATSAPP_NUMBERS", "+5491140000001, +5491140000002")
    _fan_out(stack, _envelope(EventType.SERVICE_ACTIVATION_FAILED, client_id,
                              {"service_id": "01SERVICE", "module": "cpanel", "error": "WHM no respondió"}))
    _send(stack)

    assert sorted(m["to"] for m in whatsapp.sent) == ["5491140000001", "5491140000002"]
    assert {m["template"] for m in whatsapp.sent} == {"activacion_fallida_staff"}
    assert {d.gsi1pk for d in _deliveries()} == {"ALERTS#OPS"}  # not in the client's history


def test_the_client_sees_its_alerts_and_manages_its_own_subscription(api, stack, whatsapp, client_id):
    holder = claims_for(client_id=client_id)
    contact_id = _contact(client_id, "contable", ["invoices"], phone=None, opt_in=False)
    contact = claims_for(client_id=client_id, contact_id=contact_id)

    settings = api.call("GET", "/me/alerts/settings", claims=contact).json()
    assert [k["kind"] for k in settings["kinds"]] == ["billing"]  # only what its rights cover
    missing_phone = api.call("PATCH", "/me/alerts/settings", claims=contact, body={"whatsapp_opt_in": True})
    assert (missing_phone.status, missing_phone.json()["code"]) == (422, "phone_required")
    assert api.call("PATCH", "/me/alerts/settings", claims=contact,
                    body={"whatsapp_opt_in": True, "phone": "011 15 5555-0009"}).json()["phone"] == "+5491155550009"
    off = api.call("PATCH", "/me/alerts/settings", claims=holder, body={"preferences": {"billing": False}}).json()
    assert {k["kind"]: k["enabled"] for k in off["kinds"]} == {"billing": False, "services": True, "quotes": True,
                                                               "tickets": True}

    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE),
             _envelope(EventType.SERVICE_ACTIVATED, client_id, {"product_name": "Hosting"}))
    _send(stack)

    assert sorted((m["to"], m["template"]) for m in whatsapp.sent) == [
        ("5491123456789", "servicio_activo"), ("5491155550009", "pago_acreditado")]
    mine = api.call("GET", "/me/alerts", claims=holder).json()
    theirs = api.call("GET", "/me/alerts", claims=contact).json()
    # Each person's own alerts (the holder turned billing off: the payment went to the contact alone).
    assert [a["event_type"] for a in mine] == ["service.activated"]
    assert [(a["event_type"], a["status"], a["phone"]) for a in theirs] == [("invoice.paid", "sent", "+5491*****0009")]
    opted_out = api.call("PATCH", "/me/alerts/settings", claims=holder, body={"whatsapp_opt_in": False})
    assert opted_out.json()["whatsapp_opt_in"] is False
    _fan_out(stack, _envelope(EventType.SERVICE_ACTIVATED, client_id, {"product_name": "Hosting"}))
    assert len([d for d in _deliveries() if d.recipient == "holder"]) == 1  # nothing new for the holder


def test_settings_refuse_bad_input_without_writing(api, client_id):
    holder = claims_for(client_id=client_id)
    for body, code in (({}, "empty_update"), ({"preferences": {"marketing": True}}, "validation_error"),
                       ({"phone": "123"}, "invalid_phone"), ({"whatsapp_opt_in": None}, "validation_error")):
        before = Client.get(*Client.key(client_id)).version
        response = api.call("PATCH", "/me/alerts/settings", claims=holder, body=body)
        assert (response.status, response.json()["code"]) == (422, code), body
        assert Client.get(*Client.key(client_id)).version == before


def test_events_that_are_not_alerts_and_malformed_messages_are_consumed(stack, whatsapp, client_id):
    result = Runtime(stack).invoke("AlertsFanoutFunction", {"Records": [
        {"messageId": "x", "receiptHandle": "r", "body": json.dumps(_envelope(EventType.CONTACT_ADDED, client_id))},
        {"messageId": "y", "receiptHandle": "r", "body": "no es json"},
    ]})
    assert result == {"batchItemFailures": []} and _deliveries() == []


def test_alerts_held_at_night_are_released_by_the_schedule(stack, store, whatsapp, client_id):
    from alerts.dispatch import fan_out
    from alerts.queue import send_batch

    night = datetime.now(UTC) - timedelta(days=1)
    fan_out(store.alerts, store.accounts,
            lambda pks, delays: send_batch(boto3.client("sqs", region_name="us-east-1"), pks), FixedClock(night),
            [("a", _envelope(EventType.INVOICE_PAID, client_id, INVOICE))], [], "00:00-23:59")
    assert _deliveries()[0].status == "waiting"

    assert Runtime(stack).invoke("AlertsReleaseFunction", {}) == {"released": 1}
    _send(stack)
    assert len(whatsapp.sent) == 1


def test_an_answer_lost_after_the_request_is_never_sent_again(stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    whatsapp.answer_next(200, {"messaging_product": "whatsapp"})  # accepted, but no message id came back

    records, result = _send(stack)

    (delivery,) = _deliveries()
    assert result == {"batchItemFailures": []}
    assert (delivery.status, delivery.error_reason) == ("failed", "la API respondió sin id de mensaje")
    assert _send(stack)[0] == [] and whatsapp.attempts == 1


def test_a_claim_left_by_a_crashed_run_is_marked_failed_never_sent_again(stack, store, whatsapp, client_id):
    from alerts.deliver import deliver
    from alerts.deliveries_worker import api

    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    (delivery,) = _deliveries()
    crashed_at = datetime.now(UTC)
    delivery.status, delivery.updated_at = "sending", to_storage(crashed_at)  # the run died mid-call
    delivery.save()

    assert deliver(store.alerts, api, FixedClock(crashed_at + timedelta(minutes=1)), delivery.pk) == "in_flight"
    assert deliver(store.alerts, api, FixedClock(crashed_at + timedelta(minutes=4)), delivery.pk) == "interrupted"
    assert _deliveries()[0].status == "failed" and whatsapp.attempts == 0
    records, result = _send(stack)  # its message, still on the queue, sends nothing
    assert result == {"batchItemFailures": []} and whatsapp.attempts == 0


def test_an_unconfigured_sender_keeps_the_alerts_waiting_without_claiming_them(stack, whatsapp, client_id, setting):
    setting("WHATSAPP_PHONE_NUMBER_ID", "")
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))

    records, result = _send(stack)

    assert result["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
    delivery = _deliveries()[0]
    assert (delivery.status, int(delivery.attempts)) == ("queued", 0) and whatsapp.attempts == 0


def test_parameters_are_sent_on_one_line(stack, whatsapp, client_id, setting):
    setting("OPS_WHATSAPP_NUMBERS", "+5491140000001")
    _fan_out(stack, _envelope(EventType.SERVICE_ACTIVATION_FAILED, client_id, {
        "service_id": "01SERVICE", "module": "", "error": "WHM:\n\tcreateacct     falló\n"}))
    _send(stack)

    assert whatsapp.sent[0]["parameters"][1:] == ["-", "WHM: createacct falló"]


def test_a_number_already_alerted_for_an_event_is_not_alerted_again_under_another_role(stack, whatsapp, client_id):
    _contact(client_id, "mismo-numero", ["invoices"], phone=HOLDER_PHONE)
    envelope = _envelope(EventType.INVOICE_PAID, client_id, INVOICE)
    _fan_out(stack, envelope)
    holder = Client.get(*Client.key(client_id))
    holder.alert_preferences = {"billing": False}  # now the contact would be the one with that number
    holder.save()
    _fan_out(stack, envelope)  # the same event, redelivered
    _send(stack)

    assert [d.recipient for d in _deliveries()] == ["holder"] and len(whatsapp.sent) == 1


def test_the_sender_takes_a_released_alert_before_its_status_is_flipped(stack, store, whatsapp, client_id):
    from alerts.dispatch import fan_out
    from alerts.queue import send_batch

    held_at = datetime.now(UTC) - timedelta(hours=1)
    # Quiet hours from an hour before held_at to half an hour after it: over by now.
    window = "-".join(f"{(held_at + delta).astimezone(QUIET_TZ):%H:%M}"
                      for delta in (timedelta(hours=-1), timedelta(minutes=30)))
    event = _envelope(EventType.INVOICE_PAID, client_id, INVOICE)
    fan_out(store.alerts, store.accounts, lambda pks, delays: [], FixedClock(held_at), [("a", event)], [], window)
    (delivery,) = _deliveries()
    assert delivery.status == "waiting"
    send_batch(boto3.client("sqs", region_name="us-east-1"), [delivery.pk])  # the release crashed after this

    _send(stack)

    assert _deliveries()[0].status == "sent" and _deliveries()[0].due_pk is None


def test_unconfigured_retries_back_off_by_the_queues_receive_count(stack, whatsapp, client_id, setting):
    """Defect: with no claim, no attempt was counted and every retry came back after 10 s (the DLQ within
    a minute). The receive count now drives the backoff, as for every other retryable error."""
    setting("WHATSAPP_PHONE_NUMBER_ID", "")
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    records = _receive(stack)
    changed = []
    sqs = boto3.client("sqs", region_name="us-east-1")

    class Spy:
        def __getattr__(self, name):
            return getattr(sqs, name)

        def change_message_visibility(self, **call):
            changed.append(call["VisibilityTimeout"])
            return sqs.change_message_visibility(**call)

    import alerts.deliveries_worker as worker

    previous, worker.sqs = worker.sqs, Spy()
    try:
        for receives in (1, 2, 4):
            record = {**records[0], "attributes": {"ApproximateReceiveCount": str(receives)}}
            Runtime(stack).invoke("AlertsSenderFunction", {"Records": [record]})
    finally:
        worker.sqs = previous
    assert changed == [10, 20, 80]
    assert _deliveries()[0].attempts == 0 and whatsapp.attempts == 0


def test_an_invoice_alert_waits_on_the_queue_and_is_dropped_if_the_invoice_was_paid_meanwhile(
        stack, store, whatsapp, client_id):
    from alerts.dispatch import fan_out

    from shared.dal.billing import Invoice, InvoiceLine

    invoice = Invoice(*Invoice.key(INVOICE["invoice_id"]), invoice_id=INVOICE["invoice_id"], client_id=client_id,
                      lines=[InvoiceLine(description="x", amount=15000)], currency="ARS", total=15000,
                      status="unpaid", issued_at=to_storage(datetime.now(UTC)), due_at=INVOICE["due_at"])
    invoice.save()
    queued = []
    fan_out(store.alerts, store.accounts, lambda pks, delays: queued.append(delays) or [],
            FixedClock(datetime.now(UTC)), [("a", _envelope(EventType.INVOICE_CREATED, client_id, INVOICE)),
             ("b", _envelope(EventType.INVOICE_PAID, client_id, INVOICE))], [], "", hold_seconds=120)
    created, paid = sorted(_deliveries(), key=lambda d: d.event_type)
    assert queued == [{created.pk: 120}]  # the paid alert goes at once; the issued one waits two minutes

    invoice.status = "paid"
    invoice.save()
    from alerts.deliver import deliver
    from alerts.deliveries_worker import api, still_unpaid

    assert deliver(store.alerts, api, FixedClock(datetime.now(UTC)), created.pk, still_unpaid) == "dropped"
    assert Delivery.get(created.pk, "DELIVERY").status == "dropped" and whatsapp.sent == []


def test_the_number_that_worked_after_131030_is_used_at_once_next_time(stack, whatsapp, client_id):
    whatsapp.registered_without_nine.add("5491123456789")
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE))
    _send(stack)
    first_attempts = whatsapp.attempts
    _fan_out(stack, _envelope(EventType.SERVICE_ACTIVATED, client_id, {"product_name": "Hosting"}))
    _send(stack)

    assert [m["to"] for m in whatsapp.sent] == ["541123456789", "541123456789"]
    assert (first_attempts, whatsapp.attempts) == (2, 3)  # the second alert needed no refused try


SUSPENDED = {"service_id": "01SERVICE", "product_name": "Hosting Inicial", "domain": "ana.com.ar", "reason": "overdue"}


def _alert_emails():
    from devstack.mailbox import sent_emails

    return [e for e in sent_emails() if e["headers"].get("Auto-Submitted") == "auto-generated"]


def test_email_is_a_second_channel_each_person_chooses_per_kind(api, stack, whatsapp, client_id):
    holder = claims_for(client_id=client_id)
    tecnico = _contact(client_id, "tecnico", ["services"], phone=None, opt_in=False)  # by email only
    _contact(client_id, "sin-correo", ["services"], phone="+5491155550002")
    _contact(client_id, "facturas", ["invoices"], phone=None, opt_in=False)  # no right to services: nothing
    # Turned off by email, still on by WhatsApp.
    quiet = api.call("PATCH", "/me/alerts/settings", claims=claims_for(client_id=client_id, contact_id=(
        sin_correo := next(c.contact_id for c in Contact.query(f"CLIENT#{client_id}", Contact.sk.startswith("CONTACT#"))
                           if c.name == "sin-correo"))), body={"email_preferences": {"services": False}})
    assert {k["kind"]: (k["enabled"], k["email_enabled"]) for k in quiet.json()["kinds"]} == {
        "services": (True, False)}

    envelope = _envelope(EventType.SERVICE_SUSPENDED, client_id, SUSPENDED)
    _fan_out(stack, envelope)
    records, _ = _send(stack)
    _fan_out(stack, envelope)  # the event again (outbox replay), and each queue message again
    sqs = boto3.client("sqs", region_name="us-east-1")
    for record in records:
        sqs.send_message(QueueUrl=stack.refs["DeliveriesQueue"], MessageBody=record["body"])
    _send(stack)

    assert sorted((d.recipient, d.channel, d.status) for d in _deliveries()) == sorted([
        ("holder", "whatsapp", "sent"), ("holder", "email", "sent"), (f"contact:{sin_correo}", "whatsapp", "sent"),
        (f"contact:{tecnico}", "email", "sent")])
    emails = _alert_emails()
    assert sorted(e["to"][0] for e in emails) == ["ana@ejemplo.com.ar", "tecnico@ejemplo.com.ar"]  # once each
    email = emails[0]
    assert email["from"] == "Paneldecliente <avisos@paneldecliente.com>"
    assert email["subject"] == "Servicio suspendido - Paneldecliente"
    # The same words as the WhatsApp template, with its parameters.
    assert ("Su servicio Hosting Inicial (ana.com.ar) fue suspendido por falta de pago. En Paneldecliente → "
            "Mis servicios encontrará el detalle y cómo reactivarlo.") in email["text"]
    assert "Hosting Inicial (ana.com.ar)" in email["html"]
    assert email["headers"]["X-Paneldecliente-Event"] == envelope["id"]
    mine = api.call("GET", "/me/alerts", claims=holder).json()
    assert sorted((a["channel"], a["phone"], a["email"]) for a in mine) == [
        ("email", None, "a***@ejemplo.com.ar"), ("whatsapp", "+5491*****6789", None)]


def test_email_alerts_skip_what_another_email_already_says_and_the_settings_say_so(api, stack, whatsapp, client_id):
    _fan_out(stack, _envelope(EventType.INVOICE_PAID, client_id, INVOICE),  # the receipt with its PDF says it
             _envelope(EventType.TICKET_ANSWERED, client_id, {"ticket_id": "01TICKET", "subject": "Correo"}))
    _send(stack)
    assert {d.channel for d in _deliveries()} == {"whatsapp"} and _alert_emails() == []

    kinds = api.call("GET", "/me/alerts/settings", claims=claims_for(client_id=client_id)).json()
    assert kinds["email"] == "ana@ejemplo.com.ar"
    assert {k["kind"]: k["channels"] for k in kinds["kinds"]} == {
        "billing": ["whatsapp", "email"], "services": ["whatsapp", "email"], "quotes": ["whatsapp", "email"],
        "tickets": ["whatsapp", "email"]}  # tickets: a remote support reminder comes by email too


def test_an_email_alert_to_a_suppressed_address_is_dropped_and_staff_get_theirs_by_email(
        stack, store, whatsapp, client_id, setting):
    from shared.dal.mail import SuppressedAddress

    SuppressedAddress(*SuppressedAddress.key("ana@ejemplo.com.ar"), address="ana@ejemplo.com.ar", reason="bounce",
                      feedback_id="f", suppressed_at=to_storage(datetime.now(UTC)), gsi1pk="SUPPRESSED").save()
    setting("OPS_ALERT_EMAILS", "Guardia@Paneldecliente.com")
    _fan_out(stack, _envelope(EventType.SERVICE_SUSPENDED, client_id, SUSPENDED),
             _envelope(EventType.SERVICE_ACTIVATION_FAILED, client_id, {"service_id": "01SERVICE", "module": "cpanel",
                                                                        "error": "WHM no respondió"}))
    _send(stack)

    by_email = {d.recipient: d for d in _deliveries() if d.channel == "email"}
    assert by_email["holder"].status == "dropped" and "rebotó" in by_email["holder"].error_reason
    assert by_email["ops:guardia@paneldecliente.com"].status == "sent"
    assert [(e["to"][0], e["subject"]) for e in _alert_emails()] == [
        ("guardia@paneldecliente.com", "[Staff] Activación fallida - Paneldecliente")]


def test_ses_throttling_retries_the_email_alert_and_sends_it_once(stack, whatsapp, client_id, monkeypatch):
    from botocore.exceptions import ClientError

    _fan_out(stack, _envelope(EventType.SERVICE_RENEWED, client_id, {"product_name": "Hosting", "domain": "a.com"}))
    Runtime(stack).invoke("AlertsSenderFunction", {"Records": []})  # the function's module loaded
    import sys

    worker = sys.modules["alerts.deliveries_worker"]
    real = worker.sesv2.send_email
    calls = []

    def throttled_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate"}},
                              "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(worker.sesv2, "send_email", throttled_once)
    records, result = _send(stack)
    email = next(d for d in _deliveries() if d.channel == "email")
    assert email.status == "queued" and email.attempts == 1 and "SES" in email.error_reason
    (failed,) = [r for r in records if r["messageId"] in {f["itemIdentifier"] for f in result["batchItemFailures"]}]
    _make_visible(stack, [failed])
    _send(stack)
    assert next(d for d in _deliveries() if d.channel == "email").status == "sent"
    assert len(_alert_emails()) == 1 and len(calls) == 2
