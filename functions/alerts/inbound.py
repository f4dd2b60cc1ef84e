"""What people write to our WhatsApp number (the webhook's ``messages[]``): each message once, as a
``whatsapp.message_received`` event that the tickets capability turns into a ticket or a message of one
(functions/tickets/whatsapp_tickets.py). The alerts capability only receives and records it.

A message (developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples): ``{"from":
"5491123456789", "id": "wamid…", "timestamp": "1700000000", "type": "text", "text": {"body": "…"}}``, or
``image``/``document``/``audio``/``video`` with ``{"id", "mime_type", "caption"?, "filename"?}``; the
sender's profile name comes in ``contacts[]`` beside it; ``context.id`` names the message it answers.
"""

from datetime import UTC, datetime
from typing import Any

from alerts.statuses import _items

from shared.clock import Clock, to_storage
from shared.dal.alerts import WhatsAppInbound
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.events import EventType, new_event

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
MAX_TEXT = 4096  # WhatsApp's own limit for a text message


class AlreadyReceived(Conflict):
    code = "whatsapp_message_seen"


def messages_of(notification: Any) -> list[dict[str, Any]]:
    """Each message with its sender's profile name; malformed ones are skipped, never an error."""
    found = []
    for entry in _items(notification, "entry"):
        for change in _items(entry, "changes"):
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in _items(value, "contacts")
                     if isinstance(c.get("profile"), dict)}
            for message in _items(value, "messages"):
                if isinstance(message.get("id"), str) and str(message.get("from") or "").isdigit():
                    found.append({**message, "_profile_name": names.get(message.get("from"))})
    return found


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    kind = str(message.get("type") or "unknown")
    text = (message.get("text") or {}).get("body") if isinstance(message.get("text"), dict) else None
    media = message.get(kind) if kind in MEDIA_TYPES and isinstance(message.get(kind), dict) else None
    try:
        sent_at = to_storage(datetime.fromtimestamp(int(message.get("timestamp") or 0), UTC))
    except (ValueError, OverflowError, OSError):
        sent_at = None
    return {
        "wa_message_id": message["id"], "from": message["from"], "name": str(message.get("_profile_name") or "")[:120],
        "type": kind, "text": str(text or (media or {}).get("caption") or "")[:MAX_TEXT], "sent_at": sent_at,
        "media": {k: str(media[k])[:200] for k in ("id", "mime_type", "filename") if media and media.get(k)} or None,
        "in_reply_to": (message.get("context") or {}).get("id") if isinstance(message.get("context"), dict) else None,
    }


def record(clock: Clock, message: dict[str, Any]) -> bool:
    """The message's record and event, in one transaction; False if it was received before."""
    now = clock.now()
    uow = UnitOfWork()
    uow.create(WhatsAppInbound(*WhatsAppInbound.key(message["id"]), sender=message["from"],
                               received_at=to_storage(now)), error=AlreadyReceived())
    uow.emit([new_event(EventType.WHATSAPP_MESSAGE_RECEIVED, client_id=None, occurred_at=now,
                        payload=_payload(message))])
    try:
        uow.commit()
    except AlreadyReceived:
        return False
    return True
