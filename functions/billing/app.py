"""Billing API: my invoices, one invoice and its PDF; staff: an invoice's payments, unmatched payments."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from billing import logic

from shared import config
from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import DocumentOut, InvoiceOut, PaymentOut

app = create_app()
billing, accounts = Billing(), Accounts()
# Presigning is local (no request to S3). SigV4: buckets created since 2020 refuse SigV2 links, which boto3
# still makes by default.
s3 = LazyClient("s3", signature_version="s3v4")
clock = SystemClock()


@app.get("/me/invoices", tags=["Facturación"], summary="Mis facturas", security=SECURED, responses=answers())
def list_my_invoices() -> list[InvoiceOut]:
    return logic.my_invoices(billing, accounts, current_identity(app))


@app.get(
    "/me/invoices/<invoice_id>",
    tags=["Facturación"],
    summary="Detalle de una factura",
    security=SECURED,
    responses=answers(),
)
def get_my_invoice(invoice_id: str) -> InvoiceOut:
    return logic.my_invoice(billing, accounts, current_identity(app), invoice_id)


@app.get(
    "/me/invoices/<invoice_id>/document",
    tags=["Facturación"],
    summary="PDF de una factura",
    description="Un enlace de descarga válido por 5 minutos. 409 `document_pending` mientras se genera.",
    security=SECURED,
    responses=answers(),
)
def get_my_invoice_document(invoice_id: str) -> DocumentOut:
    return logic.invoice_document(billing, accounts, s3, config.env(config.DOCUMENTS_BUCKET), clock,
                                  current_identity(app), invoice_id)


@app.get(
    "/staff/invoices/<invoice_id>/payments",
    tags=["Personal"],
    summary="Pagos recibidos para una factura",
    security=SECURED,
    responses=answers(),
)
def staff_invoice_payments(invoice_id: str) -> list[PaymentOut]:
    return logic.invoice_payments(billing, current_identity(app), invoice_id)


@app.get(
    "/staff/payments/unmatched",
    tags=["Personal"],
    summary="Pagos que no corresponden a ninguna factura",
    security=SECURED,
    responses=answers(),
)
def staff_unmatched_payments() -> list[PaymentOut]:
    return logic.unmatched_payments(billing, current_identity(app))


lambda_handler = lambda_handler_for(app)
