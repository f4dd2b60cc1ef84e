"""Faults, with invariants checked afterwards (issue 17 §1), through the real handlers on moto and loopback providers,
one fault injected at a time — never by editing our functions. The flows:
- payment → active service: Stripe's signed webhook, settlement, provisioning on WHM, the invoice's PDF and emails
  (SES), the alerts' fan-out and their sending to WhatsApp;
- a renewal: the sweep issues the invoice, the client pays it with Mercado Pago (the settlement asks Mercado Pago's
  API for the payment), the emails and alerts, the sweep starts the new period;
- a ticket: the SLA sweep warns of its first-response deadline, staff answer.
The faults:
- DynamoDB throttling beyond botocore's retries, and transaction conflicts, at a write (a proxy in front of the
  embedded AWS answers that request with DynamoDB's own error); SQS unavailable to the outbox relay; SES throttling
  the emails beyond retries;
- a crash after the provider call and before our save (the proxy failing the write that records the WHM account);
- SQS redelivery (after the queue's visibility timeout, the functions' clock moved by it) and duplicates;
- providers answering 5xx (WHM, Mercado Pago, WhatsApp), not answering within our timeout (Mercado Pago), or doing
  what was asked and answering after our timeout (WhatsApp: the message went out, we cannot know).
Then the invariants of tools/invariants.py hold over the whole table (paid invoices and their `invoice.paid`, each
client's money, WHM accounts recorded, no activation half-way, no alert twice at WhatsApp, every open ticket's
deadlines on the sweep's index), every outbox event reached each of its queues, no email went twice to SES, and the
flow's reactions happened exactly once (payment, activation, renewal, the SLA warning, one staff reply).

`make test` runs the samples below; `make faults` (FAULTS=all) adds a throttle at every DynamoDB write of the
payment and renewal flows and a conflict at every transaction, found by counting them in a clean run."""

import base64
import email
import email.policy
import io
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import boto3
import botocore.endpoint
import pytest
from boto3.dynamodb.types import TypeDeserializer

from devstack.cfn import load_template
from devstack.fake_mercadopago import FakeMercadoPago
from devstack.fake_stripe import checkout_completed, sign
from devstack.fake_whatsapp import FakeWhatsApp
from devstack.fake_whm import FakeWhm
from devstack.runtime import ENV_OVERRIDES, Runtime
from devstack.stack import LOCAL_PAYMENT_SECRETS, LOCAL_WHATSAPP_PHONE_NUMBER_ID, LOCAL_WHATSAPP_SECRETS
from shared.clock import SystemClock, from_storage, reset_system_clock, shift_system_clock
from shared.dal.billing import Invoice
from shared.dal.services import Service
from tests.integration.conftest import claims_for
from tests.integration.flows import relay
from tools import invariants

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


SES_SEND_PATH = "/v2/email/outbound-emails"  # SESv2 SendEmail (REST JSON)
WATCHED = ("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWrite", "SendMessageBatch", "SendEmail")


def _operation(environ) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET") or ""  # DynamoDB and SQS (JSON protocols)
    if target:
        return target.rpartition(".")[2]
    if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == SES_SEND_PATH:
        return "SendEmail"
    return ""


@dataclass
class FaultProxy:
    """WSGI middleware in front of moto: requests pass, except those a rule fails. It counts every DynamoDB write,
    and keeps what reached SQS from the outbox relay (event id -> queues) and what SES was asked to send (recipient,
    Message-ID), for the invariants."""

    app: Callable
    rules: list[Rule] = field(default_factory=list)
    writes: Counter = field(default_factory=Counter)
    queued: dict[str, set[str]] = field(default_factory=dict)
    emails: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        operation = _operation(environ)
        if not operation.startswith(WATCHED):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
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
                self._keep(operation, body)
        if not failing:
            return self.app(environ, start_response)
        return _aws_error(start_response, rule.error, body)

    def _keep(self, operation: str, body: bytes) -> None:
        if operation == "SendMessageBatch":
            request = json.loads(body)
            for entry in request.get("Entries", []):
                event_id = entry.get("MessageAttributes", {}).get("event_id", {}).get("StringValue")
                if event_id:
                    self.queued.setdefault(event_id, set()).add(request["QueueUrl"])
        elif operation == "SendEmail":
            request = json.loads(body)
            raw = base64.b64decode(request["Content"]["Raw"]["Data"])
            message_id = email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]
            for to in request["Destination"]["ToAddresses"]:
                self.emails[(to, str(message_id))] += 1


