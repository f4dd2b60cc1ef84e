"""Payment webhooks and settlement: real signatures, a loopback Mercado Pago, the real handlers."""

import json
import os
import threading
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from devstack.fake_mercadopago import FakeMercadoPago
from devstack.fake_stripe import checkout_completed, sign
from devstack.runtime import ENV_OVERRIDES, Runtime
from devstack.stack import LOCAL_PAYMENT_SECRETS
from shared.dal.accounts import Client
from shared.dal.billing import Invoice, Payment
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="staff-1")


@pytest.fixture
def mercadopago(stack, monkeypatch):
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS)
    )
    fake = FakeMercadoPago(
        LOCAL_PAYMENT_SECRETS["mercadopago_access_token"], LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"]
    ).start()
    monkeypatch.setitem(ENV_OVERRIDES, "MERCADOPAGO_API_URL", fake.url)  # applied by every Runtime
    monkeypatch.setenv("MERCADOPAGO_API_URL", fake.url)
    yield fake
    fake.stop()


@pytest.fixture
def order(api, store, catalog):
    client_id = api.call(
        "POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
    ).json()["client_id"]
    created = api.call(
        "POST",
        f"/staff/clients/{client_id}/orders",
        claims=STAFF,
        body={"product_id": "hosting-avanzado", "billing_cycle": "annually"},
    )
    return created.json()  # invoice of ARS 150,00


def _all(kind):
    return [i for i in TableItem.scan() if isinstance(i, kind)]


def _events(kind):
    return [json.loads(e.payload) for e in _all(EventRecord) if e.type == kind]


def _queued(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = []
    while got := sqs.receive_message(QueueUrl=stack.refs["PaymentsQueue"], MaxNumberOfMessages=10).get("Messages"):
        messages.extend(got)
        for m in got:
            sqs.delete_message(QueueUrl=stack.refs["PaymentsQueue"], ReceiptHandle=m["ReceiptHandle"])
    return messages


def _deliver_mp(api, mercadopago, payment_id, **overrides):
    query, headers, body = mercadopago.signed_notification(payment_id, **overrides)
    return api.call("POST", f"/webhooks/mercadopago?{query}", headers=headers, raw=body.decode())


@pytest.fixture
def settle_queued(stack, mercadopago, monkeypatch):
    """Run the settlement consumer on queued messages, as the SQS event source would."""
    runtime = Runtime(stack)

    def run(messages):
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
        return runtime.invoke("PaymentSettlementFunction", {"Records": records})

    return run


def test_mercadopago_payment_settles_the_invoice(api, stack, mercadopago, settle_queued, order):
    invoice_id = order["invoice"]["invoice_id"]
    payment_id = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)

    response = _deliver_mp(api, mercadopago, payment_id)
    result = settle_queued(_queued(stack))

    assert response.status == 200 and response.json()["queued"] is True
    assert result == {"batchItemFailures": []}
    invoice = Invoice.get(*Invoice.key(invoice_id))
    assert (invoice.status, int(invoice.amount_paid), invoice.due_pk) == ("paid", 15000, None)
    payment = Payment.get(*Payment.key("mercadopago", payment_id))
    assert (payment.status, int(payment.applied), int(payment.credited)) == ("applied", 15000, 0)
    assert [e["invoice_id"] for e in _events("invoice.paid")] == [invoice_id]
    assert f"/v1/payments/{payment_id}" in mercadopago.requests  # amounts came from the provider
    # The idempotency record's key names the function it guards: a rename would orphan a week of records (a
    # redelivery across the deploy would ask the provider again), so it stays payments.worker.process.
    records = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"]).query(
        KeyConditionExpression=Key("pk").eq("IDEMPOTENCY#payment-notifications"))["Items"]
    assert len(records) == 1 and ".payments.worker.process#" in records[0]["sk"], records


