"""Lifecycle API: cancellation preview, request and withdrawal (holder only); a domain's auto-renewal;
restore requests for a kept backup; staff's administrative termination."""

from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler.openapi.params import Query
from lifecycle import logic
from lifecycle.schemas import (
    CancellationOut,
    CancellationPreview,
    CancellationRequest,
    CancellationType,
    RestoreRequestIn,
    RestoreRequestOut,
    ServiceChange,
    StaffTermination,
)

from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.lifecycle import Lifecycle
from shared.dal.services import Services
from shared.dal.upgrades import Upgrades
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.lifecycle import LifecyclePolicy
from shared.password_check import PasswordCheck
from shared.schemas import ServiceSummary

app = create_app()
stores = logic.LifecycleStores(Services(), Accounts(), Billing(), Lifecycle(), Upgrades())
passwords = PasswordCheck.from_env()
clock = SystemClock()


@app.get(
    "/services/<service_id>/cancellation-preview",
    tags=["Bajas"],
    summary="Qué pasará si pide la baja (sin cambiar nada)",
    description="Fecha en que se hace efectiva, facturas que igual deben abonarse, qué se elimina del servidor "
                "y hasta cuándo se conserva el backup. Un dominio responde 409: solo puede dejar de renovarse.",
    security=SECURED,
    responses=answers(),
)
def cancellation_preview(service_id: str,
                         type: Annotated[CancellationType, Query()] = "end_of_period") -> CancellationPreview:  # noqa: A002
    return logic.cancellation_preview(stores, clock, LifecyclePolicy.from_env(), current_identity(app), service_id,
                                      type)


@app.post(
    "/services/<service_id>/cancellation",
    tags=["Bajas"],
    summary="Pedir la baja del servicio (solo el titular, con su clave)",
    description="Inmediata: se hace efectiva en el día. Al fin del período: el servicio sigue operativo hasta "
                "el fin del período facturado y no se renueva. Nada de lo abonado se reintegra.",
    security=SECURED,
    responses=answers(201, "Baja registrada"),
)
def request_cancellation(service_id: str, body: CancellationRequest) -> tuple[CancellationOut, int]:
    return logic.request_cancellation(stores, passwords, clock, LifecyclePolicy.from_env(), current_identity(app),
                                      service_id, body), 201


@app.get(
    "/services/<service_id>/cancellation",
    tags=["Bajas"],
    summary="La baja pedida para el servicio",
    security=SECURED,
    responses=answers(),
)
def get_cancellation(service_id: str) -> CancellationOut:
    return logic.cancellation_of(stores, current_identity(app), service_id)


@app.delete(
    "/services/<service_id>/cancellation",
    tags=["Bajas"],
    summary="Retirar una baja pendiente (antes de que se haga efectiva)",
    security=SECURED,
    responses=answers(),
)
def withdraw_cancellation(service_id: str) -> CancellationOut:
    return logic.withdraw_cancellation(stores, clock, LifecyclePolicy.from_env(), current_identity(app), service_id)


@app.patch(
    "/services/<service_id>",
    tags=["Bajas"],
    summary="Renovación automática de un dominio",
    description="Desactivarla anula la factura de renovación impaga y el dominio vence al terminar el año pagado.",
    security=SECURED,
    responses=answers(),
)
def change_service(service_id: str, body: ServiceChange) -> ServiceSummary:
    return logic.change_service(stores, clock, LifecyclePolicy.from_env(), current_identity(app), service_id, body)


@app.post(
    "/services/<service_id>/backup-restore-requests",
    tags=["Bajas"],
    summary="Pedir la restauración del backup conservado de un servicio dado de baja",
    security=SECURED,
    responses=answers(201, "Pedido registrado"),
)
def request_restore(service_id: str, body: RestoreRequestIn) -> tuple[RestoreRequestOut, int]:
    return logic.request_restore(stores, clock, current_identity(app), service_id, body), 201


@app.get(
    "/staff/backup-restore-requests",
    tags=["Personal"],
    summary="Pedidos de restauración de backups abiertos (el más reciente primero)",
    security=SECURED,
    responses=answers(),
)
def staff_restore_requests() -> list[RestoreRequestOut]:
    return logic.staff_restore_requests(stores, current_identity(app))


@app.post(
    "/staff/services/<service_id>/termination",
    tags=["Personal"],
    summary="Baja administrativa (abuso, orden judicial), con su motivo",
    security=SECURED,
    responses=answers(),
)
def staff_terminate(service_id: str, body: StaffTermination) -> ServiceSummary:
    return logic.staff_terminate(stores, clock, current_identity(app), service_id, body)


lambda_handler = lambda_handler_for(app)
