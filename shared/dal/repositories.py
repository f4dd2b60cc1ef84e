"""Repositories: the only code that talks to DynamoDB. Logic modules receive a Store.

Every multi-item change is one TransactWrite (state + outbox events + uniqueness markers), so a
change is either wholly written or not at all.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from shared.clock import to_storage
from shared.config import region
from shared.dal.models import (
    Client,
    Contact,
    Delivery,
    EmailMarker,
    EventRecord,
    IdempotencyRecord,
    Invoice,
    Payment,
    Product,
    Server,
    Service,
    TableItem,
    Upgrade,
    UpgradeRequest,
    WhatsAppMessage,
    due_partitions,
)
from shared.errors import ConcurrentModification, Conflict, DomainError, NotFound
from shared.ids import is_valid_id


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Ya existe una cuenta con ese email. Inicie sesión o recupere su clave."


UNMATCHED_PAYMENTS = "PAYMENTS#UNMATCHED"


class UpgradeAlreadyPending(Conflict):
    code = "upgrade_pending"
    message = (
        "Este servicio ya tiene un cambio de plan pendiente. Páguelo o cancélelo antes de pedir otro."
    )


class PaymentAlreadyRecorded(Exception):
    """This provider payment was recorded before (a redelivered or concurrent notification)."""


class AlreadyAnswered(Exception):
    """The Idempotency-Key of this request was used before: return the recorded answer instead."""


def _client_not_found() -> NotFound:
    return NotFound("No encontramos ese cliente.", code="client_not_found")


def _sent_partition_keys(tx: TransactWrite) -> list[str]:
    """Partition keys of a transaction's items in the order PynamoDB sends them (checks, deletes,
    puts, updates), which is the order of DynamoDB's cancellation reasons."""
    operations = tx._condition_check_items + tx._delete_items + tx._put_items + tx._update_items
    return [(op.get("Key") or op.get("Item"))["pk"]["S"] for op in operations]


def _save(item: TableItem, condition=None) -> None:
    """One item on its own (a PutItem, version-checked): a lost version check becomes ConcurrentModification."""
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise ConcurrentModification() from error
        raise


