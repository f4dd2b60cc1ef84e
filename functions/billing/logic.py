"""Who sees which invoice."""

from shared.auth import Identity, Permission, authorize, require_account
from shared.dal.repositories import Store
from shared.schemas import InvoiceOut, invoice_out


def my_invoices(store: Store, identity: Identity) -> list[InvoiceOut]:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.INVOICES, store.contact_permissions)
    return [invoice_out(i) for i in store.list_invoices(client_id)]


def my_invoice(store: Store, identity: Identity, invoice_id: str) -> InvoiceOut:
    require_account(identity)
    invoice = store.get_invoice(invoice_id)
    authorize(identity, invoice.client_id, Permission.INVOICES, store.contact_permissions)
    return invoice_out(invoice)
