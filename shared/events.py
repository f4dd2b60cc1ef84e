"""Domain events and their envelope (docs/events.md is the catalog).

A state change and the event it causes are written in one DynamoDB transaction (the outbox item
is an EventRecord). The stream relay publishes each new EventRecord to its queue (``QUEUE_OF``);
delivery is at-least-once, so consumers dedupe by ``id``.
"""

import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.clock import to_storage
from shared.ids import id_at

if TYPE_CHECKING:
    from shared.dal.outbox import EventRecord

ENVELOPE_VERSION = 1
# Outbox items stay readable for audits after publication; DynamoDB TTL deletes them afterwards.
OUTBOX_RETENTION = timedelta(days=30)


class EventType(StrEnum):
    CLIENT_REGISTERED = "client.registered"
    CLIENT_UPDATED = "client.updated"
    CONTACT_ADDED = "contact.added"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_REMOVED = "contact.removed"
    SERVICE_ORDERED = "service.ordered"
    SERVICE_ACTIVATED = "service.activated"
    SERVICE_ACTIVATION_FAILED = "service.activation_failed"
    SERVICE_ACTIVATION_SCHEDULED = "service.activation_scheduled"
    SERVICE_PROVISIONING_REQUESTED = "service.provisioning_requested"
    INVOICE_CREATED = "invoice.created"
    INVOICE_PAID = "invoice.paid"
    INVOICE_OVERDUE = "invoice.overdue"
    INVOICE_REFUNDED = "invoice.refunded"
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_UNMATCHED = "payment.unmatched"
    PAYMENT_MISMATCHED = "payment.currency_mismatch"
    CLIENT_CREDITED = "client.credited"
    UPGRADE_ORDERED = "upgrade.ordered"
    UPGRADE_SCHEDULED = "upgrade.scheduled"
    UPGRADE_COMPLETED = "upgrade.completed"
    UPGRADE_CANCELLED = "upgrade.cancelled"
    UPGRADE_EXPIRED = "upgrade.expired"
    UPGRADE_REQUESTED = "upgrade.requested"
    UPGRADE_REQUEST_RESOLVED = "upgrade.request_resolved"
    UPGRADE_REVERTED = "upgrade.reverted"
    SERVICE_RESTORED = "service.restored"
    PAYMENT_REFUND_FIRST = "payment.refund_before_payment"
    PAYMENT_TO_REVIEW = "payment.to_review"
    INVOICE_REMINDER = "invoice.reminder"
    INVOICE_RENEWAL_CREATED = "invoice.renewal_created"
    SERVICE_RENEWED = "service.renewed"
    SERVICE_SUSPENDED = "service.suspended"
    SERVICE_UNSUSPENDED = "service.unsuspended"
    SERVICE_TERMINATED = "service.terminated"
    SERVICE_EXPIRED = "service.expired"
    SERVICE_CANCELLATION_REQUESTED = "service.cancellation_requested"
    SERVICE_CANCELLATION_WITHDRAWN = "service.cancellation_withdrawn"
    SERVICE_CANCELLED = "service.cancelled"
    SERVICE_CANCELLATION_DUE = "service.cancellation_due"
    BACKUP_RESTORE_REQUESTED = "backup.restore_requested"
    QUOTE_SENT = "quote.sent"
    QUOTE_ACCEPTED = "quote.accepted"
    QUOTE_DECLINED = "quote.declined"
    QUOTE_PAID = "quote.paid"
    TICKET_OPENED = "ticket.opened"
    TICKET_CLIENT_REPLIED = "ticket.client_replied"
    TICKET_ANSWERED = "ticket.answered"
    TICKET_CLOSED = "ticket.closed"
    TICKET_REOPENED = "ticket.reopened"
    TICKET_SLA_WARNING = "ticket.sla_warning"
    TICKET_SLA_BREACHED = "ticket.sla_breached"
    TICKET_AUTO_CLOSE_WARNING = "ticket.auto_close_warning"
    WHATSAPP_MESSAGE_RECEIVED = "whatsapp.message_received"
    WHATSAPP_REPLY_REQUESTED = "whatsapp.reply_requested"
    TRANSFER_REQUESTED = "transfer.requested"
    TRANSFER_OFFERED = "transfer.offered"
    TRANSFER_TO_CONFIRM = "transfer.to_confirm"
    TRANSFER_ACCEPTED = "transfer.accepted"
    TRANSFER_CLOSED = "transfer.closed"
    SERVICE_TRANSFERRED_OUT = "service.transferred_out"
    SERVICE_TRANSFERRED_IN = "service.transferred_in"
    TELEGRAM_MESSAGE_RECEIVED = "telegram.message_received"
    TELEGRAM_REPLY_REQUESTED = "telegram.reply_requested"
    EMAIL_SUPPRESSION_LIFTED = "email.suppression_lifted"
    REMOTE_SUPPORT_BOOKED = "remote_support.booked"
    REMOTE_SUPPORT_RESCHEDULED = "remote_support.rescheduled"
    REMOTE_SUPPORT_CANCELLED = "remote_support.cancelled"
    REMOTE_SUPPORT_REMINDER = "remote_support.reminder"
    REMOTE_SUPPORT_ENDED = "remote_support.ended"
    MIGRATION_REQUESTED = "migration.requested"
    MIGRATION_STATUS_CHANGED = "migration.status_changed"
    MIGRATION_ACCESS_REVEALED = "migration.access_revealed"
    MIGRATION_ACCESS_PURGED = "migration.access_purged"
    SERVICE_CREDENTIALS_REVEALED = "service.credentials_revealed"
    SERVICE_CREDENTIALS_ROTATED = "service.credentials_rotated"
    KB_ARTICLE_CHANGED = "kb.article_changed"
    FEATURE_REQUEST_STATUS_CHANGED = "feature_request.status_changed"
    FEATURE_REQUEST_STATUS_NOTICE = "feature_request.status_notice"
    # The status page's announcements (functions/status/notices.py tells each affected account) …
    STATUS_INCIDENT_OPENED = "status.incident_opened"
    STATUS_INCIDENT_RESOLVED = "status.incident_resolved"
    STATUS_MAINTENANCE_SCHEDULED = "status.maintenance_scheduled"
    STATUS_MAINTENANCE_REMINDER = "status.maintenance_reminder"
    # … and what one account is told of each (its alerts).
    STATUS_INCIDENT_OPENED_NOTICE = "status.incident_opened_notice"
    STATUS_INCIDENT_RESOLVED_NOTICE = "status.incident_resolved_notice"
    STATUS_MAINTENANCE_NOTICE = "status.maintenance_notice"
    STATUS_MAINTENANCE_REMINDER_NOTICE = "status.maintenance_reminder_notice"