class Store:
    def __init__(self, connection: Connection | None = None):
        self._connection = connection

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=region())
        return self._connection

    @contextmanager
    def _transaction(
        self, conflict: DomainError | None = None, *, by_pk: dict[str, Exception] | None = None
    ) -> Iterator[TransactWrite]:
        """One TransactWrite. A failed condition becomes the error registered for the partition key of
        the item whose condition failed (``by_pk``), else ``conflict``, else a version clash."""
        tx = TransactWrite(connection=self.connection)
        try:
            with tx:
                yield tx
        except TransactWriteError as error:
            reasons = [getattr(r, "code", None) if r else None for r in (error.cancellation_reasons or [])]
            if "TransactionConflict" in reasons:
                # Another transaction was writing one of these items at that instant: retryable.
                raise ConcurrentModification() from error
            if "ConditionalCheckFailed" not in reasons:
                raise
            failed_pk = _sent_partition_keys(tx)[reasons.index("ConditionalCheckFailed")]
            raise (by_pk or {}).get(failed_pk) or conflict or ConcurrentModification() from error

    # --- clients and contacts -------------------------------------------------------------------

    def get_client(self, client_id: str) -> Client:
        if not is_valid_id(client_id):  # also keeps absurd keys (DynamoDB allows 2 KB) away from the table
            raise _client_not_found()
        try:
            return Client.get(*Client.key(client_id))
        except DoesNotExist:
            raise _client_not_found() from None

    def create_client(self, client: Client, events: Iterable[EventRecord]) -> None:
        marker = EmailMarker(*EmailMarker.key(client.email), client_id=client.client_id)
        with self._transaction(EmailTaken()) as tx:
            tx.save(marker, condition=EmailMarker.pk.does_not_exist())
            tx.save(client, condition=Client.pk.does_not_exist())
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    def get_contact(self, client_id: str, contact_id: str) -> Contact | None:
        try:
            return Contact.get(*Contact.key(client_id, contact_id))
        except DoesNotExist:
            return None

    def contact_permissions(self, client_id: str, contact_id: str) -> set[str] | None:
        """What shared.auth.authorize asks for a contact: its current rights, or None if removed."""
        contact = self.get_contact(client_id, contact_id)
        return None if contact is None else set(contact.permissions)

    def list_contacts(self, client_id: str) -> list[Contact]:
        pk, _ = Client.key(client_id)
        return list(Contact.query(pk, Contact.sk.startswith("CONTACT#")))

    def create_contact(self, contact: Contact, events: Iterable[EventRecord]) -> None:
        marker = EmailMarker(
            *EmailMarker.key(contact.email), client_id=contact.client_id, contact_id=contact.contact_id
        )
        client_pk = Client.key(contact.client_id)[0]
        with self._transaction(EmailTaken(), by_pk={client_pk: _client_not_found()}) as tx:
            tx.save(marker, condition=EmailMarker.pk.does_not_exist())
            tx.condition_check(Client, *Client.key(contact.client_id), condition=Client.pk.exists())
            tx.save(contact, condition=Contact.pk.does_not_exist())
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    def remove_contact(self, contact: Contact, events: Iterable[EventRecord]) -> None:
        """Delete the contact (version-checked) and free its email, in one transaction."""
        marker_key = EmailMarker.key(contact.email)
        with self._transaction() as tx:
            tx.delete(contact)
            tx.delete(EmailMarker(*marker_key, client_id=contact.client_id))
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    # --- catalog ----------------------------------------------------------------------------------

    def list_catalog(self) -> list[Product]:
        return list(Product.by_owner.query("CATALOG"))

    def get_product(self, product_id: str) -> Product:
        try:
            return Product.get(*Product.key(product_id))
        except DoesNotExist:
            raise NotFound("No encontramos ese producto.", code="product_not_found") from None

    def put_product(self, product: Product) -> None:
        product.gsi1pk = "CATALOG"
        product.gsi1sk = f"{product.sort_order:04d}#{product.group}#{product.name}"
        _save(product)

    # --- services and invoices ----------------------------------------------------------------------

    def list_services(self, client_id: str) -> list[Service]:
        if not is_valid_id(client_id):
            return []
        pk, _ = Client.key(client_id)
        return list(Service.by_owner.query(pk, Service.gsi1sk.startswith("SERVICE#")))

    def get_service(self, service_id: str, consistent: bool = False) -> Service:
        if not is_valid_id(service_id):
            raise NotFound("No encontramos ese servicio.", code="service_not_found")
        try:
            return Service.get(*Service.key(service_id), consistent_read=consistent)
        except DoesNotExist:
            raise NotFound("No encontramos ese servicio.", code="service_not_found") from None

    def list_invoices(self, client_id: str) -> list[Invoice]:
        pk, _ = Client.key(client_id)
        return list(
            Invoice.by_owner.query(pk, Invoice.gsi1sk.startswith("INVOICE#"), scan_index_forward=False)
        )

    def get_invoice(self, invoice_id: str) -> Invoice:
        if not is_valid_id(invoice_id):
            raise NotFound("No encontramos esa factura.", code="invoice_not_found")
        try:
            return Invoice.get(*Invoice.key(invoice_id))
        except DoesNotExist:
            raise NotFound("No encontramos esa factura.", code="invoice_not_found") from None

    def create_order(
        self,
        services: Iterable[Service],
        invoice: Invoice,
        events: Iterable[EventRecord],
        answer: IdempotencyRecord | None = None,
    ) -> None:
        """Raises AlreadyAnswered when ``answer``'s key was used before (a retry)."""
        if not is_valid_id(invoice.client_id):
            raise _client_not_found()
        errors: dict[str, Exception] = {Client.key(invoice.client_id)[0]: _client_not_found()}
        if answer is not None:
            errors[answer.pk] = AlreadyAnswered()
        with self._transaction(by_pk=errors) as tx:
            tx.condition_check(Client, *Client.key(invoice.client_id), condition=Client.pk.exists())
            if answer is not None:
                tx.save(answer, condition=IdempotencyRecord.pk.does_not_exist())
            for service in services:
                tx.save(service, condition=Service.pk.does_not_exist())
            tx.save(invoice, condition=Invoice.pk.does_not_exist())
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    def get_answer(self, scope: str, idempotency_key: str) -> IdempotencyRecord | None:
        try:
            return IdempotencyRecord.get(*IdempotencyRecord.key(scope, idempotency_key), consistent_read=True)
        except DoesNotExist:
            return None

    def invoices_due_before(self, until_iso: str) -> Iterator[Invoice]:
        """Unpaid invoices whose due date is before ``until_iso``: a Query per shard of by_due."""
        for partition in due_partitions("INVOICE"):
            yield from Invoice.by_due.query(partition, Invoice.due_sk < until_iso)

    def get_payment(self, provider: str, provider_payment_id: str) -> Payment | None:
        try:
            return Payment.get(*Payment.key(provider, provider_payment_id), consistent_read=True)
        except DoesNotExist:
            return None

    def payments_of_invoice(self, invoice_id: str) -> list[Payment]:
        if not is_valid_id(invoice_id):
            return []
        return list(Payment.by_owner.query(f"INVOICE#{invoice_id}", Payment.gsi1sk.startswith("PAYMENT#")))

    def unmatched_payments(self) -> list[Payment]:
        return list(Payment.by_owner.query(UNMATCHED_PAYMENTS, scan_index_forward=False))

    def find_invoice(self, invoice_id: str | None) -> Invoice | None:
        if not invoice_id or not is_valid_id(invoice_id):
            return None
        try:
            return Invoice.get(*Invoice.key(invoice_id), consistent_read=True)
        except DoesNotExist:
            return None

    def record_payment(
        self, payment: Payment, changed: Iterable[TableItem], events: Iterable[EventRecord]
    ) -> None:
        """The payment (once per provider id), what it changed (version-checked) and its events."""
        # Listed under its invoice for staff; a payment matching no invoice goes to the review list.
        payment.gsi1pk = f"INVOICE#{payment.invoice_id}" if payment.client_id else UNMATCHED_PAYMENTS
        payment.gsi1sk = f"PAYMENT#{payment.received_at}#{payment.provider}#{payment.provider_payment_id}"
        with self._transaction(by_pk={payment.pk: PaymentAlreadyRecorded()}) as tx:
            tx.save(payment, condition=Payment.pk.does_not_exist())
            for item in changed:
                tx.save(item)
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    def events_between(self, since: datetime, until: datetime) -> Iterator[EventRecord]:
        """Outbox events that occurred in [since, until): one Query per hour bucket of by_owner."""
        from shared.events import outbox_hour

        hour = since.replace(minute=0, second=0, microsecond=0)
        while hour < until:
            for record in EventRecord.by_owner.query(outbox_hour(hour)):
                if to_storage(since) <= record.occurred_at < to_storage(until):
                    yield record
            hour += timedelta(hours=1)

    def save_with_events(self, items: Iterable[TableItem], events: Iterable[EventRecord]) -> None:
        """Save changed aggregates (version-checked) together with the events they caused."""
        with self._transaction() as tx:
            for item in items:
                tx.save(item)
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    # --- plan changes -----------------------------------------------------------------------------

    def get_products(self, product_ids: Iterable[str]) -> dict[str, Product]:
        """Products by id (one BatchGetItem); unknown ids are simply absent."""
        keys = [Product.key(product_id) for product_id in sorted(set(product_ids))]
        return {product.product_id: product for product in Product.batch_get(keys)} if keys else {}

    def get_server(self, name: str | None) -> Server | None:
        if not name:
            return None
        try:
            return Server.get(*Server.key(name))
        except DoesNotExist:
            return None

    def put_server(self, server: Server) -> None:
        _save(server)

    def get_upgrade(self, upgrade_id: str) -> Upgrade:
        if not is_valid_id(upgrade_id):
            raise NotFound("No encontramos ese cambio de plan.", code="upgrade_not_found")
        try:
            return Upgrade.get(*Upgrade.key(upgrade_id), consistent_read=True)
        except DoesNotExist:
            raise NotFound("No encontramos ese cambio de plan.", code="upgrade_not_found") from None

    def upgrades_of_service(self, service_id: str) -> list[Upgrade]:
        """A service's plan changes, newest first."""
        return list(Upgrade.by_owner.query(f"SERVICE#{service_id}", Upgrade.gsi1sk.startswith("UPGRADE#"),
                                           scan_index_forward=False))

    def place_upgrade(self, upgrade: Upgrade, service: Service, invoice: Invoice | None,
                      changed: Iterable[TableItem], events: Iterable[EventRecord]) -> None:
        """The change, its invoice and the service marked with it, in one transaction. The service's
        condition (no other pending change, same version) makes concurrent orders yield exactly one."""
        upgrade.gsi1pk = f"SERVICE#{upgrade.service_id}"
        upgrade.gsi1sk = f"UPGRADE#{upgrade.upgrade_id}"
        with self._transaction(by_pk={service.pk: ConcurrentModification()}) as tx:
            tx.save(upgrade, condition=Upgrade.pk.does_not_exist())
            tx.save(service, condition=Service.pending_upgrade_id.does_not_exist()
                    | (Service.pending_upgrade_id == upgrade.upgrade_id))
            if invoice is not None:
                tx.save(invoice, condition=Invoice.pk.does_not_exist())
            for item in changed:
                tx.save(item)
            for event in events:
                tx.save(event, condition=EventRecord.pk.does_not_exist())

    def upgrades_due_before(self, until_iso: str) -> Iterator[Upgrade]:
        """Changes with something due before ``until_iso`` (expiry of the unpaid, effect of the scheduled):
        a Query per shard of by_due."""
        for partition in due_partitions("UPGRADE"):
            yield from Upgrade.by_due.query(partition, Upgrade.due_sk < until_iso)

    def get_upgrade_request(self, request_id: str) -> UpgradeRequest:
        if not is_valid_id(request_id):
            raise NotFound("No encontramos ese pedido de cambio de plan.", code="upgrade_request_not_found")
        try:
            return UpgradeRequest.get(*UpgradeRequest.key(request_id))
        except DoesNotExist:
            raise NotFound("No encontramos ese pedido de cambio de plan.", code="upgrade_request_not_found") from None

    def upgrade_requests(self, status: str) -> list[UpgradeRequest]:
        """Manual upgrade requests in a status, oldest first (the queue staff work through)."""
        return list(UpgradeRequest.by_owner.query(f"UPGRADE_REQUESTS#{status}"))

    # --- WhatsApp alerts ------------------------------------------------------------------------------

    def account_people(self, client_id: str) -> tuple[Client | None, list[Contact]]:
        """A client and its contacts: one Query of the client's partition."""
        if not is_valid_id(client_id):
            return None, []
        items = list(TableItem.query(Client.key(client_id)[0]))
        client = next((i for i in items if isinstance(i, Client)), None)
        return client, [i for i in items if isinstance(i, Contact)]

    def get_deliveries(self, keys: Iterable[tuple[str, str]]) -> dict[str, Delivery]:
        """Deliveries by key (one BatchGetItem per 100); absent ones are simply missing."""
        keys = sorted(set(keys))
        return {d.pk: d for d in Delivery.batch_get(keys)} if keys else {}

    def create_deliveries(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Each new delivery, only if absent (a conditional PutItem each: deliveries are independent, so
        one that a concurrent fan-out of the same event wrote first is simply not ours to queue).
        Returns the ones this call created."""
        created = []
        for delivery in deliveries:
            try:
                _save(delivery, condition=Delivery.pk.does_not_exist())
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
        _save(delivery)

    def delivery_of_message(self, wa_message_id: str) -> Delivery | None:
        if not wa_message_id or len(wa_message_id) > 256:
            return None
        try:
            marker = WhatsAppMessage.get(*WhatsAppMessage.key(wa_message_id))
        except DoesNotExist:
            return None
        return self.get_delivery(marker.delivery_pk)

    def deliveries_of_client(self, client_id: str, recipient: str | None = None, limit: int = 50) -> list[Delivery]:
        """A client's alerts, newest first (optionally only one recipient's)."""
        condition = Delivery.recipient == recipient if recipient else None
        return list(Delivery.by_owner.query(f"ALERTS#{client_id}", scan_index_forward=False, limit=limit,
                                            filter_condition=condition))

    def deliveries_due_before(self, until_iso: str) -> Iterator[Delivery]:
        """Alerts held for the quiet hours whose window has opened: a Query per shard of by_due."""
        for partition in due_partitions("ALERT"):
            yield from Delivery.by_due.query(partition, Delivery.due_sk < until_iso)
