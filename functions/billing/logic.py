"""Who sees which invoice."""

from shared.auth import Identity, Permission, authorize, require_account, require_staff
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.schemas import InvoiceOut, PaymentOut, invoice_out, payment_out


def my_invoices(billing: Billing, accounts: Accounts, identity: Identity) -> list[InvoiceOut]:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.INVOICES, accounts.contact_permissions)
    return [invoice_out(i) for i in billing.list_invoices(client_id)]


def my_invoice(billing: Billing, accounts: Accounts, identity: Identity, invoice_id: str) -> InvoiceOut:
    require_account(identity)
    invoice = billing.get_invoice(invoice_id)
    authorize(identity, invoice.client_id, Permission.INVOICES, accounts.contact_permissions)
    return invoice_out(invoice)


def invoice_payments(billing: Billing, identity: Identity, invoice_id: str) -> list[PaymentOut]:
    """Staff: every payment received for an invoice — under/over-payments and currency mismatches too."""
    require_staff(identity)
    return [payment_out(p) for p in billing.payments_of_invoice(invoice_id)]


def unmatched_payments(billing: Billing, identity: Identity) -> list[PaymentOut]:
    """Staff: payments whose reference is no invoice of ours, newest first."""
    require_staff(identity)
    return [payment_out(p) for p in billing.unmatched_payments()]