# Where the relay and tools/replay_outbox.py send an event (the environment variable naming the queue):
# commands go to their worker's queue, every other event to the alerts queue, whose consumer fans out; the
# events that also make a document or an email go to the mail queue as well (functions/documents).
QUEUE_OF = {EventType.SERVICE_PROVISIONING_REQUESTED: "PROVISIONING_QUEUE_URL",
            EventType.SERVICE_CANCELLATION_DUE: "CANCELLATIONS_QUEUE_URL",
            EventType.KB_ARTICLE_CHANGED: "KB_INDEX_QUEUE_URL",  # the knowledge base's index rebuilt
            EventType.FEATURE_REQUEST_STATUS_CHANGED: "FEATURE_NOTICES_QUEUE_URL",  # each voting account told
            # each account with services on the affected servers told
            EventType.STATUS_INCIDENT_OPENED: "STATUS_NOTICES_QUEUE_URL",
            EventType.STATUS_INCIDENT_RESOLVED: "STATUS_NOTICES_QUEUE_URL",
            EventType.STATUS_MAINTENANCE_SCHEDULED: "STATUS_NOTICES_QUEUE_URL",
            EventType.STATUS_MAINTENANCE_REMINDER: "STATUS_NOTICES_QUEUE_URL"}
DEFAULT_QUEUE = "ALERTS_QUEUE_URL"
MAIL_QUEUE = "MAIL_QUEUE_URL"
MAILED = (EventType.INVOICE_CREATED, EventType.INVOICE_RENEWAL_CREATED, EventType.INVOICE_PAID,
          EventType.INVOICE_OVERDUE, EventType.INVOICE_REFUNDED, EventType.SERVICE_ACTIVATED,
          EventType.MIGRATION_REQUESTED)  # a self-service migration: the "Habilitación del servicio" instructions
