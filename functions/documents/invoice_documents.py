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
from shared.dal.table import TableItem
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
    def reserve(self, invoice: Invoice) -> tuple[str, list[TableItem]]:
        """The invoice's next number, and the items to write with the invoice for the number to be its own
        (written in the invoice's transaction: a number is never given twice, nor skipped)."""


class SequenceNumbering:
    """The point of sale's sequence, one more: its version makes two workers at once retry (one number each)."""

    def __init__(self, billing: Billing, point_of_sale: str):
        self._billing, self._pos = billing, point_of_sale

    def reserve(self, invoice: Invoice) -> tuple[str, list[TableItem]]:
        sequence: InvoiceSequence = self._billing.invoice_sequence(self._pos)
        sequence.last += 1
        return f"{self._pos}-{sequence.last:08d}", [sequence]


def document_key(invoice: Invoice) -> str:
    return f"invoices/{invoice.client_id}/{invoice.invoice_id}.pdf"


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
    """Number the invoice (once), render its PDF as it stands and store it; returns the invoice and the PDF.

    The number is committed first, on its own (the sequence and the invoice's number, nothing slow in between:
    concurrent workers contend for the sequence only for a read and a write); then the PDF is rendered from the
    invoice as last written and stored, and its key recorded. Rendered again later (paid, overdue, refunded) it
    replaces the file; S3 keeps the earlier versions."""
    for _ in range(ATTEMPTS):
        if invoice.number:
            break
        number, items = numbering.reserve(invoice)
        invoice.number = number
        uow = UnitOfWork()
        for item in items:
            uow.save(item)
        uow.save(invoice, condition=Invoice.number.does_not_exist())
        try:
            uow.commit()
        except ConcurrentModification:  # another worker numbered it, a payment wrote it, or the number was taken
            invoice.refresh(consistent_read=True)
    else:
        raise ConcurrentModification()
    key = document_key(invoice)
    for _ in range(ATTEMPTS):
        pdf = _store(s3, bucket, invoice, client, issuer)
        if invoice.document_key == key:
            latest = billing.find_invoice(invoice.invoice_id)
            if latest is None or latest.version == invoice.version:
                return invoice, pdf
            invoice = latest  # changed while it was rendered (paid meanwhile): rendered again as it is now
            continue
        invoice.document_key = key
        uow = UnitOfWork()
        uow.save(invoice)  # version-checked: a change meanwhile is rendered again before its key is recorded
        try:
            uow.commit()
            return invoice, pdf
        except ConcurrentModification:
            invoice.refresh(consistent_read=True)
    raise ConcurrentModification()


def _store(s3: Any, bucket: str, invoice: Invoice, client: Client | None, issuer: Issuer) -> bytes:
    pdf = render(invoice, client, issuer)
    s3.put_object(Bucket=bucket, Key=document_key(invoice), Body=pdf, ContentType="application/pdf",
                  ContentDisposition=f'attachment; filename="{invoice.document_filename}"',
                  Metadata={"invoice-id": invoice.invoice_id, "number": invoice.number or ""})
    return pdf
