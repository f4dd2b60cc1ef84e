"""Orders API: POST /me/orders (the client area) and POST /staff/clients/{client_id}/orders: one logic."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from orders import logic
from orders.schemas import ClientOrder, CreateOrder, OrderOut

from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.idempotency import Answers
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
recorded = Answers()
accounts = Accounts()
clock = SystemClock()
kms = LazyClient("kms")


@app.post(
    "/staff/clients/<client_id>/orders",
    tags=["Personal"],
    summary="Crear un servicio con su primera factura",
    description=(
        "Con el encabezado `Idempotency-Key` (1 a 64 letras, números, `-` o `_`), un reintento devuelve "
        "el mismo pedido en lugar de crear otro."
    ),
    security=SECURED,
    responses=answers(201, "Servicio y factura creados"),
)
def staff_create_order(client_id: str, body: CreateOrder) -> tuple[OrderOut, int]:
    key = app.current_event.headers.get("Idempotency-Key")  # Powertools headers are case-insensitive
    return logic.create_order(recorded, kms, clock, current_identity(app), client_id, body, key), 201


@app.post(
    "/me/orders",
    tags=["Pedidos"],
    summary="Contratar un servicio",
    description=(
        "Crea el servicio y su primera factura, lista para pagar (POST /me/invoices/{invoice_id}/checkout). "
        "Con el encabezado `Idempotency-Key` (1 a 64 letras, números, `-` o `_`), un reintento devuelve el "
        "mismo pedido en lugar de crear otro. Hosting y dominios piden `domain`."
    ),
    security=SECURED,
    responses=answers(201, "Servicio y factura creados"),
)
def create_my_order(body: ClientOrder) -> tuple[OrderOut, int]:
    key = app.current_event.headers.get("Idempotency-Key")
    return logic.create_client_order(recorded, accounts, kms, clock, current_identity(app), body, key), 201


lambda_handler = lambda_handler_for(app)
