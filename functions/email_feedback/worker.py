"""SES's feedback on what we sent (the configuration set's event destination: SNS, then MailFeedbackQueue):
a permanent bounce or a complaint suppresses the address (shared/dal/mail.py SuppressedAddress), and
shared/email_delivery sends it nothing more — no invoice, no ticket copy — until staff lift it. A transient
bounce (a full mailbox, a greylisting server) suppresses nothing: SES already retried it for hours.

Event shapes (SES developer guide, "Contents of event data that Amazon SES publishes to Amazon SNS"):
``{"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
"bouncedRecipients": [{"emailAddress", "status", "diagnosticCode"}], "feedbackId"}, "mail": {...}}`` and
``{"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress"}],
"complaintFeedbackType", "feedbackId"}}``; identity notifications say ``notificationType`` instead. The SQS
body is the SNS envelope (its ``Message``) or, with raw message delivery, the event itself.
"""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.batch import process_sqs
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.mail import SuppressedAddress
from shared.dal.table import save_one
from shared.errors import ConcurrentModification

logger = Logger()
clock = SystemClock()


def event_of(body: str) -> dict[str, Any]:
    message = json.loads(body)
    if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
        message = json.loads(message["Message"])
    return message if isinstance(message, dict) else {}


def suppressions(event: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(address, reason, detail, feedback id) of each address the event says we must stop mailing."""
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = event.get("bounce") if isinstance(event.get("bounce"), dict) else {}
        if bounce.get("bounceType") != "Permanent":
            return []
        found = []
        for recipient in [r for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]:
            status, diagnostic = recipient.get("status") or "", recipient.get("diagnosticCode") or ""
            why = f"{bounce.get('bounceSubType')}: {status} {diagnostic}"
            found.append((str(recipient.get("emailAddress") or ""), "bounce", why.strip()[:500],
                          str(bounce.get("feedbackId") or "")))
        return found
    if kind == "Complaint":
        complaint = event.get("complaint") if isinstance(event.get("complaint"), dict) else {}
        feedback_type = str(complaint.get("complaintFeedbackType") or "")[:500]
        return [(str(r.get("emailAddress") or ""), "complaint", feedback_type, str(complaint.get("feedbackId") or ""))
                for r in complaint.get("complainedRecipients") or [] if isinstance(r, dict)]
    return []


def suppress(clock: Clock, address: str, reason: str, detail: str, feedback_id: str) -> str:
    address = address.strip().lower()
    if "@" not in address:
        return "ignored"
    record = SuppressedAddress(*SuppressedAddress.key(address), address=address, reason=reason,
                               detail=detail or None, feedback_id=feedback_id or "-",
                               suppressed_at=to_storage(clock.now()), gsi1pk="SUPPRESSED")
    record.gsi1sk = f"{record.suppressed_at}#{address}"
    try:
        save_one(record, SuppressedAddress.pk.does_not_exist())  # the first reason stands; a repeat is nothing
    except ConcurrentModification:
        return "already"
    return "suppressed"


def _record(record: SQSRecord) -> None:
    event = event_of(record.body)
    for address, reason, detail, feedback_id in suppressions(event):
        outcome = suppress(clock, address, reason, detail, feedback_id)
        logger.info("email feedback", extra={"reason": reason, "outcome": outcome, "feedback_id": feedback_id})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, _record, context)
