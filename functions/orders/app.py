"""Orders API: POST /staff/clients/{client_id}/orders."""

from orders import logic
from orders.schemas import CreateOrder, OrderOut

from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.idempotency import Answers
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
recorded = Answers()
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


lambda_handler = lambda_handler_for(app)
