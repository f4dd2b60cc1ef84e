"""Billing API: GET /me/invoices, GET /me/invoices/{invoice_id}."""

from billing import logic

from shared.dal.repositories import Store
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import InvoiceOut, PaymentOut

app = create_app()
store = Store()


@app.get("/me/invoices", tags=["Facturación"], summary="Mis facturas", security=SECURED, responses=answers())
def list_my_invoices() -> list[InvoiceOut]:
    return logic.my_invoices(store, current_identity(app))


@app.get(
    "/me/invoices/<invoice_id>",
    tags=["Facturación"],
    summary="Detalle de una factura",
    security=SECURED,
    responses=answers(),
)
def get_my_invoice(invoice_id: str) -> InvoiceOut:
    return logic.my_invoice(store, current_identity(app), invoice_id)


@app.get(
    "/staff/invoices/<invoice_id>/payments",
    tags=["Personal"],
    summary="Pagos recibidos para una factura",
    security=SECURED,
    responses=answers(),
)
def staff_invoice_payments(invoice_id: str) -> list[PaymentOut]:
    return logic.invoice_payments(store, current_identity(app), invoice_id)


@app.get(
    "/staff/payments/unmatched",
    tags=["Personal"],
    summary="Pagos que no corresponden a ninguna factura",
    security=SECURED,
    responses=answers(),
)
def staff_unmatched_payments() -> list[PaymentOut]:
    return logic.unmatched_payments(store, current_identity(app))


lambda_handler = lambda_handler_for(app)
