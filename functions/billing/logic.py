"""Who sees which invoice, and its PDF."""

from datetime import timedelta
from typing import Any

from shared.auth import Identity, Permission, authorize, in_scope, require_account, require_staff
from shared.clock import Clock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing, Invoice
from shared.errors import Conflict
from shared.schemas import DocumentOut, InvoiceOut, PaymentOut, invoice_out, payment_out

# A download link is for the click that asked for it: short-lived, never stored or emailed.
DOCUMENT_LINK_LIFETIME = timedelta(minutes=5)


class DocumentPending(Conflict):
    code = "document_pending"
    message = "El PDF de la factura se está generando. Vuelva a intentarlo en unos segundos."


def my_invoices(billing: Billing, accounts: Accounts, identity: Identity) -> list[InvoiceOut]:
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.INVOICES, accounts.contact_permissions)
    return [invoice_out(i) for i in billing.list_invoices(client_id) if in_scope(grant, i.service_ids())]


def my_invoice(billing: Billing, accounts: Accounts, identity: Identity, invoice_id: str) -> InvoiceOut:
    require_account(identity)
    invoice = billing.get_invoice(invoice_id)
    authorize(identity, invoice.client_id, Permission.INVOICES, accounts.contact_permissions,
              services=invoice.service_ids())
    return invoice_out(invoice)


def invoice_payments(billing: Billing, identity: Identity, invoice_id: str) -> list[PaymentOut]:
    """Staff: every payment received for an invoice — under/over-payments and currency mismatches too."""
    require_staff(identity)
    return [payment_out(p) for p in billing.payments_of_invoice(invoice_id)]


def unmatched_payments(billing: Billing, identity: Identity) -> list[PaymentOut]:
    """Staff: payments whose reference is no invoice of ours, newest first."""
    require_staff(identity)
    return [payment_out(p) for p in billing.unmatched_payments()]


def invoice_document(billing: Billing, accounts: Accounts, s3: Any, bucket: str, clock: Clock, identity: Identity,
                     invoice_id: str) -> DocumentOut:
    """A presigned link to the invoice's PDF for whoever may see the invoice."""
    require_account(identity)
    invoice, rights = accounts.with_rights(Invoice, invoice_id, identity.client_id, identity.contact_id)
    authorize(identity, invoice.client_id, Permission.INVOICES, rights, services=invoice.service_ids())
    if not invoice.document_key:
        raise DocumentPending()
    filename = invoice.document_filename
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": invoice.document_key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "application/pdf"},
        ExpiresIn=int(DOCUMENT_LINK_LIFETIME.total_seconds()),
    )
    return DocumentOut(url=url, filename=filename, number=invoice.number,
                       expires_at=clock.now() + DOCUMENT_LINK_LIFETIME)
