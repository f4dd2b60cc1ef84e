"""What one occurrence of each flow costs in AWS calls, counted on the local stack (run by tools/bench in its own
process; docs/scale.md prices them).

Each flow runs through the real handlers, queues, stream and sweeps of the local stack; a proxy in front of the
embedded AWS counts every call by service, the runtime counts every Lambda invocation, the fakes count what went to
WhatsApp. A flow is over when nothing but the event sources' polling has reached AWS for a few seconds. The event
sources' own polling (ReceiveMessage, GetRecords) is left out: in AWS it is the event source mapping's, not the
flow's, and it costs the same whatever the traffic (docs/scale.md counts it apart).
"""

import argparse
import contextlib
import io
import json
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET_S = 3.0  # longer than the pollers' idle wait (2 s): nothing left to run
POLLING = {"ReceiveMessage", "GetRecords", "GetShardIterator", "DescribeStream", "ListStreams", "GetQueueUrl",
           "GetQueueAttributes"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
SERVICES = {"DynamoDB_20120810": "DynamoDB", "AmazonSQS": "SQS", "AWSCognitoIdentityProviderService": "Cognito",
            "secretsmanager": "Secrets Manager", "TrentService": "KMS", "DynamoDBStreams_20120810": "Streams"}


class CallCounter:
    """WSGI middleware in front of moto: every call by service and operation, DynamoDB's written items (a
    transaction's items each cost 2 write units), and when the last call that was not polling came."""

    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()
        self.calls: Counter = Counter()
        self.written_items = 0
        self.last_work = time.monotonic()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        if target:
            prefix, _, operation = target.partition(".")
            service = SERVICES.get(prefix, prefix)
        elif environ.get("PATH_INFO") == "/v2/email/outbound-emails":
            service, operation = "SES", "SendEmail"
        else:
            service, operation = "S3 and others", environ.get("REQUEST_METHOD", "")
        body = b""
        if operation in WRITES:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        with self.lock:
            if operation not in POLLING:
                self.calls[(service, operation)] += 1
                self.last_work = time.monotonic()
            if operation == "TransactWriteItems":
                self.written_items += 2 * len(json.loads(body).get("TransactItems", []))
            elif operation in WRITES:
                self.written_items += 1
        return self.app(environ, start_response)

    def take(self) -> tuple[Counter, int]:
        with self.lock:
            taken, items = self.calls.copy(), self.written_items
            self.calls.clear()
            self.written_items = 0
        return taken, items

    def wait_quiet(self, idle: Callable[[], bool], limit_s: float = 120) -> None:
        """Until no call but polling for QUIET_S and ``idle()`` (no invocation running)."""
        started = time.monotonic()
        while time.monotonic() - self.last_work < QUIET_S or not idle():
            if time.monotonic() - started > limit_s:
                raise SystemExit("the flow did not settle")
            time.sleep(0.2)


def _call(url: str, method: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": token} if token else {})})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        raw = response.read()
        return json.loads(raw) if raw else {}


def measure() -> list[dict]:
    sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
    from devstack.runtime import ENV_OVERRIDES
    from devstack.stack import LocalStack

    ENV_OVERRIDES["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the report is this process's output
    ENV_OVERRIDES["QUIET_HOURS"] = ""  # the sweeps run at midnight: their alerts go at once, and count in the flow
    stack = LocalStack(port=0, aws_port=0, seed=True, schedules=False).start()
    from devstack.cfn import load_template
    from shared.clock import SystemClock, from_storage, shift_system_clock
    from shared.dal.accounts import Client
    from shared.dal.billing import Invoice
    from shared.dal.services import Service

    counter = CallCounter(stack.aws._server.app)
    stack.aws._server.app = counter  # werkzeug reads server.app on each request
    api_functions = {name for name, resource in load_template()["Resources"].items()
                     if any(e.get("Type") == "Api" for e in resource.get("Properties", {}).get("Events", {}).values())}
    invocations: Counter = Counter()
    running = [0]  # invocations in flight: a flow is not over while one runs (a PDF, a WHM call)
    lock = threading.Lock()
    invoke = stack.runtime.invoke

    def counted(logical_id, event):
        with lock:
            invocations[logical_id] += 1
            running[0] += 1
        try:
            return invoke(logical_id, event)
        finally:
            with lock:
                running[0] -= 1

    stack.runtime.invoke = counted
    rows = []

    def settle() -> None:
        counter.wait_quiet(lambda: running[0] == 0)

    def measured(run) -> dict:
        """One stretch of a flow: what ran from ``run`` until everything it set off settled. Nothing of the bench's
        own reaches AWS inside it: what a stretch needs to know is read before it."""
        settle()
        counter.take()
        with lock:
            invocations.clear()
        whatsapp_before = len(stack.whatsapp.sent)
        run()
        settle()
        calls, items = counter.take()
        with lock:
            ran = invocations.copy()
        return {"calls": calls, "written_items": items, "invocations": ran,
                "whatsapp": len(stack.whatsapp.sent) - whatsapp_before}

    def flow(name: str, *stretches) -> None:
        """A flow of one or more stretches; a stretch given as ``(run, False)`` runs unmeasured."""
        row = {"flow": name, "calls": Counter(), "written_items": 0, "invocations": Counter(), "whatsapp": 0}
        for stretch in stretches:
            run, counts = stretch if isinstance(stretch, tuple) else (stretch, True)
            if not counts:
                settle()
                run()
                continue
            part = measured(run)
            row["calls"] += part["calls"]
            row["invocations"] += part["invocations"]
            row["written_items"] += part["written_items"]
            row["whatsapp"] += part["whatsapp"]
        row["api"] = sum(n for f, n in row["invocations"].items() if f in api_functions)
        rows.append(row)

    def pay(invoice_id: str, amount: int, currency: str) -> None:
        """Mercado Pago's payment and its signed webhook, at the test clock's time (as /local/payments does, without
        its look-up of the invoice: a provider does not read our table)."""
        payment_id = stack.mercadopago.create_payment(amount=Decimal(amount) / 100, currency=currency,
                                                      external_reference=invoice_id)
        query, headers, body = stack.mercadopago.signed_notification(
            payment_id, ts=int(SystemClock().now().timestamp() * 1000))
        request = urllib.request.Request(f"{stack.url}/webhooks/mercadopago?{query}", data=body, headers=headers,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=60):  # noqa: S310 (loopback)
            pass

    try:
        url = stack.url
        staff = stack.token_for("staff@ejemplo.com.ar", "Demo1234")
        client_id = next(c.client_id for c in Client.scan() if isinstance(c, Client)  # bench-only look-up
                         and c.email == "demo@ejemplo.com.ar")
        holder = [""]

        def sign_in():
            holder[0] = stack.token_for("demo@ejemplo.com.ar", "Demo1234")
            _call(f"{url}/me", "GET", token=holder[0])
            _call(f"{url}/me/accounts", "GET", token=holder[0])

        flow("sign-in (Cognito, `GET /me`, `GET /me/accounts`)", sign_in)
        flow("service list (`GET /me/services`)", lambda: _call(f"{url}/me/services", "GET", token=holder[0]))
        # Monthly, so that its renewal comes within weeks; ordered two days and a few hours after the demo data's
        # services, so that no renewal of theirs comes due at the same time as its own (the sweep would take both,
        # and theirs would count in this flow).
        shift_system_clock(timedelta(days=2, hours=5))
        order = _call(f"{url}/staff/clients/{client_id}/orders", "POST", {
            "product_id": "hosting-inicial", "billing_cycle": "monthly", "domain": "bench-flows.com.ar"}, staff)
        service_id, invoice = order["service"]["service_id"], order["invoice"]
        flow("payment → active service (Mercado Pago's webhook to the alerts sent)",
             lambda: pay(invoice["invoice_id"], invoice["total"]["amount"], invoice["total"]["currency"]))
        if Service.get(*Service.key(service_id)).status != "active":
            raise SystemExit("the payment flow ended without the service active")

        swept: Counter = Counter()
        known: dict = {}

        def before_step() -> None:
            """Unmeasured: a minute before the service's next step (its entry on the by_due index), the sweep takes
            whatever of the demo data came due on the way, so that the measured run finds only this service due."""
            known["step_at"] = from_storage(Service.get(*Service.key(service_id)).due_sk.split("#")[0])
            shift_system_clock(known["step_at"] - timedelta(minutes=1) - SystemClock().now())
            stack.runtime.invoke("RenewalSweepFunction", {})

        def read_renewal() -> None:
            renewal = Invoice.get(*Invoice.key(Service.get(*Service.key(service_id)).renewal_invoice_id))
            known["renewal"] = (renewal.invoice_id, int(renewal.total) - int(renewal.amount_paid), renewal.currency)

        def step() -> None:
            shift_system_clock(known["step_at"] + timedelta(minutes=1) - SystemClock().now())
            swept.update(stack.runtime.invoke("RenewalSweepFunction", {}))

        flow("renewal (the sweep's invoice, its payment by Mercado Pago, the new period)",
             (before_step, False), step, (read_renewal, False), lambda: pay(*known["renewal"]),
             (before_step, False), step)
        if swept["issue_renewal"] != 1 or swept["advance"] != 1:
            raise SystemExit(f"the renewal flow's measured runs took other services' steps: {dict(swept)}")

        def ticket():
            made = _call(f"{url}/me/tickets", "POST", {"subject": "No carga mi sitio",
                                                      "body": "Da error 500 desde esta mañana."}, holder[0])
            path = f"{url}/staff/tickets/{made['ticket_id']}/replies"
            _call(path, "POST", {"body": "Lo estamos revisando."}, staff)
            _call(f"{url}/me/tickets/{made['ticket_id']}/replies", "POST", {"body": "Sigue igual."}, holder[0])
            _call(path, "POST", {"body": "Listo: era la caché."}, staff)

        flow("ticket with 2 staff replies and 1 client reply", ticket)
        return rows
    finally:
        stack.stop()


def report(rows: list[dict]) -> list[str]:
    lines = [
        "## What one occurrence of each flow costs (local stack, counted)",
        "",
        "Every AWS call of the flow at the embedded AWS, every Lambda invocation, every WhatsApp message, until",
        "nothing it set off is still running; the event sources' polling left out. DynamoDB items written: a",
        "transaction's items count twice, as DynamoDB bills them (a write unit per KB of each).",
        "",
        "| Flow | API requests | Lambda invocations | DynamoDB requests (writes) | DynamoDB items written "
        "| SQS requests | SES emails | WhatsApp | Other AWS calls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        calls: Counter = row["calls"]
        dynamodb = sum(n for (service, _), n in calls.items() if service == "DynamoDB")
        writes = sum(n for (service, op), n in calls.items() if service == "DynamoDB" and op in WRITES)
        sqs = sum(n for (service, _), n in calls.items() if service == "SQS")
        ses = calls[("SES", "SendEmail")]
        other = Counter()
        for (service, _), n in calls.items():
            if service not in ("DynamoDB", "SQS", "SES"):
                other[service] += n
        functions = ", ".join(f"{name.removesuffix('Function')} {n}" for name, n in sorted(row["invocations"].items()))
        lines.append(
            f"| {row['flow']} | {row['api']} | {sum(row['invocations'].values())} ({functions}) | {dynamodb} "
            f"({writes}) | {row['written_items']} | {sqs} | {ses} | {row['whatsapp']} "
            f"| {', '.join(f'{s} {n}' for s, n in sorted(other.items())) or '-'} |")
    return lines


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with contextlib.redirect_stdout(io.StringIO()):  # the local stack's EMF metrics: not part of the report
        measured = measure()
    print("\n".join(report(measured)))
