"""Faults, with invariants checked afterwards (issue 17 §1): the payment → active service flow, through the real
handlers on moto, with one fault injected at a time — never by editing our functions:
- DynamoDB throttling beyond botocore's retries, and a transaction conflict, at a write of the flow (a proxy in
  front of the embedded AWS answers that request with DynamoDB's own error);
- a crash after the provider call and before our save (the same proxy failing the write that records the WHM
  account);
- SQS redelivery and duplicates (a record handed to its consumer again);
- the provider (WHM) answering 5xx.
Then: the invoice is settled once with its reactions once (one Payment, one `invoice.paid`, one activation), the
money adds up (amount paid = the invoice's total, no credit), every WHM account made is the one recorded on the
service, and no event is written twice.

`make test` runs the sample below (each kind at the flow's key writes); `make faults` (FAULTS=all) adds a throttle
at every DynamoDB write of the flow and a conflict at every transaction, found by counting them in a clean run."""

import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import boto3
import pytest

from devstack.cfn import load_template
from devstack.fake_stripe import checkout_completed, sign
from devstack.fake_whm import FakeWhm
from devstack.runtime import Runtime
from devstack.stack import LOCAL_PAYMENT_SECRETS
from shared.clock import reset_system_clock, shift_system_clock
from shared.dal.alerts import Delivery
from shared.dal.billing import Invoice, Payment
from shared.dal.mail import SentEmail
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import relay

pytestmark = pytest.mark.faults

STAFF = claims_for(staff=True, sub="staff-faults")
WHM_TOKEN = "faults-whm-token"
REDELIVERIES = 6  # an SQS record comes back until it succeeds; the queue's DLQ is further away than this


@dataclass
class Rule:
    """Answer DynamoDB's ``operation`` with ``error`` on the calls that ``matches`` picks: ``skip`` matching calls
    pass first, then ``times`` fail (more than botocore's retries make the call fail for our code)."""

    operation: str
    error: str  # throttle | conflict
    matches: Callable[[bytes], bool] = lambda body: True
    skip: int = 0
    times: int = 1
    seen: int = 0
    failed: int = 0


@dataclass
class FaultProxy:
    """WSGI middleware in front of moto: DynamoDB requests pass, except those a rule fails; it counts every write."""

    app: Callable
    rules: list[Rule] = field(default_factory=list)
    writes: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        operation = (environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")[2]
        if not operation.startswith(("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWrite")):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        import io

        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        with self.lock:
            self.writes[operation] += 1
            rule = next((r for r in self.rules if r.operation == operation and r.matches(body)), None)
            failing = False
            if rule is not None:
                rule.seen += 1
                failing = rule.seen > rule.skip and rule.failed < rule.times
                rule.failed += failing
        if not failing:
            return self.app(environ, start_response)
        return _dynamodb_error(start_response, rule.error, body)


def _dynamodb_error(start_response, error: str, body: bytes):
    if error == "throttle":
        payload = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
    else:  # a transaction conflict: one reason per item, as DynamoDB gives them
        items = len(json.loads(body).get("TransactItems", [])) or 1
        payload = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                   "message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                              "[TransactionConflict]",
                   "CancellationReasons": [{"Code": "TransactionConflict", "Message": "Transaction is ongoing"}]
                   + [{"Code": "None"}] * (items - 1)}
    data = json.dumps(payload).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                       ("Content-Length", str(len(data)))])
    return [data]


@pytest.fixture
def proxy(aws):
    inner = aws._server.app
    installed = FaultProxy(inner)
    aws._server.app = installed  # werkzeug reads server.app on each request
    yield installed
    aws._server.app = inner


@pytest.fixture(autouse=True)
def real_time_after():
    yield
    reset_system_clock()  # the redeliveries moved it


@pytest.fixture
def whm(stack):
    fake = FakeWhm(WHM_TOKEN).start()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ProvisioningSecrets"], SecretString=json.dumps({"whm_url": fake.url,
                                                                            "whm_token": WHM_TOKEN}))
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
    yield fake
    fake.stop()


def _queued(stack, queue: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    records = []
    while got := sqs.receive_message(QueueUrl=stack.refs[queue], MaxNumberOfMessages=10).get("Messages", []):
        for m in got:
            records.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                            "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"})
            sqs.delete_message(QueueUrl=stack.refs[queue], ReceiptHandle=m["ReceiptHandle"])
    return records