@pytest.mark.parametrize("tamper", ["forged", "missing", "stale", "other-payment"])
def test_bad_mercadopago_signatures_are_401_and_queue_nothing(api, stack, mercadopago, order, tamper):
    payment_id = mercadopago.create_payment(
        amount=Decimal("150.00"), currency="ARS", external_reference=order["invoice"]["invoice_id"]
    )
    query, headers, body = mercadopago.signed_notification(payment_id)
    if tamper == "forged":
        headers["x-signature"] = headers["x-signature"][:-4] + "0000"
    elif tamper == "missing":
        del headers["x-signature"]
    elif tamper == "stale":
        query, headers, body = mercadopago.signed_notification(payment_id, ts=1_700_000_000)
    else:  # a valid signature replayed for another payment id
        query = query.replace(payment_id, "999")

    response = api.call("POST", f"/webhooks/mercadopago?{query}", headers=headers, raw=body.decode())

    assert response.status == 401 and response.json()["code"] in ("invalid_signature", "stale_signature")
    assert _queued(stack) == []


def test_twenty_concurrent_deliveries_settle_once(api, stack, mercadopago, settle_queued, order, store):
    from payments.providers import MercadoPagoApi
    from payments.settlement import settle

    from shared.clock import SystemClock

    invoice_id = order["invoice"]["invoice_id"]
    payment_id = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)
    reported = MercadoPagoApi(mercadopago.url, mercadopago.access_token).get_payment(payment_id)
    outcomes, barrier = [], threading.Barrier(20)

    def deliver():
        barrier.wait()
        outcomes.append(settle(store.billing, store.accounts, SystemClock(), reported))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 19
    assert len(_events("invoice.paid")) == 1 and len(_all(Payment)) == 1
    assert len(_events("service.provisioning_requested")) == 1  # one activation
    assert int(Invoice.get(*Invoice.key(invoice_id)).amount_paid) == 15000


def test_redelivered_notifications_through_the_queue_change_nothing(api, stack, mercadopago, settle_queued, order):
    invoice_id = order["invoice"]["invoice_id"]
    payment_id = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)
    for _ in range(3):
        assert _deliver_mp(api, mercadopago, payment_id).status == 200
    messages = _queued(stack)

    assert settle_queued(messages) == {"batchItemFailures": []}
    assert settle_queued(messages) == {"batchItemFailures": []}  # SQS redelivery of the same messages
    assert len(_events("invoice.paid")) == 1 and len(_events("payment.received")) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "outcome", "invoice_status", "credit"),
    [
        ("100.00", "ARS", "underpaid", "unpaid", None),
        ("200.00", "ARS", "applied", "paid", {"ARS": 5000}),
        ("150.00", "USD", "currency_mismatch", "unpaid", None),
    ],
)
def test_amount_and_currency_rules(
    api, stack, mercadopago, settle_queued, order, amount, currency, outcome, invoice_status, credit
):
    invoice_id = order["invoice"]["invoice_id"]
    payment_id = mercadopago.create_payment(amount=Decimal(amount), currency=currency, external_reference=invoice_id)

    _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))

    payment = Payment.get(*Payment.key("mercadopago", payment_id))
    invoice = Invoice.get(*Invoice.key(invoice_id))
    client = Client.get(*Client.key(invoice.client_id))
    assert (payment.status, invoice.status) == (outcome, invoice_status)
    assert (client.credit.as_dict() or None) == credit
    if outcome == "underpaid":
        assert int(invoice.amount_paid) == 10000 and invoice.due_pk  # still owed, still reminded
    seen_by_staff = api.call("GET", f"/staff/invoices/{invoice_id}/payments", claims=STAFF).json()
    assert [(p["payment_id"], p["status"]) for p in seen_by_staff] == [(payment_id, outcome)]
    me = api.call("GET", "/me", claims=claims_for(client_id=invoice.client_id)).json()["account"]
    assert {m["currency"]: m["amount"] for m in me["credit"]} == (credit or {})
    refused = api.call("GET", f"/staff/invoices/{invoice_id}/payments", claims=claims_for(client_id=invoice.client_id))
    assert refused.status == 403