def _aws_error(start_response, error: str, body: bytes):
    """The error the service itself answers: DynamoDB's throttling or transaction conflict, SQS's or SES's."""
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    status = "400 Bad Request"
    if error == "throttle":
        payload = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
    elif error == "conflict":  # a transaction conflict: one reason per item, as DynamoDB gives them
        items = len(json.loads(body).get("TransactItems", [])) or 1
        payload = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                   "message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                              "[TransactionConflict]",
                   "CancellationReasons": [{"Code": "TransactionConflict", "Message": "Transaction is ongoing"}]
                   + [{"Code": "None"}] * (items - 1)}
    elif error == "sqs_unavailable":
        status, payload = "503 Service Unavailable", {"__type": "com.amazonaws.sqs#ServiceUnavailable",
                                                      "message": "Service is unable to handle request."}
    else:  # ses_throttle: SESv2's own (REST JSON: the error's type in a header)
        status, payload = "429 Too Many Requests", {"message": "Maximum sending rate exceeded."}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "TooManyRequestsException")]
    data = json.dumps(payload).encode()
    start_response(status, [*headers, ("Content-Length", str(len(data)))])
    return [data]


@pytest.fixture
def proxy(aws):
    inner = aws._server.app
    installed = FaultProxy(inner)
    aws._server.app = installed  # werkzeug reads server.app on each request
    yield installed
    aws._server.app = inner


class Backoff:
    """What botocore's endpoint knows as ``time``, except that its waits between retries pass on the functions'
    clock instead of being slept: a DynamoDB call a boto3 client retries 10 times waits 25 s in all, which the flows
    would otherwise spend sleeping (make faults' renewal matrix did not finish). ``waited``: their sum."""

    def __init__(self):
        self.waited = 0.0

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        shift_system_clock(timedelta(seconds=seconds))

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture(autouse=True)
def backoff(monkeypatch):
    waits = Backoff()
    monkeypatch.setattr(botocore.endpoint, "time", waits)
    return waits


@pytest.fixture(autouse=True)
def real_time_after():
    yield
    reset_system_clock()  # the redeliveries moved it


@dataclass
class Providers:
    whm: FakeWhm
    mercadopago: FakeMercadoPago
    whatsapp: FakeWhatsApp


