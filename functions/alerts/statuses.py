"""Delivery statuses reported by WhatsApp's webhook. They arrive out of order and repeated, so a status
applies only if it is further along than the one recorded: a delivery never moves backwards (read stays
read, a late "sent" after "delivered" changes nothing)."""

from datetime import UTC, datetime
from typing import Any

from shared.clock import SystemClock, to_storage
from shared.dal.alerts import Delivery

clock = SystemClock()  # production reads the time only through the clock (make dev's test clock moves it)

PROGRESS = {"waiting": 0, "queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 3}


def apply_status(delivery: Delivery, status: dict[str, Any]) -> bool:
    """Apply one `statuses[]` entry; returns whether the delivery changed."""
    new = str(status.get("status", ""))
    if new not in ("sent", "delivered", "read", "failed"):
        return False
    if PROGRESS[new] <= PROGRESS.get(delivery.status, 0):
        return False
    delivery.status = new
    if new == "failed":
        errors = status.get("errors")
        error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = error.get("code")
        delivery.error_code = int(code) if isinstance(code, int) else None
        details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
        delivery.error_reason = str(details or error.get("title") or error.get("message") or "failed")[:300]
    if status.get("recipient_id") and not delivery.wa_id:
        delivery.wa_id = str(status["recipient_id"])[:32]
    delivery.status_at = _timestamp(status.get("timestamp"))
    delivery.updated_at = to_storage(clock.now())
    return True


def _timestamp(value: Any) -> str | None:
    try:
        return to_storage(datetime.fromtimestamp(int(value), UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def statuses_of(notification: Any) -> list[dict[str, Any]]:
    """The statuses[] of a webhook notification: entry[].changes[].value.statuses[] (anything else in it,
    such as incoming messages, is not ours to handle). Malformed parts are skipped, never an error."""
    found = []
    for entry in _items(notification, "entry"):
        for change in _items(entry, "changes"):
            for status in _items(change.get("value"), "statuses"):
                if isinstance(status.get("id"), str):
                    found.append(status)
    return found


def _items(container: Any, name: str) -> list[dict[str, Any]]:
    values = container.get(name) if isinstance(container, dict) else None
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []
