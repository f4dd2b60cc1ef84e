"""WhatsApp fan-out at scale (run by tools/bench in its own process): N events x 3 recipients.

The real functions run on moto with the template's queues, as their event sources would drive them:
outbox relay (stream records of N `invoice.paid` events) -> AlertsQueue -> fan-out -> DeliveriesQueue
-> sender -> the loopback WhatsApp API. Counted at the moto server: every SQS call our code makes
(ReceiveMessage/DeleteMessage are the Lambda event source's, listed apart). Targets (issue 5): WhatsApp
sends equal deliveries exactly; our SQS calls <= deliveries / 10 + events.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENT_SOURCE_CALLS = {"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"}


class SqsCounter:
    """WSGI middleware in front of moto: records every SQS API call (JSON protocol) that reaches it."""

    def __init__(self, app):
        self.app = app
        self.calls: Counter[str] = Counter()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonSQS."):
            self.calls[target.split(".", 1)[1]] += 1
        return self.app(environ, start_response)


def _drain(sqs, queue_url: str, runtime, function: str) -> int:
    """Feed a queue to its function ten at a time, deleting what it did not report as failed."""
    invocations = 0
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return invocations
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]} for m in got]
        result = runtime.invoke(function, {"Records": records})
        invocations += 1
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        done = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)
                if r["messageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)


def measure(events: int) -> dict:
    sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.fake_whatsapp import FakeWhatsApp
    from devstack.runtime import ENV_OVERRIDES, Runtime, ensure_import_path

    aws = EmbeddedAws().start()
    aws.export()
    counter = SqsCounter(aws._server.app)
    aws._server.app = counter
    whatsapp = FakeWhatsApp("bench-token", "100200300").start()
    try:
        session = boto3.Session(region_name="us-east-1")
        stack = provision(session)
        for function in stack.functions.values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ENV_OVERRIDES.update({"WHATSAPP_API_URL": whatsapp.url, "WHATSAPP_PHONE_NUMBER_ID": "100200300",
                              "QUIET_HOURS": "", "POWERTOOLS_LOG_LEVEL": "ERROR"})
        ensure_import_path()
        secret = {"access_token": "bench-token", "app_secret": "x", "verify_token": "x"}
        session.client("secretsmanager").put_secret_value(SecretId=stack.refs["WhatsAppSecrets"],
                                                          SecretString=json.dumps(secret))
        from shared.clock import to_storage
        from shared.dal.accounts import Client, Contact
        from shared.dal.alerts import Delivery
        from shared.dal.table import TableItem
        from shared.events import EventType, new_event
        from shared.ids import new_id

        now = datetime.now(UTC)
        client_id = new_id()
        Client(*Client.key(client_id), client_id=client_id, email="bench@ejemplo.com.ar", name="Bench",
               phone="+5491100000000", whatsapp_opt_in=True, created_at=to_storage(now),
               updated_at=to_storage(now)).save()
        for n in (1, 2):
            contact_id = new_id()
            Contact(*Contact.key(client_id, contact_id), client_id=client_id, contact_id=contact_id,
                    email=f"bench{n}@ejemplo.com.ar", name=f"Contacto {n}", permissions=["invoices"],
                    phone=f"+549110000000{n}", whatsapp_opt_in=True, created_at=to_storage(now)).save()
        runtime = Runtime(stack)
        sqs = session.client("sqs")
        counter.calls.clear()
        started = time.monotonic()
        for start in range(0, events, 100):  # the stream event source's batch size
            records = []
            for i in range(start, min(start + 100, events)):
                record = new_event(EventType.INVOICE_PAID, client_id=client_id, occurred_at=now, payload={
                    "invoice_id": new_id(), "total": 15000, "currency": "ARS", "provider": "mercadopago"})
                records.append({"eventName": "INSERT",
                                "dynamodb": {"NewImage": record.serialize(), "SequenceNumber": str(i + 1)}})
            runtime.invoke("OutboxRelayFunction", {"Records": records})
        fanouts = _drain(sqs, stack.refs["AlertsQueue"], runtime, "AlertsFanoutFunction")
        sends = _drain(sqs, stack.refs["DeliveriesQueue"], runtime, "AlertsSenderFunction")
        elapsed = time.monotonic() - started
        deliveries = [i for i in TableItem.scan() if isinstance(i, Delivery)]
        ours = {k: v for k, v in counter.calls.items() if k not in EVENT_SOURCE_CALLS}
        return {
            "events": events, "deliveries": len(deliveries), "sent": len(whatsapp.sent),
            "api_attempts": whatsapp.attempts, "statuses": dict(Counter(d.status for d in deliveries)),
            "sqs_ours": ours, "sqs_event_source": {k: v for k, v in counter.calls.items() if k in EVENT_SOURCE_CALLS},
            "fanout_invocations": fanouts, "sender_invocations": sends, "seconds": round(elapsed, 1),
        }
    finally:
        whatsapp.stop()
        aws.stop()


def report(result: dict) -> list[str]:
    deliveries, events = result["deliveries"], result["events"]
    ours = sum(result["sqs_ours"].values())
    budget = deliveries / 10 + events
    exact = result["sent"] == deliveries == events * 3
    return [
        f"## WhatsApp alerts: {events} events x 3 recipients",
        "",
        "| Events | Deliveries | WhatsApp sends | API calls | Our SQS calls | Budget (deliveries ÷ 10 + events) | "
        "Event-source SQS calls | Time s | |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---|",
        f"| {events} | {deliveries} | {result['sent']} | {result['api_attempts']} | {ours} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(result['sqs_ours'].items()))}) | ≤ {budget:.0f} "
        f"| {', '.join(f'{k} {v}' for k, v in sorted(result['sqs_event_source'].items()))} | {result['seconds']} "
        f"| {'✅' if exact and ours <= budget else '❌'} |",
        "",
        f"Sends must equal deliveries exactly (3 per event: holder + 2 contacts with `invoices`): "
        f"{'yes' if exact else 'NO'}. Delivery statuses: {result['statuses']}.",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the functions' EMF metrics: not part of the report
        result = measure(args.events)
    print("\n".join(report(result)))
