"""Transfers API (Cambio de titular): the source holder asks with the password (or confirms staff's request from
their ticket), the target holder accepts with theirs or declines, staff approve (with the verification note when
the accounts' data differ) or reject; the move is one transaction (transfers.logic)."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from transfers import logic
from transfers.schemas import Approval, Consent, Rejection, StaffTransferRequest, TransferOut, TransferRequest

from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.services import Services
from shared.dal.transfers import Transfers
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.password_check import PasswordCheck

app = create_app()
stores = logic.TransferStores(Transfers(), Services(), Accounts(), Billing())
passwords = PasswordCheck.from_env()
clock = SystemClock()
TAGS, STAFF_TAGS = ["Transferencias"], ["Personal", "Transferencias"]


@app.post("/services/<service_id>/transfer", tags=TAGS, summary="Transferir el servicio a otro cliente (titular)",
          description="El cliente que lo recibe debe existir (su email de acceso). Con la clave del titular. No se "
                      "puede con facturas impagas, un cambio de plan o una baja en curso, ni con el servicio "
                      "suspendido. Luego lo acepta el otro titular y lo aprueba nuestro equipo.",
          security=SECURED, responses=answers(201, "Transferencia pedida"))
def request_transfer(service_id: str, body: TransferRequest) -> tuple[TransferOut, int]:
    return logic.request_transfer(stores, passwords, clock, current_identity(app), service_id, body), 201


@app.get("/me/transfers", tags=TAGS, summary="Mis transferencias (las que doy y las que me ofrecen)",
         security=SECURED, responses=answers())
def my_transfers() -> list[TransferOut]:
    return logic.my_transfers(stores, current_identity(app))


@app.post("/me/transfers/<transfer_id>/confirm", tags=TAGS,
          summary="Confirmar con la clave la transferencia pedida por ticket", security=SECURED, responses=answers())
def confirm_transfer(transfer_id: str, body: Consent) -> TransferOut:
    return logic.confirm(stores, passwords, clock, current_identity(app), transfer_id, body)


@app.post("/me/transfers/<transfer_id>/accept", tags=TAGS,
          summary="Aceptar con la clave un servicio que me transfieren", security=SECURED, responses=answers())
def accept_transfer(transfer_id: str, body: Consent) -> TransferOut:
    return logic.accept(stores, passwords, clock, current_identity(app), transfer_id, body)


@app.post("/me/transfers/<transfer_id>/decline", tags=TAGS, summary="No aceptar un servicio que me transfieren",
          security=SECURED, responses=answers())
def decline_transfer(transfer_id: str) -> TransferOut:
    return logic.decline(stores, clock, current_identity(app), transfer_id)


@app.post("/me/transfers/<transfer_id>/cancel", tags=TAGS, summary="Retirar una transferencia que pedí",
          security=SECURED, responses=answers())
def cancel_transfer(transfer_id: str) -> TransferOut:
    return logic.cancel(stores, clock, current_identity(app), transfer_id)


@app.get("/staff/transfers", tags=STAFF_TAGS, summary="Transferencias abiertas (la más antigua primero)",
         security=SECURED, responses=answers())
def staff_transfers() -> list[TransferOut]:
    return logic.staff_queue(stores, current_identity(app))


@app.post("/staff/transfers", tags=STAFF_TAGS, summary="Abrir la transferencia que el titular pidió por ticket",
          description="El ticket debe ser de la cuenta del servicio y venir del email del titular; el titular la "
                      "confirma luego en el panel con su clave.", security=SECURED,
          responses=answers(201, "Transferencia abierta"))
def staff_open_transfer(body: StaffTransferRequest) -> tuple[TransferOut, int]:
    return logic.staff_open(stores, clock, current_identity(app), body), 201


@app.post("/staff/transfers/<transfer_id>/approve", tags=STAFF_TAGS, summary="Aprobar: el servicio cambia de titular",
          description="Si los datos de las cuentas difieren (`needs_verification`), con la nota de la verificación "
                      "(la llamada al titular).", security=SECURED, responses=answers())
def approve_transfer(transfer_id: str, body: Approval) -> TransferOut:
    return logic.approve(stores, clock, current_identity(app), transfer_id, body)


@app.post("/staff/transfers/<transfer_id>/reject", tags=STAFF_TAGS, summary="Rechazar una transferencia",
          security=SECURED, responses=answers())
def reject_transfer(transfer_id: str, body: Rejection) -> TransferOut:
    return logic.reject(stores, clock, current_identity(app), transfer_id, body)


lambda_handler = lambda_handler_for(app)