def _consume(stack, function: str, queue: str, records: list[dict], duplicate: bool) -> int:
    """The records to their consumer as SQS would: a failed one comes back once the queue's visibility timeout has
    passed (the functions' clock moved by it), until it succeeds; with ``duplicate``, every record once more after
    it succeeded (SQS's at-least-once). Returns the redeliveries."""
    runtime, again = Runtime(stack), 0
    hidden = timedelta(seconds=int(load_template()["Resources"][queue]["Properties"]["VisibilityTimeout"]))
    pending = list(records)
    for _ in range(REDELIVERIES):
        if not pending:
            break
        failed = {f["itemIdentifier"] for f in runtime.invoke(function, {"Records": pending})["batchItemFailures"]}
        again += len(failed)
        pending = [r for r in pending if r["messageId"] in failed]
        if pending:
            shift_system_clock(hidden)
    assert not pending, f"{function}: still failing after {REDELIVERIES} deliveries"
    if duplicate:
        assert runtime.invoke(function, {"Records": records}) == {"batchItemFailures": []}
    return again


def _pay_and_activate(api, stack, aws, whm: FakeWhm, duplicate: str | None = None, n: int = 0,
                      before_payment: Callable[[], None] = lambda: None) -> dict:
    """Order a hosting, pay it through Stripe's signed webhook, and run the flow to the active service
    (``before_payment`` arms the fault once the order exists: the flow under test starts at the payment)."""
    reset_system_clock()  # the previous flow's redeliveries moved it; the provider signs at the real time
    accounts_before = set(whm.accounts)
    client_id = api.call("POST", "/clients", body={
        "email": f"fallas{n}@ejemplo.com.ar", "password": "Segura123", "name": "Cliente Fallas",
        "phone": f"+54 9 11 5555-{n:04d}", "whatsapp_opt_in": True}).json()["client_id"]
    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body={
        "product_id": "hosting-inicial", "billing_cycle": "annually", "domain": f"fallas{n}.com.ar"}).json()
    invoice_id = order["invoice"]["invoice_id"]
    before_payment()
    event = checkout_completed(invoice_id=invoice_id, amount=10000, currency="ARS")
    body = json.dumps(event)
    signed = sign(LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"], body.encode())
    assert api.call("POST", "/webhooks/stripe", raw=body, headers={"Stripe-Signature": signed}).status == 200
    redelivered = _consume(stack, "PaymentSettlementFunction", "PaymentsQueue", _queued(stack, "PaymentsQueue"),
                           duplicate == "payment")
    relay(stack, aws)
    redelivered += _consume(stack, "ProvisioningFunction", "ProvisioningQueue", _queued(stack, "ProvisioningQueue"),
                            duplicate == "provisioning")
    relay(stack, aws)
    # What the payment and the activation tell: the invoice's PDF and emails, the alerts.
    redelivered += _consume(stack, "DocumentsFunction", "MailQueue", _queued(stack, "MailQueue"), duplicate == "mail")
    redelivered += _consume(stack, "AlertsFanoutFunction", "AlertsQueue", _queued(stack, "AlertsQueue"),
                            duplicate == "alerts")
    return {"client_id": client_id, "invoice_id": invoice_id, "service_id": order["service"]["service_id"],
            "redelivered": redelivered, "whm_accounts": sorted(set(whm.accounts) - accounts_before)}


def _violations(flow: dict) -> list[str]:
    """The invariants, checked over everything this flow wrote (other flows share the table)."""
    items = list(TableItem.scan())
    invoice = Invoice.get(*Invoice.key(flow["invoice_id"]))
    service = Service.get(*Service.key(flow["service_id"]))
    payloads = [(e.type, json.loads(e.payload)) for e in items if isinstance(e, EventRecord)]
    payments = [p for p in items if isinstance(p, Payment) and p.invoice_id == flow["invoice_id"]]
    found = []
    if invoice.status != "paid" or int(invoice.amount_paid) != int(invoice.total):
        found.append(f"invoice {invoice.status}, paid {invoice.amount_paid} of {invoice.total}")
    if len(payments) != 1 or sum(p.applied for p in payments) != int(invoice.total):
        found.append(f"{len(payments)} payments applying {sum(p.applied for p in payments)} for one settlement")
    paid = [p for kind, p in payloads if kind == "invoice.paid" and p.get("invoice_id") == flow["invoice_id"]]
    activated = [p for kind, p in payloads if kind == "service.activated" and p.get("service_id") == flow["service_id"]]
    for kind, found_events in (("invoice.paid", paid), ("service.activated", activated)):
        if len(found_events) != 1:
            found.append(f"{len(found_events)} × {kind}: a reaction is not exactly once")
    if service.status != "active" or service.activation_state != "active":
        found.append(f"service {service.status}/{service.activation_state}")
    if flow["whm_accounts"] != [service.provisioning_account]:
        found.append(f"WHM accounts made {flow['whm_accounts']}, the service records {service.provisioning_account}")
    emails = Counter(e.kind for e in items if isinstance(e, SentEmail) and e.client_id == flow["client_id"])
    for kind in ("invoice_paid", "service_enabled"):
        if emails[kind] != 1:
            found.append(f"{emails[kind]} × the {kind} email: not exactly once")
    deliveries = Counter((d.event_type, d.recipient, d.channel) for d in items
                         if isinstance(d, Delivery) and d.client_id == flow["client_id"])
    if not deliveries or any(n > 1 for n in deliveries.values()):
        found.append(f"alerts to the holder: {dict(deliveries)} (each exactly once)")
    client = next(i for i in items if type(i).__name__ == "Client" and i.client_id == flow["client_id"])
    if client.credit_in("ARS"):
        found.append(f"credit {client.credit_in('ARS')} appeared from one exact payment")
    return found


def SETTLEMENT_WRITE(body: bytes) -> bool:  # noqa: N802 - a constant of the table below
    return b'"Payment"' in body  # the settlement's transaction (its Payment item)


def RECORDING_WRITE(body: bytes) -> bool:  # noqa: N802
    return b'"provisioning_account"' in body  # the WHM account recorded, after WHM's answer
BEYOND_RETRIES = 12  # botocore retries a throttled DynamoDB call up to 10 times

SAMPLE = {
    "settlement throttled beyond retries": dict(rule=Rule("TransactWriteItems", "throttle", SETTLEMENT_WRITE,
                                                          times=BEYOND_RETRIES)),
    "settlement in a transaction conflict": dict(rule=Rule("TransactWriteItems", "conflict", SETTLEMENT_WRITE)),
    "crash after WHM's answer, before our save": dict(rule=Rule("TransactWriteItems", "throttle", RECORDING_WRITE,
                                                                times=BEYOND_RETRIES)),
    "the payment notification delivered twice": dict(duplicate="payment"),
    "the provisioning command delivered twice": dict(duplicate="provisioning"),
    "the invoice's email delivered twice": dict(duplicate="mail"),
    "the alerts' events delivered twice": dict(duplicate="alerts"),
    "WHM answers 503 (each call of one attempt)": dict(whm_failures=3),
}


@pytest.mark.parametrize("fault", sorted(SAMPLE))
def test_the_invariants_hold_after_each_fault(fault, api, stack, aws, catalog, proxy, whm):
    spec = SAMPLE[fault]
    if spec.get("whm_failures"):
        whm.fail_next(spec["whm_failures"], status=503)
    arm = (lambda: proxy.rules.append(spec["rule"])) if "rule" in spec else (lambda: None)
    flow = _pay_and_activate(api, stack, aws, whm, spec.get("duplicate"), before_payment=arm)
    if "rule" in spec:
        assert spec["rule"].failed >= 1, "the fault was never injected: the rule matched nothing"
    if spec.get("whm_failures") or spec.get("rule") and spec["rule"].times == BEYOND_RETRIES:
        assert flow["redelivered"] >= 1, "the fault never reached the queue: it was not the one meant"
    assert _violations(flow) == [], (fault, _violations(flow))


@pytest.mark.skipif(os.environ.get("FAULTS") != "all", reason="the whole matrix: make faults")
@pytest.mark.parametrize(("operation", "error"), [("TransactWriteItems", "throttle"),
                                                  ("TransactWriteItems", "conflict"), ("PutItem", "throttle")])
def test_the_invariants_hold_with_a_fault_at_every_write_of_the_flow(operation, error, api, stack, aws, catalog,
                                                                     proxy, whm):
    """The flow's writes counted in a clean run; then, one new client's flow at a time, the k-th fails."""
    _pay_and_activate(api, stack, aws, whm, n=0, before_payment=proxy.writes.clear)
    writes = proxy.writes[operation]
    report = []
    for k in range(1, writes + 1):
        rule = Rule(operation, error, skip=k - 1, times=BEYOND_RETRIES if error == "throttle" else 1)
        flow = _pay_and_activate(api, stack, aws, whm, n=k, before_payment=lambda rule=rule: proxy.rules.append(rule))
        proxy.rules.clear()
        report.append((k, rule.failed, _violations(flow)))
    print(f"\nfaults ({operation} {error}): {len(report)} of the flow, "
          f"{sum(1 for _, failed, _ in report if failed)} faults injected, "
          f"{sum(len(v) for *_, v in report)} invariant violations")
    assert [(k, v) for k, _, v in report if v] == []
