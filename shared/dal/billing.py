"""Billing: invoices and the provider payments applied to them."""

from collections.abc import Iterator

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import IntegerAttribute, TableItem, due_partitions, find_by_id, get_by_id
from shared.dal.unit_of_work import UnitOfWork
from shared.ids import is_valid_id
from shared.money import Currency, Money

# Payments no invoice took, for staff to review: no invoice of ours (unmatched), or an amount no invoice
# may take (invalid_amount: zero, negative, a fraction of a minor unit). One list, so one Query.
UNMATCHED_PAYMENTS = "PAYMENTS#UNMATCHED"


class PaymentAlreadyRecorded(Exception):
    """This provider payment was recorded before (a redelivered or concurrent notification)."""


class InvoiceLine(MapAttribute):
    service_id = UnicodeAttribute(null=True)
    description = UnicodeAttribute()
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)
    amount = IntegerAttribute()


class Invoice(TableItem, discriminator="Invoice"):
    """status: unpaid | paid | cancelled | refunded (every payment taken back: it may be paid again,
    docs/payments.md)."""

    invoice_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    lines = ListAttribute(of=InvoiceLine)
    currency = UnicodeAttribute()
    total = IntegerAttribute()
    amount_paid = IntegerAttribute(default=0)
    status = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    due_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    upgrade_id = UnicodeAttribute(null=True)  # the plan change this invoice pays for
    purpose = UnicodeAttribute(null=True)  # None: an order | renewal: a service's next cycle | quote
    quote_id = UnicodeAttribute(null=True)  # the accepted quote this invoice bills
    # The document step (functions/documents): the number it was given and the PDF's S3 key, once made.
    number = UnicodeAttribute(null=True)
    document_key = UnicodeAttribute(null=True)
    reminders_sent = IntegerAttribute(default=0)  # how many stages of the reminder schedule went out
    version = VersionAttribute()

    @staticmethod
    def key(invoice_id: str) -> tuple[str, str]:
        return f"INVOICE#{invoice_id}", "INVOICE"

    @property
    def balance(self) -> int:
        """What is still owed: an open (unpaid or refunded) invoice's total less what was paid on it."""
        return max(self.total - self.amount_paid, 0) if self.status in ("unpaid", "refunded") else 0

    def money(self, amount: int) -> Money:
        return Money(amount, Currency(self.currency))

    @property
    def document_filename(self) -> str:
        """What its PDF is called when downloaded or attached."""
        return f"factura-{self.number or self.invoice_id}.pdf"

    def service_ids(self) -> list[str]:
        return sorted({line.service_id for line in self.lines if line.service_id})


class Payment(TableItem, discriminator="Payment"):
    """One provider payment. Its key is the provider's payment id, so it can be recorded only once.

    status: applied (to its invoice) | underpaid (applied, invoice still owes) | currency_mismatch |
    unmatched (no invoice of ours) | credited (invoice closed: all to the client's credit) | refunded |
    refunded_unseen (the refund came before the payment: a tombstone the late payment finds) |
    invalid_amount (zero, negative or fractional: for staff, nothing applied).
    """

    provider = UnicodeAttribute()  # mercadopago | stripe | credit (the client's own balance)
    provider_payment_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute(null=True)
    client_id = UnicodeAttribute(null=True)
    amount = IntegerAttribute(default=0)  # minor units, as the provider reported it
    currency = UnicodeAttribute(null=True)
    applied = IntegerAttribute(default=0)  # to the invoice
    credited = IntegerAttribute(default=0)  # to the client's credit balance
    status = UnicodeAttribute()
    provider_status = UnicodeAttribute()
    reported_amount = UnicodeAttribute(null=True)  # the provider's text, when it was not a usable amount
    received_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(provider: str, provider_payment_id: str) -> tuple[str, str]:
        return f"PAYMENT#{provider}#{provider_payment_id}", "PAYMENT"


class Checkout(TableItem, discriminator="Checkout"):
    """Where the client was sent to pay an invoice at a provider (a Mercado Pago preference, a Stripe
    Checkout Session): one per invoice and provider, reused while it is open and asks for the same balance."""

    invoice_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    provider = UnicodeAttribute()  # mercadopago | stripe
    amount = IntegerAttribute()  # the balance it asks for, minor units
    currency = UnicodeAttribute()
    reference = UnicodeAttribute()  # the preference or session id
    url = UnicodeAttribute()  # init_point / session url
    generation = IntegerAttribute(default=1)  # one more each time it is replaced (the providers' idempotency key)
    created_at = UnicodeAttribute()
    open_until = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(invoice_id: str, provider: str) -> tuple[str, str]:
        return f"INVOICE#{invoice_id}", f"CHECKOUT#{provider}"


class InvoiceSequence(TableItem, discriminator="InvoiceSequence"):
    """The last number given to an invoice at one point of sale (punto de venta): numbers follow each other
    without gaps, as a fiscal numbering must (functions/documents/invoice_documents.py)."""

    point_of_sale = UnicodeAttribute()
    last = IntegerAttribute(default=0)
    version = VersionAttribute()

    @staticmethod
    def key(point_of_sale: str) -> tuple[str, str]:
        return f"SEQUENCE#INVOICE#{point_of_sale}", "SEQUENCE"


class Billing:
    def list_invoices(self, client_id: str) -> list[Invoice]:
        if not is_valid_id(client_id):
            return []
        return list(Invoice.by_owner.query(f"CLIENT#{client_id}", Invoice.gsi1sk.startswith("INVOICE#"),
                                           scan_index_forward=False))

    def get_invoice(self, invoice_id: str) -> Invoice:
        return get_by_id(Invoice, invoice_id)

    def find_invoice(self, invoice_id: str | None) -> Invoice | None:
        return find_by_id(Invoice, invoice_id) if isinstance(invoice_id, str) else None

    def invoices_due_before(self, until_iso: str) -> Iterator[Invoice]:
        """Unpaid invoices whose due date is before ``until_iso``: a Query per shard of by_due."""
        for partition in due_partitions("INVOICE"):
            yield from Invoice.by_due.query(partition, Invoice.due_sk < until_iso)

    def invoice_sequence(self, point_of_sale: str) -> InvoiceSequence:
        """The point of sale's sequence as last written (a new one, at 0, if none was)."""
        try:
            return InvoiceSequence.get(*InvoiceSequence.key(point_of_sale), consistent_read=True)
        except DoesNotExist:
            return InvoiceSequence(*InvoiceSequence.key(point_of_sale), point_of_sale=point_of_sale, last=0)

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
        """Payments no invoice took (no invoice of ours, or an amount staff must look at), newest first."""
        return list(Payment.by_owner.query(UNMATCHED_PAYMENTS, scan_index_forward=False))

    def add_payment(self, uow: UnitOfWork, payment: Payment) -> None:
        """A new provider payment (once per provider id: a second one is PaymentAlreadyRecorded), listed
        under its invoice for staff, or on a review list when no invoice took it."""
        if payment.client_id and payment.status != "invalid_amount":
            payment.gsi1pk = f"INVOICE#{payment.invoice_id}"
        else:
            payment.gsi1pk = UNMATCHED_PAYMENTS
        payment.gsi1sk = f"PAYMENT#{payment.received_at}#{payment.provider}#{payment.provider_payment_id}"
        uow.create(payment, error=PaymentAlreadyRecorded())
