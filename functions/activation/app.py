"""Activation API for staff: POST /staff/services/{service_id}/activation."""

from typing import Literal

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from activation import logic

from shared.clock import SystemClock
from shared.dal.services import Services
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import ApiModel, ServiceSummary, service_summary

app = create_app()
services = Services()
clock = SystemClock()


class ActivationStep(ApiModel):
    action: Literal["requirements_met", "retry"]


@app.post(
    "/staff/services/<service_id>/activation",
    tags=["Personal"],
    summary="Requisitos cumplidos (inicia la demora) o reintentar una activación fallida",
    security=SECURED,
    responses=answers(),
)
def staff_activation(service_id: str, body: ActivationStep) -> ServiceSummary:
    return service_summary(logic.staff_step(services, clock, current_identity(app), service_id, body.action))


lambda_handler = lambda_handler_for(app)
