"""One relayed event -> its invoice document and its emails, each email once per recipient.

An invoice event makes (or refreshes) the invoice's PDF before mailing it: the number and the file exist
before anyone is told about them, whichever of the invoice's events arrives first (SQS does not keep their
order). A redelivered event finds what it already sent (SentEmail) and sends only the rest; an email SES
refused for good (a malformed or suppressed address) is recorded and not retried; anything transient raises,
and the message comes back from the queue (its DLQ after five receipts).
"""

from dataclasses import dataclass
from typing import Any

from documents import emails, invoice_documents
from documents.invoice_documents import Issuer, Numbering

from shared import email_delivery, outbound_email
from shared.clock import Clock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.mail import SentEmails
from shared.dal.services import Services
from shared.errors import NotFound
from shared.events import EventType

INVOICE_KINDS = {
    EventType.INVOICE_CREATED: "invoice_issued",
    EventType.INVOICE_RENEWAL_CREATED: "invoice_issued",
    EventType.INVOICE_PAID: "invoice_paid",
    EventType.INVOICE_OVERDUE: "invoice_overdue",
    EventType.INVOICE_REFUNDED: "invoice_refunded",  # its PDF made again (no email: the alert tells it)
}
# The events after which the stored PDF no longer says what the invoice is: it is rendered again.
RENDERED_AGAIN = ("invoice_paid", "invoice_overdue", "invoice_refunded")


@dataclass
class Mailer:
    billing: Billing
    accounts: Accounts
    services: Services
    sent: SentEmails
    s3: Any
    sesv2: Any
    bucket: str
    numbering: Numbering
    issuer: Issuer
    sender: str  # "Paneldecliente <facturacion@paneldecliente.com>"
    panel_url: str
    clock: Clock
    configuration_set: str | None = None  # bounces and complaints reported (functions/email_feedback)


def handle_event(mailer: Mailer, envelope: dict) -> list[str]:
    """What was emailed for this event: "<kind> <recipient>" each."""
    event_type = envelope.get("type")
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    if event_type in INVOICE_KINDS:
        return _invoice_event(mailer, envelope, INVOICE_KINDS[event_type], payload.get("invoice_id"))
    if event_type == EventType.SERVICE_ACTIVATED:
        return _service_enabled(mailer, envelope, payload.get("service_id"))
    if event_type == EventType.MIGRATION_REQUESTED and payload.get("option") == "self_service":
        # Help centre, option 2: "siga las instrucciones en el email … Habilitación del servicio" — sent again,
        # once for this migration.
        return _service_enabled(mailer, envelope, payload.get("service_id"),
                                once_as=f"migration-{payload.get('migration_id')}")
    return []


def _invoice_event(mailer: Mailer, envelope: dict, kind: str, invoice_id: Any) -> list[str]:
    invoice = mailer.billing.find_invoice(invoice_id)
    if invoice is None:
        return []
    if kind == "invoice_overdue" and invoice.balance <= 0:
        return []  # paid (or cancelled) since the sweep saw it
    if invoice.status == "cancelled" and not invoice.number:
        return []  # cancelled before it was announced (an upgrade withdrawn at once): no number, no email
    client, contacts = mailer.accounts.account_people(invoice.client_id)
    # Made when first needed, and again when what it says changed (S3 keeps the earlier versions).
    if invoice.document_key is None or kind in RENDERED_AGAIN:
        invoice, pdf = invoice_documents.make_document(mailer.billing, mailer.s3, mailer.bucket, mailer.numbering,
                                                       invoice, client, mailer.issuer)
    else:
        pdf = mailer.s3.get_object(Bucket=mailer.bucket, Key=invoice.document_key)["Body"].read()
    if invoice.total == 0 or kind == "invoice_refunded" or invoice.status == "cancelled":
        return []  # a free product's invoice, a refund (its alert tells it), a cancelled one: only the document
    mail = emails.invoice_mail(kind, invoice, mailer.panel_url)
    attachment = outbound_email.Attachment(invoice.document_filename, pdf)
    recipients = emails.invoice_recipients(client, contacts, invoice.service_ids())
    return _send(mailer, envelope, mail, recipients, invoice.client_id, (attachment,))


def _service_enabled(mailer: Mailer, envelope: dict, service_id: Any, once_as: str | None = None) -> list[str]:
    try:
        service = mailer.services.get_service(str(service_id or ""))
    except NotFound:
        return []
    client = mailer.accounts.account_people(service.client_id)[0]
    if client is None or not client.email:
        return []
    # Once per service, not per activation event: a service paid again after a refund is restored, and its
    # holder already has these instructions.
    once = {**envelope, "id": once_as or f"enabled-{service.service_id}"}
    return _send(mailer, once, emails.enabling_mail(service, mailer.panel_url), [client.email.lower()],
                 service.client_id, ())


def _send(mailer: Mailer, envelope: dict, mail: emails.Mail, recipients: list[str], client_id: str,
          attachments: tuple) -> list[str]:
    """Each recipient's email once (shared.email_delivery); a transient failure of one is raised after the
    others were sent, and the message is retried for the rest."""
    # Our own settings first, outside the per-recipient handling: a bad sender is ours to fix (the message goes
    # back to the queue, then its DLQ), never a recipient's permanent rejection.
    domain = outbound_email.parse_address("From", mailer.sender).domain
    courier = email_delivery.Courier(mailer.sent, mailer.sesv2, mailer.clock, mailer.configuration_set)
    done = []
    transient: outbound_email.TransientEmailFailure | None = None
    for recipient in recipients:
        email = outbound_email.OutgoingEmail(
            sender=mailer.sender, to=(recipient,), subject=mail.subject, text=mail.text, html=mail.html,
            attachments=attachments, headers=(("X-Paneldecliente-Event", envelope["id"]),),
        )
        try:
            status = email_delivery.send_once(
                courier, email, event_id=envelope["id"], kind=mail.kind, client_id=client_id,
                message_id=outbound_email.recipient_message_id(envelope["id"], recipient), message_id_domain=domain)
        except outbound_email.TransientEmailFailure as error:
            transient = error  # the others are still sent; this one is retried with the message
            continue
        if status is not None:
            done.append(f"{mail.kind} {recipient}" + ("" if status == "sent" else " (rechazado)"))
    if transient is not None:
        raise transient
    return done