@pytest.fixture
def providers(stack, monkeypatch):
    """Loopback WHM, Mercado Pago (its clock is the functions', which the redeliveries move) and WhatsApp, with
    their secrets, as make dev has them."""
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    whm = FakeWhm(WHM_TOKEN).start()
    mercadopago = FakeMercadoPago(LOCAL_PAYMENT_SECRETS["mercadopago_access_token"],
                                  LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"],
                                  now=lambda: SystemClock().now().timestamp()).start()
    whatsapp = FakeWhatsApp(LOCAL_WHATSAPP_SECRETS["access_token"], LOCAL_WHATSAPP_PHONE_NUMBER_ID).start()
    secrets.put_secret_value(SecretId=stack.refs["ProvisioningSecrets"],
                             SecretString=json.dumps({"whm_url": whm.url, "whm_token": WHM_TOKEN}))
    secrets.put_secret_value(SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
    secrets.put_secret_value(SecretId=stack.refs["WhatsAppSecrets"], SecretString=json.dumps(LOCAL_WHATSAPP_SECRETS))
    for name, value in {"MERCADOPAGO_API_URL": mercadopago.url, "WHATSAPP_API_URL": whatsapp.url,
                        "WHATSAPP_PHONE_NUMBER_ID": LOCAL_WHATSAPP_PHONE_NUMBER_ID, "QUIET_HOURS": ""}.items():
        monkeypatch.setitem(ENV_OVERRIDES, name, value)  # applied by every Runtime
        monkeypatch.setenv(name, value)
    yield Providers(whm, mercadopago, whatsapp)
    for fake in (whm, mercadopago, whatsapp):
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


def _tell(stack, aws, duplicate: str | None) -> int:
    """What the last steps told: the outbox relayed, then the emails (and invoices' PDFs), the alerts' fan-out and
    the alerts sent to WhatsApp. Returns the redeliveries."""
    relay(stack, aws, resume=True)
    again = _consume(stack, "DocumentsFunction", "MailQueue", _queued(stack, "MailQueue"), duplicate == "mail")
    again += _consume(stack, "AlertsFanoutFunction", "AlertsQueue", _queued(stack, "AlertsQueue"),
                      duplicate == "alerts")
    again += _consume(stack, "AlertsSenderFunction", "DeliveriesQueue", _queued(stack, "DeliveriesQueue"),
                      duplicate == "deliveries")
    return again


def _pay_and_activate(api, stack, aws, providers: Providers, duplicate: str | None = None, n: int = 0,
                      before_payment: Callable[[], None] = lambda: None) -> dict:
    """Order a hosting, pay it through Stripe's signed webhook, and run the flow to the active service
    (``before_payment`` arms the fault once the order exists: the flow under test starts at the payment)."""
    reset_system_clock()  # the previous flow's redeliveries moved it; the provider signs at the real time
    whm = providers.whm
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
    relay(stack, aws, resume=True)
    redelivered += _consume(stack, "ProvisioningFunction", "ProvisioningQueue", _queued(stack, "ProvisioningQueue"),
                            duplicate == "provisioning")
    redelivered += _tell(stack, aws, duplicate)
    return {"client_id": client_id, "invoice_id": invoice_id, "service_id": order["service"]["service_id"],
            "redelivered": redelivered, "whm_accounts": sorted(set(whm.accounts) - accounts_before)}


def _sweep_until(stack, step: str, runs: int = 4) -> int:
    """The renewal sweep as its schedule runs it, every 5 minutes, until it has taken ``step`` (a failed step stays
    due and is taken by a later run). Returns the runs."""
    runtime = Runtime(stack)
    for run in range(1, runs + 1):
        if runtime.invoke("RenewalSweepFunction", {"source": "aws.events", "detail-type": "Scheduled Event"})[step]:
            return run
        shift_system_clock(timedelta(minutes=5))
    raise AssertionError(f"the renewal sweep never took {step} in {runs} runs")


def _move_clock_to(at: datetime) -> None:
    shift_system_clock(at - SystemClock().now())


def _renew_with_mercadopago(api, stack, aws, providers: Providers, duplicate: str | None = None, n: int = 0,
                            before_issue: Callable[[], None] = lambda: None,
                            before_payment: Callable[[], None] = lambda: None) -> dict:
    """An active hosting's renewal: the sweep issues its invoice 13 days before the end, the client pays it with
    Mercado Pago (the signed webhook; the settlement asks Mercado Pago's API for the payment), the emails and alerts
    go out, and at the end the sweep starts the new period."""
    flow = _pay_and_activate(api, stack, aws, providers, n=n)
    service = Service.get(*Service.key(flow["service_id"]))
    end = from_storage(service.period_end)
    _move_clock_to(end - timedelta(days=13))
    before_issue()
    issue_runs = _sweep_until(stack, "issue_renewal")
    renewal = Invoice.get(*Invoice.key(Service.get(*Service.key(flow["service_id"])).renewal_invoice_id))
    redelivered = _tell(stack, aws, None)
    mercadopago = providers.mercadopago
    payment_id = mercadopago.create_payment(amount=Decimal(int(renewal.total)) / 100, currency=renewal.currency,
                                            external_reference=renewal.invoice_id)
    before_payment()
    query, headers, body = mercadopago.signed_notification(payment_id)
    assert api.call("POST", f"/webhooks/mercadopago?{query}", headers=headers, raw=body.decode()).status == 200
    redelivered += _consume(stack, "PaymentSettlementFunction", "PaymentsQueue", _queued(stack, "PaymentsQueue"),
                            duplicate == "payment")
    redelivered += _tell(stack, aws, duplicate)
    _move_clock_to(end + timedelta(minutes=5))
    _sweep_until(stack, "advance")
    redelivered += _tell(stack, aws, None)
    return {**flow, "renewal_id": renewal.invoice_id, "period_end_before": service.period_end,
            "issue_runs": issue_runs, "redelivered": flow["redelivered"] + redelivered}


def _table() -> list[dict]:
    """The whole table as plain values (a test's own: the stack is made anew for each test)."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    plain = TypeDeserializer()
    return [{k: plain.deserialize(v) for k, v in item.items()}
            for page in ddb.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"])
            for item in page["Items"]]


def _shared_violations(proxy: FaultProxy, **seen) -> tuple[dict[str, list[dict]], list[str]]:
    """The table by entity, and what every flow must hold: the invariants (tools/invariants.py) over the whole table,
    every outbox event on each of its queues, no email twice at SES. ``seen``: what the providers received."""
    from outbox.relay import queue_urls

    items = _table()
    by, routes = invariants.by_entity(items), queue_urls()
    found = [f"{name}: {v}" for name, violations in invariants.check(items, **seen).items() for v in violations]
    found += invariants.outbox_delivered(by, proxy.queued, lambda kind: routes.get(kind, routes["*"]))
    found += [f"email {key} sent {n} times" for key, n in proxy.emails.items() if n > 1]
    return by, found


def _violations(flow: dict, proxy: FaultProxy, providers: Providers) -> list[str]:
    """The invariants (tools/invariants.py) over the whole table, what reached SQS, SES and WhatsApp, and this
    flow's own: its reactions exactly once."""
    sent = [(m["to"], m.get("template") or m.get("text"), tuple(m.get("parameters") or ()))
            for m in providers.whatsapp.sent]
    by, found = _shared_violations(proxy, whm=providers.whm.accounts, whatsapp=sent)
    expected = [("invoice.paid", "invoice_id", flow["invoice_id"]),
                ("service.activated", "service_id", flow["service_id"])]
    if "renewal_id" in flow:
        expected += [("invoice.paid", "invoice_id", flow["renewal_id"]),
                     ("service.renewed", "service_id", flow["service_id"])]
    for kind, key, value in expected:
        n = sum(1 for e in by["Event"] if e["type"] == kind and json.loads(e["payload"]).get(key) == value)
        if n != 1:
            found.append(f"{n} × {kind} of {value}: a reaction is not exactly once")
    service = next(s for s in by["Service"] if s["service_id"] == flow["service_id"])
    if service["status"] != "active" or service["activation_state"] != "active":
        found.append(f"service {service['status']}/{service['activation_state']}")
    if flow["whm_accounts"] != [service.get("provisioning_account")]:
        found.append(f"WHM accounts made {flow['whm_accounts']}, the service records "
                     f"{service.get('provisioning_account')}")
    if "renewal_id" in flow and service["period_start"] != flow["period_end_before"]:
        found.append(f"the period starts {service['period_start']}, not where the paid one ended "
                     f"({flow['period_end_before']}): renewed other than once")
    emails = Counter(e["kind"] for e in by["SentEmail"] if e.get("client_id") == flow["client_id"])
    for kind in ("invoice_paid", "service_enabled"):
        if emails[kind] != 1 + (kind == "invoice_paid" and "renewal_id" in flow):
            found.append(f"{emails[kind]} × the {kind} email")
    if not [d for d in by["Delivery"] if d.get("client_id") == flow["client_id"]]:
        found.append("no alert to the holder")
    return found


def SETTLEMENT_WRITE(body: bytes) -> bool:  # noqa: N802 - a constant of the table below
    return b'"Payment"' in body  # the settlement's transaction (its Payment item)


def RECORDING_WRITE(body: bytes) -> bool:  # noqa: N802
    return b'"provisioning_account"' in body  # the WHM account recorded, after WHM's answer


def ENABLING_EMAIL_WRITE(body: bytes) -> bool:  # noqa: N802
    return b'"TO#' in body and b'"service_enabled"' in body  # the "Habilitación" email's claim, then its record


def RENEWAL_ISSUE_WRITE(body: bytes) -> bool:  # noqa: N802
    return b'"renewal"' in body and b'"Invoice"' in body and b'"Payment"' not in body  # the sweep's new invoice


BEYOND_RETRIES = 12  # botocore retries a throttled DynamoDB call up to 10 times
PAST_OUR_TIMEOUT = 6.0  # seconds: the Mercado Pago and WhatsApp clients give up after 5

SAMPLE = {
    "settlement throttled beyond retries": dict(rule=Rule("TransactWriteItems", "throttle", SETTLEMENT_WRITE,
                                                          times=BEYOND_RETRIES)),
    "settlement in a transaction conflict": dict(rule=Rule("TransactWriteItems", "conflict", SETTLEMENT_WRITE)),
    "crash after WHM's answer, before our save": dict(rule=Rule("TransactWriteItems", "throttle", RECORDING_WRITE,
                                                                times=BEYOND_RETRIES)),
    # The claim passes, SES takes the email, its record is throttled beyond retries (twice: tried again), and the
    # claims of any redelivery after it; found by make faults (the email went twice, its claim taken over).
    "the email's record throttled after SES took it": dict(
        rule=Rule("PutItem", "throttle", ENABLING_EMAIL_WRITE, skip=1, times=BEYOND_RETRIES), absorbed=True),
    "the payment notification delivered twice": dict(duplicate="payment"),
    "the provisioning command delivered twice": dict(duplicate="provisioning"),
    "the invoice's email delivered twice": dict(duplicate="mail"),
    "the alerts' events delivered twice": dict(duplicate="alerts"),
    "the alerts' deliveries delivered twice": dict(duplicate="deliveries"),
    "WHM answers 503 (each call of one attempt)": dict(whm_failures=3),
    "the relay's SendMessageBatch unavailable beyond retries": dict(rule=Rule("SendMessageBatch", "sqs_unavailable",
                                                                              times=BEYOND_RETRIES)),
    "SES throttles the emails beyond retries": dict(rule=Rule("SendEmail", "ses_throttle", times=BEYOND_RETRIES)),
    "WhatsApp answers 503": dict(whatsapp=dict(kind="status", http_status=503, times=2)),
}

RENEWAL_SAMPLE = {
    "the renewal sweep's write throttled beyond retries": dict(
        issue_rule=Rule("TransactWriteItems", "throttle", RENEWAL_ISSUE_WRITE, times=BEYOND_RETRIES)),
    "the renewal's settlement in a transaction conflict": dict(rule=Rule("TransactWriteItems", "conflict",
                                                                         SETTLEMENT_WRITE)),
    "Mercado Pago answers 500 to the payment's lookup": dict(mercadopago=dict(kind="status", http_status=500)),
    "Mercado Pago does not answer the lookup within our timeout": dict(
        mercadopago=dict(kind="stall", seconds=PAST_OUR_TIMEOUT)),
    "the renewal's payment notification delivered twice": dict(duplicate="payment"),
    "WhatsApp sends the alert but answers after our timeout": dict(
        whatsapp=dict(kind="late", seconds=PAST_OUR_TIMEOUT)),
}


def _arm(spec: dict, providers: Providers, proxy: FaultProxy) -> list:
    """The fault of ``spec``, armed: the proxy's rule, or the provider's failures (returned, to count them)."""
    armed = []
    if "rule" in spec:
        proxy.rules.append(spec["rule"])
    if spec.get("whm_failures"):
        providers.whm.fail_next(spec["whm_failures"], status=503)
    if "mercadopago" in spec:
        armed.append(providers.mercadopago.inject(**spec["mercadopago"], path="/v1/payments"))
    if "whatsapp" in spec:
        armed.append(providers.whatsapp.inject(**spec["whatsapp"], path="/messages"))
    return armed


@pytest.mark.parametrize("fault", sorted(SAMPLE))
def test_the_invariants_hold_after_each_fault(fault, api, stack, aws, catalog, proxy, providers):
    spec = SAMPLE[fault]
    armed = []
    flow = _pay_and_activate(api, stack, aws, providers, spec.get("duplicate"),
                             before_payment=lambda: armed.extend(_arm(spec, providers, proxy)))
    if "rule" in spec:
        assert spec["rule"].failed >= 1, "the fault was never injected: the rule matched nothing"
    assert all(fault.injected for fault in armed), "a provider's fault was never injected"
    # A write failed beyond retries sends its SQS record back (the relay's failure is the stream's to retry; an
    # "absorbed" one is let go by the function, which says why).
    if spec.get("whm_failures") or (spec.get("rule") and spec["rule"].times == BEYOND_RETRIES
                                    and spec["rule"].operation != "SendMessageBatch" and not spec.get("absorbed")):
        assert flow["redelivered"] >= 1, "the fault never reached the queue: it was not the one meant"
    if spec.get("absorbed"):
        assert flow["redelivered"] == 0, "a failure the function lets go (it says why) came back from the queue"
    assert _violations(flow, proxy, providers) == [], (fault, _violations(flow, proxy, providers))


@pytest.mark.parametrize("fault", sorted(RENEWAL_SAMPLE))
def test_the_invariants_hold_after_each_fault_of_a_renewal_paid_with_mercadopago(fault, api, stack, aws, catalog,
                                                                                  proxy, providers):
    spec = RENEWAL_SAMPLE[fault]
    armed = []
    flow = _renew_with_mercadopago(api, stack, aws, providers, spec.get("duplicate"),
                                   before_issue=lambda: proxy.rules.append(spec["issue_rule"]) if "issue_rule" in spec
                                   else None, before_payment=lambda: armed.extend(_arm(spec, providers, proxy)))
    for rule in (spec.get("rule"), spec.get("issue_rule")):
        assert rule is None or rule.failed >= 1, "the fault was never injected: the rule matched nothing"
    assert all(fault.injected for fault in armed), "a provider's fault was never injected"
    if "issue_rule" in spec:
        assert flow["issue_runs"] > 1, "the sweep's failed step was not left for a later run"
    if "mercadopago" in spec:
        assert flow["redelivered"] >= 1, "the lookup's failure did not send the notification back to the queue"
    assert _violations(flow, proxy, providers) == [], (fault, _violations(flow, proxy, providers))


@pytest.mark.skipif(os.environ.get("FAULTS") != "all", reason="the whole matrix: make faults")
@pytest.mark.parametrize("flow_name", ["payment", "renewal"])
@pytest.mark.parametrize(("operation", "error"), [("TransactWriteItems", "throttle"),
                                                  ("TransactWriteItems", "conflict"), ("PutItem", "throttle")])
def test_the_invariants_hold_with_a_fault_at_every_write_of_the_flow(flow_name, operation, error, api, stack, aws,
                                                                     catalog, proxy, providers, backoff):
    """The flow's writes counted in a clean run; then, one new client's flow at a time, the k-th fails."""
    def run(n: int, arm: Callable[[], None]) -> dict:
        if flow_name == "payment":
            return _pay_and_activate(api, stack, aws, providers, n=n, before_payment=arm)
        return _renew_with_mercadopago(api, stack, aws, providers, n=n, before_issue=arm)

    started = time.monotonic()
    run(0, proxy.writes.clear)
    writes = proxy.writes[operation]
    report = []
    for k in range(1, writes + 1):
        rule = Rule(operation, error, skip=k - 1, times=BEYOND_RETRIES if error == "throttle" else 1)
        flow = run(k, lambda rule=rule: proxy.rules.append(rule))
        proxy.rules.clear()
        report.append((k, rule.failed, _violations(flow, proxy, providers)))
    print(f"\nfaults ({flow_name}: {operation} {error}): {len(report)} writes of the flow, "
          f"{sum(1 for _, failed, _ in report if failed)} faults injected, "
          f"{sum(len(v) for *_, v in report)} invariant violations; {time.monotonic() - started:.0f} s, "
          f"of which botocore's backoff would have slept {backoff.waited:.0f} s")
    assert [(k, v) for k, _, v in report if v] == []


# --- tickets: no deadline lost --------------------------------------------------------------------------------

def TICKET_WRITE(body: bytes) -> bool:  # noqa: N802
    return b'"Ticket"' in body


def _ticket_flow(api, stack, aws, proxy: FaultProxy, sweep_rule: Rule | None, reply_rule: Rule | None) -> dict:
    """A client's ticket waits on staff past the warning time of its first-response deadline: the one-minute SLA
    sweep warns (``sweep_rule`` fails its first run's write), then staff answer (``reply_rule`` fails the first
    attempt, which must answer 503 and change nothing, and staff send it again)."""
    made = api.call("POST", "/clients", body={"email": "tickets-fallas@ejemplo.com.ar", "password": "Segura123",
                                              "name": "Cliente Tickets"})
    holder = claims_for(client_id=made.json()["client_id"], sub="sub-faults-holder")
    opened = api.call("POST", "/me/tickets", claims=holder, body={
        "subject": "No carga mi sitio", "body": "Desde esta mañana da error 500."})
    assert opened.status == 201, opened
    ticket_id = opened.json()["ticket_id"]
    ticket = next(t for t in invariants.by_entity(_table())["Ticket"] if t["ticket_id"] == ticket_id)
    _move_clock_to(from_storage(ticket["response"]["warn_at"]) + timedelta(seconds=30))
    if sweep_rule:
        proxy.rules.append(sweep_rule)
    runtime, runs = Runtime(stack), 0
    while not runtime.invoke("TicketSweepFunction", {})["sla_warning"]:
        runs += 1
        assert runs < 4, "the sweep never warned"
        shift_system_clock(timedelta(minutes=1))  # its schedule: every minute
    if reply_rule:
        proxy.rules.append(reply_rule)
        failed = api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF,
                          body={"body": "Estamos revisando el servidor."})
        assert failed.status == 503 and failed.json()["code"] == "service_unavailable", failed
        proxy.rules.remove(reply_rule)  # DynamoDB is back
    answered = api.call("POST", f"/staff/tickets/{ticket_id}/replies", claims=STAFF,
                        body={"body": "Estamos revisando el servidor."})
    assert answered.status == 200, answered
    relay(stack, aws, resume=True)
    return {"ticket_id": ticket_id, "sweep_runs": runs + 1}


