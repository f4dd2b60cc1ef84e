"""Activation after payment: instant (cPanel/WHM through the provisioning queue), manual, custom."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from devstack.fake_whm import FakeWhm
from devstack.runtime import Runtime
from shared.activation import MAX_PROVISIONING_ATTEMPTS
from shared.clock import FixedClock
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, provision, relay

STAFF = claims_for(staff=True, sub="staff-1")
WHM_TOKEN = "test-whm-token"


@pytest.fixture
def whm(stack):
    fake = FakeWhm(WHM_TOKEN).start()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ProvisioningSecrets"],
        SecretString=json.dumps({"whm_url": fake.url, "whm_token": WHM_TOKEN}),
    )
    yield fake
    fake.stop()


@pytest.fixture
def client_id(api, catalog):
    body = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
    return api.call("POST", "/clients", body=body).json()["client_id"]


def _order(api, client_id, **body):
    return api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body=body).json()








def _events(kind):
    return [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == kind]


def test_paid_instant_service_is_provisioned_in_cpanel_and_activated(api, stack, aws, store, whm, client_id):
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    service_id = order["service"]["service_id"]
    assert order["service"]["activation"]["state"] == "awaiting_payment"

    assert pay(store, order["invoice"]["invoice_id"]) == "applied"
    assert Service.get(*Service.key(service_id)).activation_state == "queued"
    relay(stack, aws)  # the outbox command reaches the provisioning queue (not the alerts queue)
    records, result = provision(stack)

    assert len(records) == 1 and result == {"batchItemFailures": []}
    service = Service.get(*Service.key(service_id))
    assert (service.status, service.activation_state) == ("active", "active")
    assert service.period_end > service.period_start
    (username,) = whm.accounts
    assert whm.accounts[username] == {"domain": "ana.com.ar", "plan": "hosting-inicial", "suspended": False}
    holder = claims_for(client_id=client_id)
    detail = api.call("GET", f"/me/services/{service_id}", claims=holder).json()
    shown = api.call("POST", f"/services/{service_id}/credentials/reveal", claims=holder, body={}).json()
    assert {c["name"]: c["value"] for c in shown["credentials"]}["usuario cPanel"] == username
    facts = {f["key"]: f["value"] for f in detail["facts"]}
    assert (facts["servidor"], facts["usuario"]) == ("127.0.0.1", username)  # the fake WHM's host
    assert detail["activation"]["message"].startswith("Servicio activo")
    assert [e["service_id"] for e in _events("service.activated")] == [service_id]
    assert provision(stack)[0] == []  # consumed: nothing comes back


def test_failing_server_is_retried_then_shows_activation_failed(api, stack, aws, store, whm, client_id):
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    service_id = order["service"]["service_id"]
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    whm.fail_next(100)
    sqs = boto3.client("sqs", region_name="us-east-1")
    message = sqs.receive_message(QueueUrl=stack.refs["ProvisioningQueue"])["Messages"][0]
    record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"]}
    runtime = Runtime(stack)

    results = [runtime.invoke("ProvisioningFunction", {"Records": [record]}) for _ in range(MAX_PROVISIONING_ATTEMPTS)]

    assert all(r["batchItemFailures"] for r in results[:-1])  # retried (with backoff) ...
    assert results[-1] == {"batchItemFailures": []}  # ... until the last attempt gives up
    service = Service.get(*Service.key(service_id))
    assert (service.status, service.activation_state) == ("activation_failed", "failed")
    assert "busy" in service.activation_error
    assert _events("service.activation_failed")[0]["attempts"] == MAX_PROVISIONING_ATTEMPTS
    seen = api.call("GET", f"/me/services/{service_id}", claims=claims_for(client_id=client_id)).json()
    assert seen["status"] == "activation_failed" and "No pudimos activar" in seen["activation"]["message"]

    whm.fail_next(0)
    retried = api.call("POST", f"/staff/services/{service_id}/activation", claims=STAFF, body={"action": "retry"})
    assert retried.json()["activation"]["state"] == "queued"
    relay(stack, aws)
    provision(stack)
    assert Service.get(*Service.key(service_id)).status == "active"


def test_a_service_without_domain_fails_at_once(api, stack, aws, store, whm, client_id):
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually")
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    provision(stack)
    service = Service.get(*Service.key(order["service"]["service_id"]))
    assert service.activation_state == "failed" and "dominio" in service.activation_error
    assert whm.calls == []


def test_manual_product_waits_for_requirements_then_counts_business_days(api, store, client_id):
    from activation.logic import staff_step

    from shared.auth import Identity, Role

    order = _order(api, client_id, product_id="vps-cloud", billing_cycle="monthly")
    service_id = order["service"]["service_id"]
    pay(store, order["invoice"]["invoice_id"])
    waiting = api.call("GET", f"/me/services/{service_id}", claims=claims_for(client_id=client_id)).json()
    assert waiting["activation"]["state"] == "awaiting_requirements"
    assert "Clave SSH pública" in waiting["activation"]["message"]

    staff = Identity(subject="staff-1", email=None, role=Role.STAFF, client_id=None)
    # Wednesday 23 Dec 2026, noon in Buenos Aires: +2 business days skips Christmas and the weekend.
    service = staff_step(
        store.services, FixedClock(datetime(2026, 12, 23, 15, tzinfo=UTC)), staff, service_id, "requirements_met"
    )

    assert (service.activation_state, service.eta_from, service.eta_to) == ("in_progress", "2026-12-28", "2026-12-28")
    seen = api.call("GET", f"/me/services/{service_id}", claims=claims_for(client_id=client_id)).json()
    assert seen["activation"]["eta_to"] == "2026-12-28" and "28/12/2026" in seen["activation"]["message"]
    again = api.call(
        "POST", f"/staff/services/{service_id}/activation", claims=STAFF, body={"action": "requirements_met"}
    )
    assert (again.status, again.json()["code"]) == (409, "not_awaiting_requirements")


def test_custom_product_takes_10_to_15_days_from_all_information(api, store, client_id):
    order = _order(api, client_id, product_id="diseno-web", billing_cycle="annually")
    service_id = order["service"]["service_id"]
    pay(store, order["invoice"]["invoice_id"])

    response = api.call(
        "POST", f"/staff/services/{service_id}/activation", claims=STAFF, body={"action": "requirements_met"}
    )
    not_staff = api.call(
        "POST",
        f"/staff/services/{service_id}/activation",
        claims=claims_for(client_id=client_id),
        body={"action": "retry"},
    )

    activation = response.json()["activation"]
    today = datetime.now(UTC).astimezone().date()
    assert activation["state"] == "in_progress"
    spread = (datetime.fromisoformat(activation["eta_to"]) - datetime.fromisoformat(activation["eta_from"])).days
    assert spread == 5 and (datetime.fromisoformat(activation["eta_from"]).date() - today).days in (9, 10, 11)
    assert not_staff.status == 403


def test_support_plans_have_nothing_to_provision_and_activate_on_payment(api, store, client_id):
    order = _order(api, client_id, product_id="soporte-profesional", billing_cycle="monthly")
    pay(store, order["invoice"]["invoice_id"])
    service = Service.get(*Service.key(order["service"]["service_id"]))
    assert (service.status, service.activation_state) == ("active", "active")


def test_a_redelivered_command_after_success_does_nothing(api, stack, aws, store, whm, client_id):
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    records, _ = provision(stack)
    calls = len(whm.calls)

    again = Runtime(stack).invoke("ProvisioningFunction", {"Records": records})

    assert again == {"batchItemFailures": []} and len(whm.calls) == calls
    assert Service.get(*Service.key(order["service"]["service_id"])).status == "active"


def test_a_refund_suspends_the_account_on_the_server(api, stack, aws, store, whm, client_id):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    invoice_id = order["invoice"]["invoice_id"]
    pay(store, invoice_id)
    relay(stack, aws)
    provision(stack)
    (username,) = whm.accounts

    refund = ProviderPayment("mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id, "charged_back")
    assert settle(store.billing, store.accounts, FixedClock(datetime.now(UTC)), refund) == "refunded"
    relay(stack, aws)  # (a fresh relay re-reads the stream: the old create command comes again, and is skipped)
    records, result = provision(stack)

    assert "suspend" in {json.loads(r["body"])["payload"]["action"] for r in records}
    assert result == {"batchItemFailures": []}
    assert whm.accounts[username]["suspended"] is True
    assert Service.get(*Service.key(order["service"]["service_id"])).status == "suspended"
