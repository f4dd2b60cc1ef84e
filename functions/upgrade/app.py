"""Upgrades API: options with prices, ordering and cancelling a plan change, manual requests; staff queue
of manual requests and server flags."""

from typing import Annotated, Literal

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler.openapi.params import Query
from upgrade import logic
from upgrade.pricing import PricingPolicy
from upgrade.schemas import (
    ManualUpgradeRequest,
    ResolveUpgradeRequest,
    ServerOut,
    ServerSettings,
    UpgradeOptionsOut,
    UpgradeOrder,
    UpgradeOrderOut,
    UpgradeOut,
    UpgradeRequestOut,
)

from shared import config
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.catalog import Catalog
from shared.dal.services import Services
from shared.dal.upgrades import Upgrades
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
stores = logic.UpgradeStores(Services(), Accounts(), Catalog(), Billing(), Upgrades())
clock = SystemClock()


def policy() -> PricingPolicy:
    return PricingPolicy(upgrade=config.env(config.UPGRADE_PRICING, "difference"),
                         downgrade=config.env(config.DOWNGRADE_TIMING, "next_renewal"))


def pay_within_days() -> int:
    return int(config.env(config.UPGRADE_PAY_WITHIN_DAYS, "7"))


@app.get(
    "/services/<service_id>/upgrade-options",
    tags=["Cambios de plan"],
    summary="Planes a los que puede pasar el servicio, con lo que se paga hoy",
    description="Si no hay opciones automáticas, `blockers` dice por qué y `manual_request` cómo pedirlo.",
    security=SECURED,
    responses=answers(),
)
def get_upgrade_options(service_id: str) -> UpgradeOptionsOut:
    return logic.upgrade_options(stores, clock, policy(), current_identity(app), service_id)


@app.get(
    "/services/<service_id>/upgrades",
    tags=["Cambios de plan"],
    summary="Cambios de plan del servicio (el más reciente primero)",
    security=SECURED,
    responses=answers(),
)
def list_upgrades(service_id: str) -> list[UpgradeOut]:
    return logic.list_upgrades(stores, current_identity(app), service_id)


@app.post(
    "/services/<service_id>/upgrades",
    tags=["Cambios de plan"],
    summary="Pedir un cambio de plan (se aplica al pagar la factura de la diferencia)",
    description="Sin nada que pagar hoy se aplica en el acto, o en la renovación si así corresponde.",
    security=SECURED,
    responses=answers(201, "Cambio de plan registrado"),
)
def order_upgrade(service_id: str, body: UpgradeOrder) -> tuple[UpgradeOrderOut, int]:
    return logic.order_upgrade(stores, clock, policy(), pay_within_days(), current_identity(app), service_id,
                               body), 201


@app.post(
    "/services/<service_id>/upgrades/<upgrade_id>/cancel",
    tags=["Cambios de plan"],
    summary="Cancelar un cambio de plan impago o programado",
    security=SECURED,
    responses=answers(),
)
def cancel_upgrade(service_id: str, upgrade_id: str) -> UpgradeOut:
    return logic.cancel_upgrade(stores, clock, current_identity(app), service_id, upgrade_id)


@app.post(
    "/services/<service_id>/upgrade-requests",
    tags=["Cambios de plan"],
    summary="Pedir el cambio de plan al ejecutivo de cuentas",
    security=SECURED,
    responses=answers(201, "Pedido registrado"),
)
def request_manual_upgrade(service_id: str, body: ManualUpgradeRequest) -> tuple[UpgradeRequestOut, int]:
    return logic.request_manual_upgrade(stores, clock, current_identity(app), service_id, body), 201


@app.get(
    "/staff/upgrade-requests",
    tags=["Personal"],
    summary="Pedidos de cambio de plan (los más antiguos primero)",
    security=SECURED,
    responses=answers(),
)
def staff_upgrade_requests(
    status: Annotated[Literal["open", "done", "declined"], Query()] = "open",
    account_executive: Annotated[str | None, Query(max_length=200)] = None,
) -> list[UpgradeRequestOut]:
    return logic.staff_upgrade_requests(stores, current_identity(app), status, account_executive)


@app.post(
    "/staff/upgrade-requests/<request_id>/resolve",
    tags=["Personal"],
    summary="Resolver un pedido de cambio de plan",
    security=SECURED,
    responses=answers(),
)
def staff_resolve_request(request_id: str, body: ResolveUpgradeRequest) -> UpgradeRequestOut:
    return logic.staff_resolve_request(stores, clock, current_identity(app), request_id, body)


@app.post(
    "/staff/upgrades/<upgrade_id>/complete",
    tags=["Personal"],
    summary="Dar por aplicado un cambio de plan cuyo paquete se cambió a mano en el servidor",
    security=SECURED,
    responses=answers(),
)
def staff_complete_upgrade(upgrade_id: str) -> UpgradeOut:
    return logic.staff_complete_upgrade(stores, clock, current_identity(app), upgrade_id)


@app.put(
    "/staff/servers/<server_name>",
    tags=["Personal"],
    summary="Habilitar o no los cambios de plan automáticos en un servidor",
    security=SECURED,
    responses=answers(),
)
def staff_set_server(server_name: str, body: ServerSettings) -> ServerOut:
    return logic.staff_set_server(stores, clock, current_identity(app), server_name, body)


lambda_handler = lambda_handler_for(app)