def _ticket_violations(flow: dict, proxy: FaultProxy) -> list[str]:
    by, found = _shared_violations(proxy)
    warnings = [e for e in by["Event"] if e["type"] == "ticket.sla_warning"
                and json.loads(e["payload"]).get("ticket_id") == flow["ticket_id"]]
    if len(warnings) != 1:
        found.append(f"{len(warnings)} SLA warnings for one deadline")
    replies = [m for m in by["TicketMessage"] if m["ticket_id"] == flow["ticket_id"] and m["author_role"] == "staff"]
    if len(replies) != 1:
        found.append(f"{len(replies)} staff replies kept for one sent (a failed attempt wrote one)")
    ticket = next(t for t in by["Ticket"] if t["ticket_id"] == flow["ticket_id"])
    if not (ticket.get("response") or {}).get("met_at") or not ticket.get("first_response_at"):
        found.append("the first response is not recorded as met")
    return found


TICKET_SAMPLE = {
    "the SLA sweep's write throttled beyond retries": dict(sweep=True),
    "the SLA sweep's write in a transaction conflict": dict(sweep=True, error="conflict"),
    "staff's reply throttled beyond retries (503, then sent again)": dict(reply=True),
}


@pytest.mark.parametrize("fault", sorted(TICKET_SAMPLE))
def test_no_ticket_deadline_is_lost_after_each_fault(fault, api, stack, aws, catalog, proxy):
    spec = TICKET_SAMPLE[fault]
    error = spec.get("error", "throttle")
    rule = Rule("TransactWriteItems", error, TICKET_WRITE, times=BEYOND_RETRIES if error == "throttle" else 1)
    flow = _ticket_flow(api, stack, aws, proxy, rule if spec.get("sweep") else None,
                        rule if spec.get("reply") else None)
    assert rule.failed >= 1, "the fault was never injected: the rule matched nothing"
    if spec.get("sweep") and error == "throttle":
        assert flow["sweep_runs"] > 1, "the failed warning was not left for the next run"
    assert _ticket_violations(flow, proxy) == [], (fault, _ticket_violations(flow, proxy))
