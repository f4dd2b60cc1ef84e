"""The outbox relay (stream -> alerts queue) and the overdue-invoice sweep."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from devstack.runtime import Runtime
from devstack.workers import StreamPoller
from shared.clock import FixedClock
from shared.dal.catalog import Product
from shared.dal.outbox import EventRecord
from shared.dal.table import TableItem
from shared.events import EventType, new_event
from tests.integration.conftest import claims_for


def _drain(queue_url):
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not got.get("Messages"):
            return bodies
        for message in got["Messages"]:
            bodies.append((json.loads(message["Body"]), message["MessageAttributes"]["event_type"]["StringValue"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _relay_poller(stack, aws):
    function = stack.functions["OutboxRelayFunction"]
    (_, props), = function.events_of("DynamoDB")
    return StreamPoller(boto3.Session(region_name="us-east-1"), Runtime(stack), function, props, stack, aws)


def test_relay_publishes_each_outbox_event_once_and_skips_other_items(api, stack, aws):
    poller = _relay_poller(stack, aws)
    client_id = api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123",
                                                   "name": "Ana"}).json()["client_id"]
    api.call("PATCH", "/me", claims=claims_for(client_id=client_id), body={"company": "Ana SRL"})

    while poller.poll_once():
        pass

    published = _drain(stack.refs["AlertsQueue"])
    stored = {e.event_id: e for e in TableItem.scan() if isinstance(e, EventRecord)}
    assert sorted(b["id"] for b, _ in published) == sorted(stored)
    assert sorted(t for _, t in published) == ["client.registered", "client.updated"]
    envelope = next(b for b, t in published if t == "client.registered")
    assert set(envelope) == {"id", "type", "occurred_at", "client_id", "payload", "version"}
    assert envelope["client_id"] == client_id and envelope["payload"]["email"] == "ana@ejemplo.com.ar"


def test_relay_failure_loses_nothing_and_retries_from_the_failed_record(api, stack, aws, monkeypatch):
    poller = _relay_poller(stack, aws)
    poller.max_retries = 2
    api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"})
    good_url = stack.refs["AlertsQueue"]
    monkeypatch.setenv("ALERTS_QUEUE_URL", good_url + "-missing")  # SQS refuses: the publish fails

    assert poller.poll_once() is True  # invoked, failure reported, shard rewound
    assert _drain(good_url) == []

    monkeypatch.setenv("ALERTS_QUEUE_URL", good_url)  # SQS is back
    while poller.poll_once():
        pass
    assert [t for _, t in _drain(good_url)] == ["client.registered"]


def test_relay_gives_up_to_the_failure_destination_after_its_retries(api, stack, aws, monkeypatch):
    poller = _relay_poller(stack, aws)
    poller.max_retries = 1
    api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"})
    monkeypatch.setenv("ALERTS_QUEUE_URL", stack.refs["AlertsQueue"] + "-missing")

    for _ in range(3):
        poller.poll_once()

    failures = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=stack.refs["OutboxRelayFailureQueue"])["Messages"]
    info = json.loads(failures[0]["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] >= 1 and info["streamArn"] == stack.attrs["Table"]["StreamArn"]


@pytest.fixture
def overdue_invoice(api, store, now):
    return _ordered_invoice(api, store, now)


def _ordered_invoice(api, store, at):
    from devstack.seed import CATALOG

    for spec in CATALOG:
        store.put_product(Product(*Product.key(spec["product_id"]), **spec))
    client_id = api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123",
                                                   "name": "Ana"}).json()["client_id"]
    from orders.logic import create_order
    from orders.schemas import CreateOrder

    from shared.auth import Identity, Role

    staff = Identity(subject="staff-1", email=None, role=Role.STAFF, client_id=None)
    order = create_order(store.answers,
                         boto3.client("kms", region_name="us-east-1"), FixedClock(at), staff, client_id,
                         CreateOrder(product_id="hosting-inicial", billing_cycle="annually"))
    return order.invoice.invoice_id


def _overdue_events():
    return [e for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == "invoice.overdue"]


def test_unpaid_invoices_are_reminded_on_the_schedule_not_every_day(store, overdue_invoice, now):
    from billing.reminders import remind_unpaid_invoices

    # Issued on the 25th (local), due on the 28th: the schedule is -3 (the issue day: its own alert said it),
    # 0, +1, +3 and +7 days.
    def remind(days):
        return remind_unpaid_invoices(store.billing, FixedClock(now + timedelta(days=days)))

    assert remind(2) == 0  # the 27th: nothing yet
    assert (remind(3), remind(3)) == (1, 0)  # the due day, once
    assert (remind(4), remind(5)) == (1, 0)  # +1; the 30th is no stage
    assert remind(20) == 1  # after a gap, only the latest stage that passed (+7), not a burst
    assert remind(60) == 0  # the schedule is over: off the index

    events = [e for e in TableItem.scan() if isinstance(e, EventRecord)
              and e.type in ("invoice.reminder", "invoice.overdue")]
    payloads = sorted((json.loads(e.payload) | {"type": e.type} for e in events), key=lambda p: p["days_overdue"]
                      if "days_overdue" in p else -p["days_left"])
    assert [(p["type"], p.get("days_left", p.get("days_overdue"))) for p in payloads] == [
        ("invoice.reminder", 0), ("invoice.overdue", 1), ("invoice.overdue", 17)]
    assert {p["invoice_id"] for p in payloads} == {overdue_invoice}


def test_free_orders_are_born_paid_and_never_overdue(api, store, now):
    from billing.reminders import remind_unpaid_invoices
    from orders.logic import create_order
    from orders.schemas import CreateOrder

    from shared.auth import Identity, Role

    _ordered_invoice(api, store, now)  # a paid-for one beside it, to show the sweep does run
    client_id = api.call("GET", "/me", claims=claims_for(client_id=_client_ids()[0])).json()["account"]["client_id"]
    staff = Identity(subject="staff-1", email=None, role=Role.STAFF, client_id=None)
    order = create_order(store.answers,
                         boto3.client("kms", region_name="us-east-1"), FixedClock(now), staff, client_id,
                         CreateOrder(product_id="soporte-standard", billing_cycle="monthly"))

    assert order.invoice.status == "paid" and order.invoice.total.amount == 0
    assert remind_unpaid_invoices(store.billing, FixedClock(now + timedelta(days=30))) == 1  # only the paid-for one
    paid_events = [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord)
                   and e.type == "invoice.paid"]
    assert [p["invoice_id"] for p in paid_events] == [order.invoice.invoice_id]


def _client_ids():
    from shared.dal.accounts import Client

    return [c.client_id for c in TableItem.scan() if isinstance(c, Client)]


def test_overdue_schedule_runs_through_the_handler(api, store, stack):
    # Ordered ten days ago by the system clock the handler uses: due a week ago.
    invoice_id = _ordered_invoice(api, store, datetime.now(UTC) - timedelta(days=10))
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}

    first = Runtime(stack).invoke("OverdueInvoicesFunction", event)
    again = Runtime(stack).invoke("OverdueInvoicesFunction", event)

    assert (first, again) == ({"reminded": 1}, {"reminded": 0})
    assert [json.loads(e.payload)["invoice_id"] for e in _overdue_events()] == [invoice_id]


def test_a_time_range_of_outbox_events_can_be_republished_each_to_its_queue(api, stack, store, now):
    from tools.replay_outbox import replay

    for index, minutes in enumerate((0, 50, 70, 200)):  # the last two fall outside the range below
        event = new_event(EventType.CLIENT_UPDATED, client_id=f"C{index}", payload={"n": index},
                          occurred_at=now + timedelta(minutes=minutes))
        store.save_with_events([], [event])
    # A command in the range: replayed to its worker's queue, as the relay routes it (it was lost before).
    command = new_event(EventType.SERVICE_PROVISIONING_REQUESTED, client_id="C9",
                        occurred_at=now + timedelta(minutes=5),
                        payload={"service_id": "S1", "action": "create", "module": "cpanel"})
    store.save_with_events([], [command])
    sqs = boto3.client("sqs", region_name="us-east-1")
    queues = {"*": (stack.refs["AlertsQueue"],), "service.provisioning_requested": (stack.refs["ProvisioningQueue"],)}

    sent = replay(store.outbox, sqs, queues, now, now + timedelta(minutes=60))

    assert sent == 3
    assert sorted(body["payload"]["n"] for body, _ in _drain(stack.refs["AlertsQueue"])) == [0, 1]
    assert [body["id"] for body, _ in _drain(stack.refs["ProvisioningQueue"])] == [command.event_id]
