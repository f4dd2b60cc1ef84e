"""Who sees which invoice."""

from shared.auth import Identity, Permission, authorize, require_account, require_staff
from shared.dal.repositories import Store
from shared.schemas import InvoiceOut, PaymentOut, invoice_out, payment_out


def my_invoices(store: Store, identity: Identity) -> list[InvoiceOut]:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.INVOICES, store.contact_permissions)
    return [invoice_out(i) for i in store.list_invoices(client_id)]


def my_invoice(store: Store, identity: Identity, invoice_id: str) -> InvoiceOut:
    require_account(identity)
    invoice = store.get_invoice(invoice_id)
    authorize(identity, invoice.client_id, Permission.INVOICES, store.contact_permissions)
    return invoice_out(invoice)


def invoice_payments(store: Store, identity: Identity, invoice_id: str) -> list[PaymentOut]:
    """Staff: every payment received for an invoice — under/over-payments and currency mismatches too."""
    require_staff(identity)
    return [payment_out(p) for p in store.payments_of_invoice(invoice_id)]


def unmatched_payments(store: Store, identity: Identity) -> list[PaymentOut]:
    """Staff: payments whose reference is no invoice of ours, newest first."""
    require_staff(identity)
    return [payment_out(p) for p in store.unmatched_payments()]
