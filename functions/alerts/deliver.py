"""Sending one delivery exactly once: WhatsApp through the Cloud API (here), email through SES
(alerts.email_alerts).

The sender claims a `queued` delivery (version-checked: of two copies of its message, one wins) before
calling the API. A claim left by a run that crashed mid-call is never sent again: the message may have
gone out, and a second copy is worse than a missing one, so it is marked failed for staff to see.

Errors (alerts.whatsapp.classify): throttled, transient and token_expired go back to `queued` and are
retried with backoff through the message's visibility timeout (after maxReceiveCount the message goes to
the DLQ); permanent ones are `failed` with the API's reason; 131030 is retried once at once without the
mobile 9 (54… instead of 549…).
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from alerts.whatsapp import SendFailed, Sent, WhatsAppApi, wire_number, without_mobile_nine
from aws_lambda_powertools import Logger

from shared import alerts
from shared.clock import Clock, from_storage, to_storage
from shared.dal.alerts import Alerts, Delivery, WhatsAppMessage
from shared.dal.table import clear_due
from shared.errors import ConcurrentModification

if TYPE_CHECKING:
    from alerts.email_alerts import AlertMail

logger = Logger()

# Longer than any send can take (the sender's timeout is 60 s), shorter than the queue's 6 min visibility.
STALE_CLAIM = timedelta(minutes=3)


class RetryLater(Exception):
    def __init__(self, failure: SendFailed, attempts: int):
        super().__init__(str(failure))
        self.failure, self.attempts = failure, attempts

    @property
    def backoff_seconds(self) -> int:
        return self.backoff_after(self.attempts)

    def backoff_after(self, attempts: int) -> int:
        base = 30 if self.failure.kind == "throttled" else 10
        return min(base * 2 ** max(attempts - 1, 0), 900)


def deliver(deliveries: Alerts, api: Callable[[], WhatsAppApi], clock: Clock, delivery_pk: str,
            still_unpaid: Callable[[str], bool] = lambda invoice_id: True,
            mail: "Callable[[], AlertMail] | None" = None) -> str:
    """Send it if it is still to be sent. Returns what happened; raises RetryLater for a retryable error.
    ``still_unpaid(invoice_id)``: whether an invoice alert is still true (paid or cancelled: dropped).
    ``mail``: the email side (sender, SES), for the deliveries whose channel is email."""
    delivery = deliveries.get_delivery(delivery_pk)
    now = clock.now()
    if delivery is None:
        return "missing"
    if delivery.status == "sending":
        if now - from_storage(delivery.updated_at) < STALE_CLAIM:
            return "in_flight"
        _finish_failed(deliveries, delivery, None, "Envío interrumpido: no se sabe si salió; no se reintenta.", clock)
        return "interrupted"
    held = delivery.status == "waiting" and delivery.not_before and delivery.not_before <= to_storage(now)
    if delivery.status != "queued" and not held:  # a released one may come before its status is flipped
        return f"already_{delivery.status}"
    if delivery.subject_id and not still_unpaid(delivery.subject_id):
        delivery.status = "dropped"
        delivery.error_reason = "La factura ya no está pendiente de pago: el aviso no se envió."
        delivery.updated_at = to_storage(now)
        clear_due(delivery)
        try:
            deliveries.save_delivery(delivery)
        except ConcurrentModification:
            return "claimed_elsewhere"
        return "dropped"
    if delivery.channel == alerts.EMAIL:
        from alerts.email_alerts import send_email

        return send_email(deliveries, mail, clock, delivery)
    try:
        client = api()  # configuration first: a missing token must not cost a claim
    except SendFailed as failure:
        raise RetryLater(failure, delivery.attempts) from None
    delivery.status = "sending"
    delivery.due_pk = delivery.due_sk = None
    delivery.attempts = delivery.attempts + 1
    delivery.updated_at = to_storage(now)
    try:
        deliveries.save_delivery(delivery)
    except ConcurrentModification:
        return "claimed_elsewhere"
    try:
        sent, to = _send(client, delivery, deliveries.working_number(delivery.phone))
    except SendFailed as failure:
        if failure.retryable:
            delivery.status = "queued"
            delivery.error_code, delivery.error_reason = failure.code, failure.reason
            delivery.updated_at = to_storage(clock.now())
            deliveries.save_delivery(delivery)
            raise RetryLater(failure, delivery.attempts) from None
        _finish_failed(deliveries, delivery, failure.code, failure.reason, clock)
        return "failed"
    marker = WhatsAppMessage(*WhatsAppMessage.key(sent.message_id), delivery_pk=delivery.pk)
    for _ in range(3):
        if delivery.status in ("sending", "queued"):
            delivery.status = "sent"
        delivery.wa_message_id, delivery.wa_id, delivery.sent_to = sent.message_id, delivery.wa_id or sent.wa_id, to
        if delivery.status != "failed":
            delivery.error_code = delivery.error_reason = None
        delivery.sent_at = delivery.updated_at = to_storage(clock.now())
        try:
            deliveries.save_delivery(delivery, marker)
            _remember(deliveries, delivery.phone, to)
            return "sent"
        except ConcurrentModification:
            # The status webhook got here first (it finds the delivery through the marker): keep its status,
            # add what only the send knows.
            marker = None
            delivery = deliveries.get_delivery(delivery_pk)
    raise ConcurrentModification()


def _send(api: WhatsAppApi, delivery: Delivery, known: str | None) -> tuple[Sent, str]:
    """Sent to the form of the number that worked before (``known``, after a 131030), else the stored one,
    and on 131030 once more without the mobile 9."""
    to = known or wire_number(delivery.phone)

    def send(number: str) -> Sent:
        if delivery.text:
            return api.send_text(number, delivery.text)
        return api.send_template(number, delivery.template, delivery.language, list(delivery.parameters))

    try:
        return send(to), to
    except SendFailed as failure:
        other = without_mobile_nine(delivery.phone) if to == wire_number(delivery.phone) else None
        if failure.kind != "not_in_allowed_list" or other is None:
            if failure.kind == "not_in_allowed_list":
                raise SendFailed("permanent", failure.code, failure.reason, failure.http_status) from None
            raise
    try:
        return send(other), other
    except SendFailed as failure:
        if failure.kind == "not_in_allowed_list":  # neither form: nothing more to try
            raise SendFailed("permanent", failure.code, failure.reason, failure.http_status) from None
        raise


def _remember(deliveries: Alerts, phone: str, to: str) -> None:
    """The form of the number that worked, when it was not the stored one: the next alerts to it go that
    way at once. Best effort: the alert itself is sent and recorded already."""
    if to == wire_number(phone):
        return
    try:
        deliveries.remember_working_number(phone, to)
    except Exception:  # noqa: BLE001 - costs one refused try next time, nothing more
        logger.warning("could not remember the working number", extra={"phone_suffix": phone[-4:]})


def _finish_failed(deliveries: Alerts, delivery: Delivery, code: int | None, reason: str, clock: Clock) -> None:
    delivery.status = "failed"
    delivery.error_code, delivery.error_reason = code, reason[:300]
    delivery.updated_at = to_storage(clock.now())
    deliveries.save_delivery(delivery)
