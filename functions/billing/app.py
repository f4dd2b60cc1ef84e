"""Billing API: GET /me/invoices, GET /me/invoices/{invoice_id}."""

from billing import logic

from shared.dal.repositories import Store
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import InvoiceOut

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


lambda_handler = lambda_handler_for(app)
