"""Fan-out rules: an event becomes one Delivery per person and channel that should get its alert.

Who: the holder and the secondary contacts whose rights cover the kind of alert (billing: `invoices`;
services: `services`), on each of the hookpoint's channels: WhatsApp with the person opted in, a number,
and that kind not turned off for WhatsApp; email to the person's address unless that kind is turned off
for email. Staff alerts go to the on-call numbers and addresses. One number (one address) gets one message
per event, however many roles it has.
When: at once if urgent, by email, or outside the quiet hours; otherwise the WhatsApp delivery waits
(`waiting`, on the sparse by_due index) and the release schedule queues it when the quiet hours end.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import alerts
from shared.calendar import quiet_until
from shared.clock import Clock, to_storage
from shared.dal.accounts import Accounts, Client, Contact
from shared.dal.alerts import Alerts, Delivery
from shared.dal.table import clear_due, mark_due
from shared.events import EventType

# (delivery keys, seconds each waits on the queue) -> the keys that could not be queued
SendBatch = Callable[[list[str], dict[str, int]], list[str]]


@dataclass(frozen=True)
class Target:
    """Whom one delivery goes to: a person (or a staff number or address) on one channel."""

    recipient: str  # holder | contact:<contact_id> | ops:<phone> | ops:<email address>
    channel: str  # alerts.WHATSAPP | alerts.EMAIL
    address: str  # the E.164 phone, or the email address (lower case)


def _address(person: Client | Contact, channel: str) -> str:
    return person.phone if channel == alerts.WHATSAPP else person.email.strip().lower()


def recipients(hook: alerts.Hookpoint, client: Client | None, contacts: Iterable[Contact],
               ops_numbers: list[str], unique: bool = True, ops_emails: Iterable[str] = (),
               services: list[str] | None = None) -> list[Target]:
    """Who gets this hookpoint's alert on each of its channels, one per number and one per address unless
    ``unique`` is False (the fan-out first matches every candidate against the deliveries already made)."""
    found: list[Target] = []
    if hook.audience == alerts.OPS:
        if alerts.WHATSAPP in hook.channels:
            found += [Target(f"ops:{number}", alerts.WHATSAPP, number) for number in ops_numbers]
        if alerts.EMAIL in hook.channels:
            found += [Target(f"ops:{address.lower()}", alerts.EMAIL, address.lower()) for address in ops_emails]
    elif client is not None:
        permission = alerts.KIND_PERMISSION.get(hook.kind or "")
        people: list[tuple[str, Client | Contact]] = [("holder", client)] + [
            (f"contact:{contact.contact_id}", contact) for contact in sorted(contacts, key=lambda c: c.contact_id)
            if permission in (contact.permissions or []) and alerts.reaches(contact, services)
            and contact.status == "active"  # an invitation not accepted (a mistyped address?) gets nothing
            and hook.audience != alerts.HOLDER]
        for channel in hook.channels:
            found += [Target(key, channel, _address(person, channel)) for key, person in people
                      if alerts.wants(person, hook.kind, channel)]
    if not unique:
        return found
    seen: set[tuple[str, str]] = set()
    kept = []
    for target in found:
        if (target.channel, target.address) not in seen:
            seen.add((target.channel, target.address))
            kept.append(target)
    return kept


def _parameter(value: object) -> str:
    """The Cloud API refuses body parameters that are empty or hold new lines, tabs or runs of spaces."""
    text = " ".join(str(value).split())[:1000]
    return text or "-"


def new_delivery(envelope: dict[str, Any], hook: alerts.Hookpoint, target: Target, now: datetime,
                 quiet_window: str) -> Delivery:
    # An email wakes nobody: only WhatsApp waits for the quiet hours to end.
    held_until = None if hook.urgent or target.channel == alerts.EMAIL else quiet_until(now, quiet_window)
    recipient, whatsapp = target.recipient, target.channel == alerts.WHATSAPP
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    client_id = envelope.get("client_id") if hook.audience in (alerts.ACCOUNT, alerts.HOLDER) else None
    delivery = Delivery(
        *Delivery.key(envelope["id"], recipient, target.channel),
        gsi1pk=Delivery.listing(client_id, recipient),
        gsi1sk=f"{to_storage(now)}#{envelope['id']}#{recipient}#{target.channel}",
        event_id=envelope["id"], event_type=envelope["type"], client_id=client_id, recipient=recipient,
        channel=target.channel, phone=target.address if whatsapp else None,
        email=None if whatsapp else target.address, template=hook.template, language=alerts.LANGUAGE,
        parameters=[_parameter(p) for p in hook.parameters(payload)], urgent=hook.urgent,
        subject_id=str(payload.get("invoice_id")) if hook.while_unpaid and payload.get("invoice_id") else None,
        status="waiting" if held_until else "queued", created_at=to_storage(now), updated_at=to_storage(now),
    )
    if held_until:
        delivery.not_before = to_storage(held_until)
        mark_due(delivery, "ALERT", delivery.pk, delivery.not_before)
    return delivery


def reply_delivery(envelope: dict[str, Any], now: datetime, quiet_window: str = "") -> Delivery | None:
    """``whatsapp.reply_requested`` (tickets: support's answer to someone who wrote to us): one message to that
    number, sent at once — free-form ``text`` inside the Cloud API's 24-hour window, else an approved
    ``template`` of the catalog with its ``parameters``. Keyed by what it answers (``reply_to_event``), so a
    second request for the same answer — a redelivered ticket event — finds it made and sends nothing more."""
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    phone, text, source = str(payload.get("to") or ""), str(payload.get("text") or ""), payload.get("reply_to_event")
    template, parameters = payload.get("template"), payload.get("parameters")
    by_template = template in alerts.TEXTS and isinstance(parameters, list)
    if not phone.startswith("+") or not phone[1:].isdigit() or not isinstance(source, str) or not (
            text.strip() or by_template):
        return None
    recipient = f"reply:{phone}"
    # A free-form answer goes at once (the person is writing to us); a template starts a conversation, like an
    # alert: it waits out the quiet hours.
    held_until = None if text.strip() else quiet_until(now, quiet_window)
    delivery = Delivery(
        *Delivery.key(source, recipient), gsi1pk=Delivery.listing(None, recipient),
        gsi1sk=f"{to_storage(now)}#{source}#{recipient}", event_id=source, event_type=envelope["type"],
        client_id=None, recipient=recipient, phone=phone, language=alerts.LANGUAGE, urgent=held_until is None,
        status="waiting" if held_until else "queued", created_at=to_storage(now), updated_at=to_storage(now),
        **({"template": "text", "text": text[:4096]} if text.strip() else
           {"template": template, "parameters": [_parameter(p) for p in parameters]}))
    if held_until:
        delivery.not_before = to_storage(held_until)
        mark_due(delivery, "ALERT", delivery.pk, delivery.not_before)
    return delivery


@dataclass
class FanOutResult:
    created: int = 0
    queued: int = 0
    waiting: int = 0
    failed_messages: list[str] = field(default_factory=list)  # SQS message ids to report as failures


def fan_out(deliveries: Alerts, accounts: Accounts, send_batch: SendBatch, clock: Clock,
            messages: list[tuple[str, dict[str, Any]]], ops_numbers: list[str], quiet_window: str,
            hold_seconds: int = 0, ops_emails: Iterable[str] = ()) -> FanOutResult:
    """messages: (SQS message id, event envelope). Deliveries of every event are queued together, ten
    to a SendMessageBatch. An event whose deliveries could not all be stored or queued is reported as a
    failure: its redelivery finds the stored ones and queues those still `queued` (the sender claims each
    delivery once, so a second queueing sends nothing twice)."""
    result = FanOutResult()
    to_queue: list[tuple[str, str]] = []  # (delivery key, message id)
    held: set[str] = set()  # new deliveries about an invoice: they wait ``hold_seconds`` on the queue
    now = clock.now()
    for message_id, envelope in messages:
        if isinstance(envelope, dict) and envelope.get("type") == EventType.WHATSAPP_REPLY_REQUESTED:
            reply = reply_delivery(envelope, now, quiet_window)
            if reply is None:
                continue
            try:
                existing = deliveries.get_deliveries([(reply.pk, reply.sk)])
                new = [] if existing else deliveries.create_deliveries([reply])
            except Exception:  # noqa: BLE001 - SQS brings it back; the key keeps it to one message
                result.failed_messages.append(message_id)
                continue
            result.created += len(new)
            to_queue += [(d.pk, message_id) for d in [*new, *existing.values()] if d.status == "queued"]
            result.waiting += sum(d.status == "waiting" for d in new)
            continue
        hook = alerts.HOOKPOINTS.get(envelope.get("type", "")) if isinstance(envelope, dict) else None
        if hook is None or not isinstance(envelope.get("id"), str):
            continue  # not every event is an alert (and a malformed message is nobody's alert)
        try:
            client, contacts = (None, []) if hook.audience == alerts.OPS else accounts.account_people(
                str(envelope.get("client_id") or ""))
            payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
            candidates = recipients(hook, client, contacts, ops_numbers, unique=False, ops_emails=ops_emails,
                                    services=alerts.services_of(payload))
            # Everyone who may have been alerted by an earlier delivery of this event, wanted now or not.
            anyone = {t.recipient for t in candidates} | {"holder"} | {f"contact:{c.contact_id}" for c in contacts}
            existing = deliveries.get_deliveries(Delivery.key(envelope["id"], key, channel)
                                                 for key in anyone for channel in hook.channels)
            # One message per number and per address, counting those made by an earlier delivery of this event
            # (a preference changed since may have moved the number to another person: still the same phone).
            reached = {(d.channel, d.phone if d.channel == alerts.WHATSAPP else d.email) for d in existing.values()}
            new = []
            for target in candidates:
                key = Delivery.key(envelope["id"], target.recipient, target.channel)[0]
                if key not in existing and (target.channel, target.address) not in reached:
                    reached.add((target.channel, target.address))
                    new.append(new_delivery(envelope, hook, target, now, quiet_window))
            new = deliveries.create_deliveries(new)
        except Exception:  # noqa: BLE001 - one bad event must not fail its batch; SQS brings it back
            result.failed_messages.append(message_id)
            continue
        result.created += len(new)
        # Existing ones still `queued` may have lost their queueing: queued again (the sender claims once).
        for delivery in [*new, *existing.values()]:
            if delivery.subject_id:  # queued again on a redelivery too: the hold is never skipped
                held.add(delivery.pk)
            if delivery.status == "queued":
                to_queue.append((delivery.pk, message_id))
            elif delivery.status == "waiting":
                result.waiting += 1
    for start in range(0, len(to_queue), 10):
        chunk = to_queue[start:start + 10]
        keys = [key for key, _ in chunk]
        failed = set(send_batch(keys, {key: hold_seconds for key in keys if key in held and hold_seconds}))
        result.queued += len(chunk) - len(failed)
        result.failed_messages.extend(message_id for key, message_id in chunk if key in failed)
    result.failed_messages = sorted(set(result.failed_messages))
    return result


def release_waiting(deliveries: Alerts, send_batch: SendBatch, clock: Clock) -> int:
    """Queue the alerts held for the quiet hours once they are over. Returns how many were queued.

    Queued first, marked after: the sender also takes a `waiting` delivery whose time has come, so a crash
    in between leaves it on the queue (and still on the index, queued again by the next run: the sender's
    claim makes the copy harmless), never in the table alone."""
    now = clock.now()
    due = [d.pk for d in deliveries.deliveries_due_before(to_storage(now))]
    released = 0
    for start in range(0, len(due), 10):
        chunk = due[start:start + 10]
        failed = set(send_batch(chunk, {}))
        for pk in chunk:
            if pk in failed:
                continue  # still waiting and on the index: the next run tries again
            released += 1
            delivery = deliveries.get_delivery(pk)
            if delivery is None or delivery.status != "waiting":
                continue
            delivery.status = "queued"
            clear_due(delivery)
            delivery.updated_at = to_storage(now)
            try:
                deliveries.save_delivery(delivery)
            except Exception:  # noqa: BLE001, S112 - the sender claimed it meanwhile: nothing to mark
                continue
    return released

