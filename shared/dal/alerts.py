"""Alerts: one delivery per event, person and channel (WhatsApp, email), and the message ids the WhatsApp
status webhook uses."""

from collections.abc import Iterable, Iterator

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import IntegerAttribute, TableItem, batch_get, due_partitions, save_one
from shared.errors import ConcurrentModification


class Delivery(TableItem, discriminator="Delivery"):
    """One alert to one person for one event on one channel. Its key is (event, recipient, channel),
    written only if absent: a repeated event or a redelivered message can never make a second one
    (docs/alerts.md).

    status: waiting (quiet hours or a short hold) | queued | sending (claimed by the sender) | sent
    (accepted by the API) | delivered | read | failed | dropped (no longer true when its time came). It
    never moves backwards (read stays read).
    """

    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute()  # holder | contact:<contact_id> | ops:<phone> | ops:<email address>
    channel = UnicodeAttribute(default="whatsapp")  # whatsapp | email
    phone = UnicodeAttribute(null=True)  # E.164 (WhatsApp)
    email = UnicodeAttribute(null=True)  # the address (email)
    template = UnicodeAttribute()  # "text" for a free-form answer (``text``)
    language = UnicodeAttribute()
    # A free-form answer to someone who wrote to us (support's reply inside the Cloud API's 24-hour window).
    text = UnicodeAttribute(null=True)
    parameters = ListAttribute(of=UnicodeAttribute, default=list)
    urgent = BooleanAttribute(default=False)
    subject_id = UnicodeAttribute(null=True)  # the invoice an invoice alert is about (checked before sending)
    status = UnicodeAttribute()
    attempts = IntegerAttribute(default=0)
    not_before = UnicodeAttribute(null=True)
    wa_message_id = UnicodeAttribute(null=True)
    wa_id = UnicodeAttribute(null=True)
    sent_to = UnicodeAttribute(null=True)  # the form of the number the API accepted (549… or 54…)
    error_code = IntegerAttribute(null=True)
    error_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    status_at = UnicodeAttribute(null=True)  # the time of the latest status the webhook reported
    version = VersionAttribute()

    @staticmethod
    def key(event_id: str, recipient: str, channel: str = "whatsapp") -> tuple[str, str]:
        # WhatsApp's keys are those made before email was a channel: unchanged, so no delivery is made twice.
        suffix = "" if channel == "whatsapp" else f"#{channel}"
        return f"DELIVERY#{event_id}#{recipient}{suffix}", "DELIVERY"

    @staticmethod
    def listing(client_id: str | None, recipient: str) -> str:
        """by_owner partition of one person's alerts: each recipient has its own, so a contact's history is
        one Query of its own alerts, never a page through the whole account's."""
        return f"ALERTS#{client_id}#{recipient}" if client_id else "ALERTS#OPS"


class WhatsAppMessage(TableItem, discriminator="WhatsAppMessage"):
    """The WhatsApp message id (wamid) of a delivery: the status webhook finds the delivery by it."""

    delivery_pk = UnicodeAttribute()

    @staticmethod
    def key(wa_message_id: str) -> tuple[str, str]:
        return f"WAMSG#{wa_message_id}", "WAMSG"


class WhatsAppInbound(TableItem, discriminator="WhatsAppInbound"):
    """A message a person sent to our WhatsApp number, by its wamid: written with its
    ``whatsapp.message_received`` event, so Meta's retries of the webhook are one message."""

    sender = UnicodeAttribute()  # the wa_id (digits, no "+")
    received_at = UnicodeAttribute()

    @staticmethod
    def key(wa_message_id: str) -> tuple[str, str]:
        return f"WAIN#{wa_message_id}", "WAIN"


class WorkingNumber(TableItem, discriminator="WorkingNumber"):
    """The form of a number the Cloud API accepted after a 131030 (54… without the mobile 9), so later
    alerts to it go that way at once."""

    phone = UnicodeAttribute()
    sent_to = UnicodeAttribute()

    @staticmethod
    def key(phone: str) -> tuple[str, str]:
        return f"WANUMBER#{phone}", "WANUMBER"


class Alerts:
    def get_deliveries(self, keys: Iterable[tuple[str, str]]) -> dict[str, Delivery]:
        """Deliveries by key (one BatchGetItem per 100); absent ones are simply missing."""
        return {d.pk: d for d in batch_get(keys).values() if isinstance(d, Delivery)}

    def create_deliveries(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Each new delivery, only if absent (a conditional PutItem each: deliveries are independent, so
        one that a concurrent fan-out of the same event wrote first is simply not ours to queue).
        Returns the ones this call created."""
        created = []
        for delivery in deliveries:
            try:
                save_one(delivery, condition=Delivery.pk.does_not_exist())
            except ConcurrentModification:
                continue
            created.append(delivery)
        return created

    def get_delivery(self, pk: str) -> Delivery | None:
        try:
            return Delivery.get(pk, "DELIVERY", consistent_read=True)
        except DoesNotExist:
            return None

    def save_delivery(self, delivery: Delivery, message: WhatsAppMessage | None = None) -> None:
        """The delivery (version-checked: a concurrent change raises ConcurrentModification). Once sent,
        the marker of its WhatsApp message id is written first, so that a status webhook arriving at
        once already finds the delivery."""
        if message is not None:
            message.save()
        save_one(delivery)

    def delivery_of_message(self, wa_message_id: str) -> Delivery | None:
        if not wa_message_id or len(wa_message_id) > 256:
            return None
        try:
            marker = WhatsAppMessage.get(*WhatsAppMessage.key(wa_message_id))
        except DoesNotExist:
            return None
        return self.get_delivery(marker.delivery_pk)

    def deliveries_of(self, client_id: str, recipient: str, limit: int = 50) -> list[Delivery]:
        """One person's alerts, newest first: one Query of its own partition."""
        return list(Delivery.by_owner.query(Delivery.listing(client_id, recipient), scan_index_forward=False,
                                            limit=limit))

    def deliveries_due_before(self, until_iso: str) -> Iterator[Delivery]:
        """Alerts held (quiet hours, short holds) whose time has come: a Query per shard of by_due."""
        for partition in due_partitions("ALERT"):
            yield from Delivery.by_due.query(partition, Delivery.due_sk < until_iso)

    def working_number(self, phone: str) -> str | None:
        try:
            return WorkingNumber.get(*WorkingNumber.key(phone)).sent_to
        except DoesNotExist:
            return None

    def remember_working_number(self, phone: str, sent_to: str) -> None:
        WorkingNumber(*WorkingNumber.key(phone), phone=phone, sent_to=sent_to).save()