TICKETS_QUEUE = "TICKETS_QUEUE_URL"
# A manual plan change becomes a ticket; a service that starts or stops may change the support plan in force;
# a staff reply is copied by email, a ticket opened by email acknowledged, an auto-close warned by email too
# (functions/tickets/email_copies.py).
TICKETED = (EventType.UPGRADE_REQUESTED, EventType.SERVICE_ACTIVATED, EventType.UPGRADE_COMPLETED,
            EventType.UPGRADE_REVERTED, EventType.SERVICE_SUSPENDED, EventType.SERVICE_UNSUSPENDED,
            EventType.SERVICE_CANCELLED, EventType.SERVICE_TERMINATED, EventType.TICKET_ANSWERED,
            EventType.TICKET_OPENED, EventType.TICKET_AUTO_CLOSE_WARNING,
            # who a phone number is (functions/tickets/phonebook.py), and what WhatsApp brought in
            EventType.CLIENT_REGISTERED, EventType.CLIENT_UPDATED, EventType.CONTACT_ADDED,
            EventType.CONTACT_UPDATED, EventType.CONTACT_REMOVED, EventType.WHATSAPP_MESSAGE_RECEIVED,
            # what people write to the Telegram bot, and what it answers (functions/tickets/telegram_tickets.py)
            EventType.TELEGRAM_MESSAGE_RECEIVED, EventType.TELEGRAM_REPLY_REQUESTED,
            # a change of holder: recorded as a ticket of the source account; a support plan that changed hands
            # changes the plan in force of both accounts (functions/transfers)
            EventType.TRANSFER_REQUESTED, EventType.SERVICE_TRANSFERRED_OUT, EventType.SERVICE_TRANSFERRED_IN,
            # a remote support session's outcome and notes, kept as a ticket of the account (functions/support)
            EventType.REMOTE_SUPPORT_ENDED,
            # a migration we do: a ticket for the migration team (functions/support/migrations.py)
            EventType.MIGRATION_REQUESTED)
ALSO_TO = {event_type: (*((MAIL_QUEUE,) if event_type in MAILED else ()),
                        *((TICKETS_QUEUE,) if event_type in TICKETED else ()))
           for event_type in (*MAILED, *TICKETED)}


def queue_variables(event_type: str) -> tuple[str, ...]:
    """Every queue an event goes to (environment variable names), its first one first."""
    return (QUEUE_OF.get(event_type, DEFAULT_QUEUE), *ALSO_TO.get(event_type, ()))


def new_event(
    event_type: EventType, *, client_id: str | None, payload: dict[str, Any], occurred_at: datetime
) -> "EventRecord":
    # Imported here: the relay reads envelopes without loading the data layer.
    from shared.dal.outbox import EventRecord, outbox_hour

    event_id = id_at(occurred_at)
    pk, sk = EventRecord.key(event_id)
    return EventRecord(
        pk,
        sk,
        # Listed by hour in by_owner, so a time range can be republished (tools/replay_outbox.py).
        gsi1pk=outbox_hour(occurred_at),
        gsi1sk=event_id,
        event_id=event_id,
        type=str(event_type),
        occurred_at=to_storage(occurred_at),
        client_id=client_id,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
        schema_version=ENVELOPE_VERSION,
        expires_at=occurred_at + OUTBOX_RETENTION,
    )


def envelope(record: "EventRecord") -> dict[str, Any]:
    return {
        "id": record.event_id,
        "type": record.type,
        "occurred_at": record.occurred_at,
        "client_id": record.client_id,
        "payload": json.loads(record.payload),
        "version": int(record.schema_version),
    }


def envelope_from_stream_image(image: dict[str, Any]) -> dict[str, Any]:
    """The envelope of an EventRecord from a stream NewImage (DynamoDB JSON, already deserialized)."""
    return {
        "id": image["event_id"],
        "type": image["type"],
        "occurred_at": image["occurred_at"],
        "client_id": image.get("client_id"),
        "payload": json.loads(image["payload"]),
        "version": int(image.get("schema_version", ENVELOPE_VERSION)),
    }
