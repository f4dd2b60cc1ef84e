"""The document step of an invoice: its number, then its PDF in S3. The one seam for fiscal documents.

Today the number comes from our own gap-free sequence per point of sale and the PDF says it is not an
electronic invoice. An AFIP/ARCA integration (docs/billing.md) replaces ``Numbering``: it asks WSFEv1 for
the next number of the point of sale and a CAE (FECAESolicitar), and the document prints the CAE, its due
date and the QR. Everything else (when the step runs, where the PDF goes, who may download it) stays.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from shared.calendar import local_date
from shared.clock import from_storage
from shared.dal.accounts import Client
from shared.dal.billing import Billing, Invoice, InvoiceSequence
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification
from shared.money import Currency, Money

NOT_ELECTRONIC = "Comprobante interno: no válido como factura electrónica (AFIP/ARCA)."
ATTEMPTS = 5


@dataclass(frozen=True)
class Issuer:
    name: str
    tax_id: str | None
    details: tuple[str, ...]
    point_of_sale: str  # "0001"


class Numbering(Protocol):
    def number(self, invoice: Invoice) -> Invoice:
        """The invoice with its number (given once; the same one when asked again)."""


class SequenceNumbering:
    """The next number of the point of sale's sequence and the invoice's number, written in one transaction:
    the sequence's and the invoice's versions make two workers (or a payment writing the invoice) retry, so
    no number is given twice or skipped."""

    def __init__(self, billing: Billing, point_of_sale: str):
        self._billing, self._pos = billing, point_of_sale

    def number(self, invoice: Invoice) -> Invoice:
        for _ in range(ATTEMPTS):
            if invoice.number:
                return invoice
            sequence: InvoiceSequence = self._billing.invoice_sequence(self._pos)
            sequence.last += 1
            invoice.number = f"{self._pos}-{sequence.last:08d}"
            uow = UnitOfWork()
            uow.save(sequence)
            uow.save(invoice, condition=Invoice.number.does_not_exist())
            try:
                uow.commit()
                return invoice
            except ConcurrentModification:
                invoice.refresh(consistent_read=True)  # read again: numbered meanwhile, or paid?
        raise ConcurrentModification()


def document_key(invoice: Invoice) -> str:
    return f"invoices/{invoice.client_id}/{invoice.invoice_id}.pdf"


def filename(invoice: Invoice) -> str:
    return f"factura-{invoice.number or invoice.invoice_id}.pdf"


def tax_id_text(tax_id: str | None) -> str | None:
    """A CUIT/CUIL as printed (20-12345678-6); a DNI (or anything else) as stored."""
    if tax_id and len(tax_id) == 11 and tax_id.isdigit():
        return f"{tax_id[:2]}-{tax_id[2:10]}-{tax_id[10]}"
    return tax_id


def _day(stored: str | None) -> date | None:
    return local_date(from_storage(stored)) if stored else None


def render(invoice: Invoice, client: Client | None, issuer: Issuer) -> bytes:
    """The invoice's PDF as it stands (fpdf2 is imported here: only the worker that renders loads it)."""
    from documents.invoice_pdf import DocumentLine, InvoiceDocument, Party, render_invoice_pdf

    currency = Currency(invoice.currency)
    lines = tuple(
        DocumentLine(description=line.description, period_start=_day(line.period_start),
                     period_end=_day(line.period_end), amount=Money(line.amount, currency))
        for line in invoice.lines
    )
    document = InvoiceDocument(
        number=invoice.number or invoice.invoice_id,
        issued_on=local_date(from_storage(invoice.issued_at)),
        due_on=local_date(from_storage(invoice.due_at)),
        issuer=Party(name=issuer.name, tax_id=tax_id_text(issuer.tax_id), details=issuer.details),
        client=Party(name=client.name, tax_id=tax_id_text(client.tax_id),
                     details=tuple(x for x in (client.company, client.email, client.country) if x))
        if client else Party(name="-", tax_id=None),
        lines=lines,
        total=Money(invoice.total, currency),
        paid=Money(min(invoice.amount_paid, invoice.total), currency),
        status=invoice.status,
        notes=(NOT_ELECTRONIC, f"Referencia: {invoice.invoice_id}"),
    )
    return render_invoice_pdf(document)


def make_document(billing: Billing, s3: Any, bucket: str, numbering: Numbering, invoice: Invoice,
                  client: Client | None, issuer: Issuer) -> tuple[Invoice, bytes]:
    """Number the invoice (once), render its PDF as it stands and store it (S3 keeps earlier versions: the
    one sent when it was issued, the one sent when it was paid). Returns the invoice and the PDF."""
    invoice = numbering.number(invoice)
    pdf = render(invoice, client, issuer)
    key = document_key(invoice)
    s3.put_object(Bucket=bucket, Key=key, Body=pdf, ContentType="application/pdf",
                  ContentDisposition=f'attachment; filename="{filename(invoice)}"',
                  Metadata={"invoice-id": invoice.invoice_id, "number": invoice.number or ""})
    if invoice.document_key != key:
        for _ in range(ATTEMPTS):
            invoice.document_key = key
            try:
                uow = UnitOfWork()
                uow.save(invoice)
                uow.commit()
                break
            except ConcurrentModification:  # a payment wrote it meanwhile: keep its changes, add ours
                invoice.refresh(consistent_read=True)
                if invoice.document_key == key:
                    break
    return invoice, pdf
