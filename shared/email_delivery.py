"""Each email once per event and recipient, whichever function sends it (invoices, ticket replies).

The right to send is claimed first (a ``sending`` SentEmail, created only if absent), then SES is called, then
the record says ``sent`` or ``rejected``. A redelivered event finds the record and sends nothing; a transient
SES failure gives the claim back and raises, so the queue brings the event again (its DLQ after its retries);
an address SES refused for good is recorded and never tried again for that event. A claim left by a delivery
that died between claiming and recording is taken over after CLAIM_TIMEOUT.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import outbound_email
from shared.clock import Clock, from_storage, to_storage
from shared.dal.mail import SentEmail, SentEmails
from shared.dal.table import save_one
from shared.errors import ConcurrentModification

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
    record.version = found.version  # take it over, once: a concurrent taker's version check fails
    try:
        save_one(record)
        return True
    except ConcurrentModification:
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
    save_one(record)  # ours (version-checked); a failure here leaves the claim, taken over after its timeout
    return record.status
