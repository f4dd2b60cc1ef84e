"""Orders API: POST /staff/clients/{client_id}/orders."""

from typing import Annotated

import boto3
from aws_lambda_powertools.event_handler.openapi.params import Body
from orders import logic
from orders.schemas import CreateOrder, OrderOut

from shared.clock import SystemClock
from shared.config import region
from shared.dal.repositories import Store
from shared.http import SECURED, create_app, current_identity, lambda_handler_for

app = create_app()
store = Store()
clock = SystemClock()
kms = boto3.client("kms", region_name=region())


@app.post(
    "/staff/clients/<client_id>/orders", tags=["Personal"], summary="Crear un servicio con su primera factura",
    security=SECURED,
)
def staff_create_order(client_id: str, body: Annotated[CreateOrder, Body()]) -> tuple[OrderOut, int]:
    return logic.create_order(store, kms, clock, current_identity(app), client_id, body), 201


lambda_handler = lambda_handler_for(app)
