"""One relayed event -> its invoice document and its emails, each email once per recipient.

An invoice event makes (or refreshes) the invoice's PDF before mailing it: the number and the file exist
before anyone is told about them, whichever of the invoice's events arrives first (SQS does not keep their
order). A redelivered event finds what it already sent (SentEmail) and sends only the rest; an email SES
refused for good (a malformed or suppressed address) is recorded and not retried; anything transient raises,
and the message comes back from the queue (its DLQ after five receipts).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from documents import emails, invoice_documents
from documents.invoice_documents import Issuer, Numbering

from shared import outbound_email
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.mail import SentEmail, SentEmails
from shared.dal.services import Services
from shared.dal.table import save_one
from shared.errors import ConcurrentModification, NotFound
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
RECORD_DAYS = 400  # a SentEmail is kept past a year of redeliveries and audits, then TTL


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


def handle_event(mailer: Mailer, envelope: dict) -> list[str]:
    """What was emailed for this event: "<kind> <recipient>" each."""
    event_type = envelope.get("type")
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    if event_type in INVOICE_KINDS:
        return _invoice_event(mailer, envelope, INVOICE_KINDS[event_type], payload.get("invoice_id"))
    if event_type == EventType.SERVICE_ACTIVATED:
        return _service_enabled(mailer, envelope, payload.get("service_id"))
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
    return _send(mailer, envelope, mail, emails.invoice_recipients(client, contacts), invoice.client_id,
                 (attachment,))


def _service_enabled(mailer: Mailer, envelope: dict, service_id: Any) -> list[str]:
    try:
        service = mailer.services.get_service(str(service_id or ""))
    except NotFound:
        return []
    client = mailer.accounts.account_people(service.client_id)[0]
    if client is None or not client.email:
        return []
    # Once per service, not per activation event: a service paid again after a refund is restored, and its
    # holder already has these instructions.
    once = {**envelope, "id": f"enabled-{service.service_id}"}
    return _send(mailer, once, emails.enabling_mail(service, mailer.panel_url), [client.email.lower()],
                 service.client_id, ())


# A claim older than this is a delivery that died between claiming and recording (the queue's visibility
# timeout is 180 s): the next delivery takes it over.
CLAIM_TIMEOUT = timedelta(minutes=5)


def _claim(mailer: Mailer, record: SentEmail, now: datetime) -> bool:
    """Take the right to send this email: a new `sending` record, or one left by a delivery that died. False if
    it was sent, refused, or another delivery is sending it now."""
    try:
        save_one(record, SentEmail.pk.does_not_exist())
        return True
    except ConcurrentModification:
        pass
    found = mailer.sent.find(record.event_id, record.recipient)
    if found is None or found.status != "sending" or from_storage(found.sent_at) > now - CLAIM_TIMEOUT:
        return False
    record.version = found.version  # take it over, once: a concurrent taker's version check fails
    try:
        save_one(record)
        return True
    except ConcurrentModification:
        return False


def _send(mailer: Mailer, envelope: dict, mail: emails.Mail, recipients: list[str], client_id: str,
          attachments: tuple) -> list[str]:
    """Each recipient's email once: claimed (a `sending` SentEmail) before SES is called, then recorded `sent` or
    `rejected`; a transient failure gives the claim back, and the message is retried."""
    # Our own settings first, outside the per-recipient handling: a bad sender is ours to fix (the message goes
    # back to the queue, then its DLQ), never a recipient's permanent rejection.
    domain = outbound_email.parse_address("From", mailer.sender).domain
    done = []
    transient: outbound_email.TransientEmailFailure | None = None
    for recipient in recipients:
        now = mailer.clock.now()
        record = SentEmail(*SentEmail.key(envelope["id"], recipient), event_id=envelope["id"], recipient=recipient,
                           client_id=client_id, kind=mail.kind, subject=mail.subject, status="sending",
                           sent_at=to_storage(now), gsi1pk=f"CLIENT#{client_id}",
                           gsi1sk=f"EMAIL#{to_storage(now)}#{envelope['id']}", expires_at=_ttl(now))
        if not _claim(mailer, record, now):
            continue
        email = outbound_email.OutgoingEmail(
            sender=mailer.sender, to=(recipient,), subject=mail.subject, text=mail.text, html=mail.html,
            attachments=attachments, headers=(("X-Paneldecliente-Event", envelope["id"]),),
        )
        try:
            record.ses_message_id = outbound_email.send(
                mailer.sesv2, email, recipient, message_id_domain=domain,
                message_id=outbound_email.recipient_message_id(envelope["id"], recipient), now=now)
            record.status = "sent"
        except outbound_email.TransientEmailFailure as error:
            transient = error  # the others are still sent; this one is retried with the message
            record.delete()  # its claim given back (version-checked: it is still ours)
            continue
        except outbound_email.PermanentEmailFailure as error:
            record.status, record.error = "rejected", f"{error.code}: {error}"[:500]
        save_one(record)  # ours (version-checked); a failure here leaves the claim, taken over after its timeout
        done.append(f"{mail.kind} {recipient}" + ("" if record.status == "sent" else " (rechazado)"))
    if transient is not None:
        raise transient
    return done


def _ttl(now: datetime) -> datetime:
    return now + timedelta(days=RECORD_DAYS)


