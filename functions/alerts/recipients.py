"""Fan-out rules: an event becomes one Delivery per person who should get its WhatsApp alert.

Who: the holder and the secondary contacts whose rights cover the kind of alert (billing: `invoices`;
services: `services`), each with WhatsApp opted in, a number, and that kind not turned off; staff alerts
go to the on-call numbers. One number gets one message per event, however many roles it has.
When: at once if urgent or outside the quiet hours; otherwise the delivery waits (`waiting`, on the
sparse by_due index) and the release schedule queues it when the quiet hours end.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import alerts
from shared.calendar import quiet_until
from shared.clock import Clock, to_storage
from shared.dal.models import Client, Contact, Delivery, due_partition
from shared.dal.repositories import Store

SendBatch = Callable[[list[str]], list[str]]  # delivery keys -> the keys that could not be queued


def wants(person: Client | Contact, kind: str | None) -> bool:
    if not person.whatsapp_opt_in or not person.phone:
        return False
    preferences = person.alert_preferences.as_dict() if person.alert_preferences else {}
    return kind is None or preferences.get(kind, True)


def recipients(hook: alerts.Hookpoint, client: Client | None, contacts: Iterable[Contact],
               ops_numbers: list[str]) -> list[tuple[str, str]]:
    """(recipient key, E.164 phone) of who gets this hookpoint's alert."""
    found: list[tuple[str, str]] = []
    if hook.audience == alerts.OPS:
        found = [(f"ops:{number}", number) for number in ops_numbers]
    elif client is not None:
        if wants(client, hook.kind):
            found.append(("holder", client.phone))
        permission = alerts.KIND_PERMISSION.get(hook.kind or "")
        for contact in sorted(contacts, key=lambda c: c.contact_id):
            if permission in (contact.permissions or []) and wants(contact, hook.kind):
                found.append((f"contact:{contact.contact_id}", contact.phone))
    seen: set[str] = set()
    unique = []
    for key, phone in found:
        if phone not in seen:
            seen.add(phone)
            unique.append((key, phone))
    return unique


def new_delivery(envelope: dict[str, Any], hook: alerts.Hookpoint, recipient: str, phone: str, now: datetime,
                 quiet_window: str) -> Delivery:
    held_until = None if hook.urgent else quiet_until(now, quiet_window)
    client_id = envelope.get("client_id") if hook.audience == alerts.ACCOUNT else None
    delivery = Delivery(
        *Delivery.key(envelope["id"], recipient),
        gsi1pk=f"ALERTS#{client_id}" if client_id else "ALERTS#OPS",
        gsi1sk=f"{to_storage(now)}#{envelope['id']}#{recipient}",
        event_id=envelope["id"], event_type=envelope["type"], client_id=client_id, recipient=recipient,
        phone=phone, template=hook.template, language=alerts.LANGUAGE,
        parameters=[str(p) for p in hook.parameters(envelope.get("payload") or {})], urgent=hook.urgent,
        status="waiting" if held_until else "queued", created_at=to_storage(now), updated_at=to_storage(now),
    )
    if held_until:
        delivery.not_before = to_storage(held_until)
        delivery.due_pk = due_partition("ALERT", delivery.pk)
        delivery.due_sk = f"{delivery.not_before}#{delivery.pk}"
    return delivery


@dataclass
class FanOutResult:
    created: int = 0
    queued: int = 0
    waiting: int = 0
    failed_messages: list[str] = field(default_factory=list)  # SQS message ids to report as failures


def fan_out(store: Store, send_batch: SendBatch, clock: Clock, messages: list[tuple[str, dict[str, Any]]],
            ops_numbers: list[str], quiet_window: str) -> FanOutResult:
    """messages: (SQS message id, event envelope). Deliveries of every event are queued together, ten
    to a SendMessageBatch. An event whose deliveries could not all be stored or queued is reported as a
    failure: its redelivery finds the stored ones and queues those still `queued` (the sender claims each
    delivery once, so a second queueing sends nothing twice)."""
    result = FanOutResult()
    to_queue: list[tuple[str, str]] = []  # (delivery key, message id)
    now = clock.now()
    for message_id, envelope in messages:
        hook = alerts.HOOKPOINTS.get(envelope.get("type", ""))
        if hook is None:
            continue  # not every event is an alert
        try:
            client, contacts = (None, []) if hook.audience == alerts.OPS else store.account_people(
                envelope.get("client_id") or "")
            wanted = {key: phone for key, phone in recipients(hook, client, contacts, ops_numbers)}
            existing = store.get_deliveries(Delivery.key(envelope["id"], key) for key in wanted)
            new = [new_delivery(envelope, hook, key, phone, now, quiet_window) for key, phone in wanted.items()
                   if Delivery.key(envelope["id"], key)[0] not in existing]
            new = store.create_deliveries(new)
        except Exception:  # noqa: BLE001 - one bad event must not fail its batch; SQS brings it back
            result.failed_messages.append(message_id)
            continue
        result.created += len(new)
        for delivery in [*new, *existing.values()]:
            if delivery.status == "queued":
                to_queue.append((delivery.pk, message_id))
            elif delivery.status == "waiting":
                result.waiting += 1
    for start in range(0, len(to_queue), 10):
        chunk = to_queue[start:start + 10]
        failed = set(send_batch([key for key, _ in chunk]))
        result.queued += len(chunk) - len(failed)
        result.failed_messages.extend(message_id for key, message_id in chunk if key in failed)
    result.failed_messages = sorted(set(result.failed_messages))
    return result


def release_waiting(store: Store, send_batch: SendBatch, clock: Clock) -> int:
    """Queue the alerts held for the quiet hours once they are over. Returns how many were queued."""
    now = clock.now()
    released: list[str] = []
    for due in store.deliveries_due_before(to_storage(now)):
        delivery = store.get_delivery(due.pk)  # the index is eventually consistent
        if delivery is None or delivery.status != "waiting":
            continue
        delivery.status = "queued"
        delivery.due_pk = delivery.due_sk = None
        delivery.updated_at = to_storage(now)
        try:
            store.save_delivery(delivery)
        except Exception:  # noqa: BLE001 - changed meanwhile: the next run looks again
            continue
        released.append(delivery.pk)
    failed: set[str] = set()
    for start in range(0, len(released), 10):
        failed |= set(send_batch(released[start:start + 10]))
    if failed:
        # Stored as queued but not on the queue: a later event redelivery cannot find them, so raise for the
        # schedule's retry after putting them back to waiting.
        for pk in failed:
            delivery = store.get_delivery(pk)
            if delivery is not None and delivery.status == "queued":
                delivery.status = "waiting"
                delivery.due_pk = due_partition("ALERT", pk)
                delivery.due_sk = f"{delivery.not_before}#{pk}"
                store.save_delivery(delivery)
    return len(released) - len(failed)


def queue_body(delivery_pk: str) -> str:
    return json.dumps({"delivery": delivery_pk})
