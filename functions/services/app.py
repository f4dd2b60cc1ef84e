"""Services API: GET /me/services, GET /me/services/{service_id}, GET /staff/clients/{client_id}/services."""

from services import logic

from shared.aws import LazyClient
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import ServiceDetail, ServiceSummary

app = create_app()
services, accounts = Services(), Accounts()
kms = LazyClient("kms")


@app.get("/me/services", tags=["Servicios"], summary="Mis servicios", security=SECURED, responses=answers())
def list_my_services() -> list[ServiceSummary]:
    return logic.my_services(services, accounts, current_identity(app))


@app.get(
    "/me/services/<service_id>",
    tags=["Servicios"],
    summary="Detalle, manual y claves",
    security=SECURED,
    responses=answers(),
)
def get_my_service(service_id: str) -> ServiceDetail:
    return logic.my_service(services, accounts, kms, current_identity(app), service_id)


@app.get(
    "/staff/clients/<client_id>/services",
    tags=["Personal"],
    summary="Servicios de un cliente",
    security=SECURED,
    responses=answers(),
)
def staff_list_services(client_id: str) -> list[ServiceSummary]:
    return logic.client_services(services, current_identity(app), client_id)


lambda_handler = lambda_handler_for(app)