def test_pending_and_rejected_payments_change_nothing(api, stack, mercadopago, settle_queued, order):
    for status in ("pending", "in_process", "rejected"):
        payment_id = mercadopago.create_payment(
            amount=Decimal("150.00"), currency="ARS", external_reference=order["invoice"]["invoice_id"], status=status
        )
        _deliver_mp(api, mercadopago, payment_id)
    assert settle_queued(_queued(stack)) == {"batchItemFailures": []}
    assert _all(Payment) == [] and Invoice.get(*Invoice.key(order["invoice"]["invoice_id"])).status == "unpaid"


def test_refund_after_settlement_refunds_the_invoice_and_suspends_its_services(
    api, stack, mercadopago, settle_queued, order
):
    invoice_id, service_id = order["invoice"]["invoice_id"], order["service"]["service_id"]
    payment_id = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)
    _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))
    service = Service.get(*Service.key(service_id))
    service.status = "active"  # as activation will have left it
    service.save()

    mercadopago.set_status(payment_id, "charged_back")
    _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))

    assert Invoice.get(*Invoice.key(invoice_id)).status == "refunded"
    assert Payment.get(*Payment.key("mercadopago", payment_id)).status == "refunded"
    assert Service.get(*Service.key(service_id)).status == "suspended"
    assert _events("invoice.refunded")[0]["invoice_status"] == "refunded"


def test_provider_outage_returns_the_message_for_a_retry(api, stack, mercadopago, settle_queued, order, monkeypatch):
    payment_id = mercadopago.create_payment(
        amount=Decimal("150.00"), currency="ARS", external_reference=order["invoice"]["invoice_id"]
    )
    _deliver_mp(api, mercadopago, payment_id)
    messages = _queued(stack)
    monkeypatch.setenv("MERCADOPAGO_API_URL", "http://127.0.0.1:9")  # nothing listens there

    result = settle_queued(messages)

    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert _all(Payment) == []
    monkeypatch.setenv("MERCADOPAGO_API_URL", mercadopago.url)
    assert settle_queued(messages) == {"batchItemFailures": []}
    assert Invoice.get(*Invoice.key(order["invoice"]["invoice_id"])).status == "paid"


def test_stripe_checkout_settles_and_its_payment_intent_event_is_the_same_payment(
    api, stack, mercadopago, settle_queued, order
):
    invoice_id = order["invoice"]["invoice_id"]
    event = checkout_completed(invoice_id=invoice_id, amount=15000, currency="ARS")
    body = json.dumps(event)
    secret = LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"]
    intent = {
        "id": "evt_2",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": event["data"]["object"]["payment_intent"],
                "amount_received": 15000,
                "currency": "ars",
                "metadata": {"invoice_id": invoice_id},
            }
        },
    }

    first = api.call("POST", "/webhooks/stripe", raw=body, headers={"Stripe-Signature": sign(secret, body.encode())})
    second = api.call(
        "POST",
        "/webhooks/stripe",
        raw=json.dumps(intent),
        headers={"Stripe-Signature": sign(secret, json.dumps(intent).encode())},
    )
    forged = api.call(
        "POST", "/webhooks/stripe", raw=body, headers={"Stripe-Signature": sign("whsec_other", body.encode())}
    )
    stale = api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={"Stripe-Signature": sign(secret, body.encode(), at=1_700_000_000)},
    )
    settle_queued(_queued(stack))

    assert (first.status, second.status, forged.status, stale.status) == (200, 200, 401, 401)
    assert Invoice.get(*Invoice.key(invoice_id)).status == "paid"
    assert len(_all(Payment)) == 1 and len(_events("invoice.paid")) == 1


def test_payment_for_an_unknown_invoice_is_kept_for_staff(api, stack, mercadopago, settle_queued, order):
    payment_id = mercadopago.create_payment(amount=Decimal("10.00"), currency="ARS", external_reference="nada")
    _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))
    assert Payment.get(*Payment.key("mercadopago", payment_id)).status == "unmatched"
    assert _events("payment.unmatched")[0]["payment_id"] == payment_id
    review = api.call("GET", "/staff/payments/unmatched", claims=STAFF).json()
    assert [(p["payment_id"], p["invoice_id"]) for p in review] == [(payment_id, "nada")]


