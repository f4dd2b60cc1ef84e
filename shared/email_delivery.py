"""Each email once per event and recipient, whichever function sends it (invoices, ticket replies).

The right to send is claimed first (a ``sending`` SentEmail, created only if absent), then SES is called, then
the record says ``sent`` or ``rejected``. A redelivered event finds the record and sends nothing; a transient
SES failure gives the claim back and raises, so the queue brings the event again (its DLQ after its retries);
an address SES refused for good is recorded and never tried again for that event. A claim left by a delivery
that died between claiming and recording (or whose record DynamoDB refused) is never sent again: after
CLAIM_TIMEOUT it is marked ``unknown``, since SES may have taken the email. A delivery whose record DynamoDB
refused after SES took the email does not raise (the event would come back for nothing).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.exceptions import PutError

from shared import outbound_email
from shared.clock import Clock, from_storage, to_storage
from shared.dal.mail import SentEmail, SentEmails
from shared.dal.table import save_one
from shared.errors import ConcurrentModification

logger = Logger(child=True)

# Longer than the visibility timeout of the queues that send email (180 s).
CLAIM_TIMEOUT = timedelta(minutes=5)
RECORD_DAYS = 400  # a SentEmail is kept past a year of redeliveries and audits, then TTL


@dataclass
class Courier:
    sent: SentEmails
    sesv2: Any
    clock: Clock
    # The stack's SES configuration set: its event destination reports bounces and complaints (functions/
    # email_feedback), which suppress the address.
    configuration_set: str | None = None


def _claim(courier: Courier, record: SentEmail, now: datetime) -> bool:
    try:
        save_one(record, SentEmail.pk.does_not_exist())
        return True
    except ConcurrentModification:
        pass
    found = courier.sent.find(record.event_id, record.recipient)
    if found is None or found.status != "sending" or from_storage(found.sent_at) > now - CLAIM_TIMEOUT:
        return False
    # Left by a delivery that died, or whose record DynamoDB refused, before or after SES took the email: we
    # cannot know which, and a second copy is worse than a missing one (as for WhatsApp alerts), so it is never
    # sent again, only marked for staff to see. (Taking it over sent emails twice under make faults.)
    found.status, found.error = "unknown", "Envío interrumpido: no se sabe si el correo salió; no se reintenta."
    try:
        save_one(found)
    except (ConcurrentModification, PutError):
        pass  # another delivery marked it, or DynamoDB refused: the next one marks it
    return False


def send_once(courier: Courier, email: outbound_email.OutgoingEmail, *, event_id: str, kind: str,
              client_id: str | None, message_id: str, message_id_domain: str) -> str | None:
    """Send ``email`` to its one recipient unless this event already did: "sent", "rejected", "suppressed" (the
    address bounced or complained), or None (done before, or being sent by another delivery now).
    TransientEmailFailure: retry the event later."""
    recipient = email.to[0]
    now = courier.clock.now()
    owner = f"CLIENT#{client_id}" if client_id else f"GUEST#{recipient.lower()}"
    record = SentEmail(*SentEmail.key(event_id, recipient), event_id=event_id, recipient=recipient,
                       client_id=client_id, kind=kind, subject=email.subject, status="sending",
                       sent_at=to_storage(now), gsi1pk=owner, gsi1sk=f"EMAIL#{to_storage(now)}#{event_id}",
                       expires_at=now + timedelta(days=RECORD_DAYS))
    if not _claim(courier, record, now):
        return None
    if courier.sent.suppression(recipient) is not None:
        record.status = "suppressed"  # bounced for good or complained: SES would only bounce it again
        save_one(record)
        return record.status
    try:
        record.ses_message_id = outbound_email.send(courier.sesv2, email, recipient,
                                                    message_id_domain=message_id_domain, message_id=message_id,
                                                    configuration_set=courier.configuration_set, now=now)
        record.status = "sent"
    except outbound_email.TransientEmailFailure:
        record.delete()  # its claim given back (version-checked: it is still ours)
        raise
    except outbound_email.PermanentEmailFailure as error:
        record.status, record.error = "rejected", f"{error.code}: {error}"[:500]
    _record_outcome(record)
    return record.status


def _record_outcome(record: SentEmail) -> None:
    """The claim becomes what happened (ours: version-checked). When DynamoDB refuses that write beyond its
    client's retries, it is tried once more, then let go: SES already has the email, and raising would only bring
    the event back. The claim stays "sending", and becomes "unknown" if the event ever comes back."""
    for attempt in (1, 2):
        try:
            save_one(record)
            return
        except PutError as error:
            if attempt == 2:
                logger.error("email sent, its record not saved", extra={
                    "event_id": record.event_id, "status": record.status, "code": error.cause_response_code})
