"""Steps of the asynchronous flows, run as their AWS event sources would (shared by the integration tests)."""

from datetime import UTC, datetime

import boto3

from devstack.runtime import Runtime
from devstack.workers import StreamPoller
from shared.clock import FixedClock
from shared.dal.billing import Invoice


def pay(store, invoice_id, at=None):
    """Settle the invoice as a verified provider payment would (the payments tests cover the webhooks)."""
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.money import Currency, Money

    invoice = Invoice.get(*Invoice.key(invoice_id))
    paid = Money(int(invoice.total), Currency(invoice.currency))
    reported = ProviderPayment("mercadopago", f"mp-{invoice_id}", "approved", paid, invoice_id, "approved")
    return settle(store.billing, store.accounts, FixedClock(at or datetime.now(UTC)), reported)


def relay(stack, aws, resume: bool = False):
    """The outbox relay over the table's stream, from its start (already published events come again, as a
    stream's at-least-once delivery can bring them), or with ``resume`` from where the last resuming relay
    stopped, as Lambda's event source mapping keeps its checkpoint (a test that runs many flows would otherwise
    publish every earlier flow's events again at each relay, days of the test clock later)."""
    function = stack.functions["OutboxRelayFunction"]
    ((_, props),) = function.events_of("DynamoDB")
    poller = StreamPoller(boto3.Session(region_name="us-east-1"), Runtime(stack), function, props, stack, aws)
    poller.checkpoint = getattr(stack, "relay_checkpoint", None) if resume else None
    while poller.poll_once():
        pass
    if resume:
        stack.relay_checkpoint = poller.checkpoint


def _consume(stack, queue: str, function: str, drain: bool):
    """Run ``function`` on what ``queue`` holds (one receive, or all of it), as the SQS event source would."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    records = []
    while got := sqs.receive_message(QueueUrl=stack.refs[queue], MaxNumberOfMessages=10).get("Messages", []):
        records += [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                     "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"} for m in got]
        if not drain:
            break
    return records, Runtime(stack).invoke(function, {"Records": records})


def provision(stack):
    """Run the provisioning consumer on what the relay queued, as the SQS event source would."""
    return _consume(stack, "ProvisioningQueue", "ProvisioningFunction", drain=False)


def mail(stack):
    """Run the documents worker on what the relay put on the mail queue, as the SQS event source would."""
    return _consume(stack, "MailQueue", "DocumentsFunction", drain=True)


def settle_queued(stack):
    """Run the settlement worker on what the payment webhooks queued."""
    return _consume(stack, "PaymentsQueue", "PaymentSettlementFunction", drain=True)


def ticket_events(stack):
    """Run the tickets worker on what the relay put on the tickets queue (upgrade requests, plan changes)."""
    return _consume(stack, "TicketsQueue", "TicketsWorkerFunction", drain=True)


def email_feedback(stack):
    """Run the email-feedback worker on the SES bounce and complaint events its queue holds."""
    return _consume(stack, "MailFeedbackQueue", "EmailFeedbackFunction", drain=True)


def whatsapp_out(stack):
    """The alerts fan-out on what the relay put on its queue, then the sender on the deliveries it queued."""
    _consume(stack, "AlertsQueue", "AlertsFanoutFunction", drain=True)
    return _consume(stack, "DeliveriesQueue", "AlertsSenderFunction", drain=True)


def kb_index(stack):
    """The knowledge base's indexer on what the relay put on its queue, as the SQS event source would."""
    return _consume(stack, "KbIndexQueue", "KbIndexFunction", drain=True)


def feature_notices(stack):
    """The feature requests' notices worker on what the relay put on its queue."""
    return _consume(stack, "FeatureNoticesQueue", "FeatureNoticesFunction", drain=True)


def status_notices(stack):
    """The status page's notices worker on what the relay put on its queue."""
    return _consume(stack, "StatusNoticesQueue", "StatusNoticesFunction", drain=True)