@pytest.mark.parametrize(
    "signature",
    ["ts=1,v1=ñññ", "ts=" + "9" * 400 + ",v1=" + "a" * 64, "ts=nan,v1=" + "a" * 64, "v1=,ts=", "garbage"],
)
def test_crafted_mercadopago_signature_headers_are_401_not_500(api, stack, mercadopago, signature):
    response = api.call(
        "POST",
        "/webhooks/mercadopago?data.id=1&type=payment",
        headers={"x-signature": signature, "x-request-id": "r"},
        raw='{"id": 1}',
    )
    assert response.status == 401, response


@pytest.mark.parametrize("signature", ["t=1,v1=ñ", "t=" + "9" * 400 + ",v1=" + "a" * 64, "t=,v1="])
def test_crafted_stripe_signature_headers_are_401_not_500(api, stack, mercadopago, signature):
    response = api.call("POST", "/webhooks/stripe", headers={"Stripe-Signature": signature}, raw='{"id": "evt"}')
    assert response.status == 401, response


def test_refunding_a_duplicate_payment_takes_back_only_its_credit(api, stack, mercadopago, settle_queued, order):
    invoice_id = order["invoice"]["invoice_id"]
    first = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)
    second = mercadopago.create_payment(amount=Decimal("150.00"), currency="ARS", external_reference=invoice_id)
    for payment_id in (first, second):
        _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))
    assert Payment.get(*Payment.key("mercadopago", second)).status == "credited"

    mercadopago.set_status(second, "refunded")
    _deliver_mp(api, mercadopago, second)
    settle_queued(_queued(stack))

    invoice = Invoice.get(*Invoice.key(invoice_id))
    assert (invoice.status, int(invoice.amount_paid)) == ("paid", 15000)
    assert Client.get(*Client.key(invoice.client_id)).credit.as_dict() == {"ARS": 0}


def test_refunding_one_of_two_partial_payments_leaves_the_invoice_owing(api, stack, mercadopago, settle_queued, order):
    invoice_id = order["invoice"]["invoice_id"]
    half = mercadopago.create_payment(amount=Decimal("75.00"), currency="ARS", external_reference=invoice_id)
    rest = mercadopago.create_payment(amount=Decimal("75.00"), currency="ARS", external_reference=invoice_id)
    for payment_id in (half, rest):
        _deliver_mp(api, mercadopago, payment_id)
    settle_queued(_queued(stack))
    assert Invoice.get(*Invoice.key(invoice_id)).status == "paid"

    mercadopago.set_status(half, "charged_back")
    _deliver_mp(api, mercadopago, half)
    settle_queued(_queued(stack))

    invoice = Invoice.get(*Invoice.key(invoice_id))
    assert (invoice.status, int(invoice.amount_paid)) == ("unpaid", 7500)
    assert invoice.due_pk  # reminded again
    service = Service.get(*Service.key(order["service"]["service_id"]))
    assert service.activation_state == "cancelled"  # was queued for provisioning: not created any more


def test_stripe_payment_intent_without_reference_waits_for_its_checkout_session(
    api, stack, mercadopago, settle_queued, order
):
    invoice_id = order["invoice"]["invoice_id"]
    session = checkout_completed(invoice_id=invoice_id, amount=15000, currency="ARS")
    intent = {
        "id": "evt_pi",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": session["data"]["object"]["payment_intent"],
                "amount_received": 15000,
                "currency": "ars",
                "metadata": {},
            }
        },
    }
    secret = LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"]
    for event in (intent, session):  # the intent's event first, as Stripe may send it
        body = json.dumps(event)
        api.call("POST", "/webhooks/stripe", raw=body, headers={"Stripe-Signature": sign(secret, body.encode())})
    settle_queued(_queued(stack))
    assert Invoice.get(*Invoice.key(invoice_id)).status == "paid"
