"""Accounts API: POST /clients (public sign-up), GET/PATCH /me, contacts (by invitation: accepted at
POST /invitations/accept), POST /staff/clients."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from accounts import logic
from accounts.schemas import (
    AcceptAsSignedIn,
    AcceptedOut,
    AcceptInvitation,
    AccountOut,
    AddContact,
    ClientOut,
    ContactOut,
    EmailChangeCode,
    EmailChangeOut,
    EmailChangeRequest,
    MeOut,
    RegisterClient,
    StaffCreateClient,
    UpdateContact,
    UpdateProfile,
)
from aws_lambda_powertools.event_handler import Response

from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.logins import CognitoLogins

app = create_app()
accounts = Accounts()
services = Services()  # a contact's rights may be limited to some of the account's services
sesv2 = LazyClient("sesv2")  # a contact's invitation
clock = SystemClock()
logins = CognitoLogins.from_env()  # its client is created on first use: only sign-ups talk to Cognito


@app.post("/clients", tags=["Cuentas"], summary="Registrarse como cliente", responses=answers(201, "Cuenta creada"))
def register(body: RegisterClient) -> tuple[ClientOut, int]:
    return logic.client_out(logic.register_client(accounts, logins, clock, body)), 201


@app.get("/me", tags=["Cuentas"], summary="Mis datos", security=SECURED, responses=answers())
def get_me() -> MeOut:
    return logic.my_account(accounts, current_identity(app))


@app.patch("/me", tags=["Cuentas"], summary="Actualizar mis datos", security=SECURED, responses=answers())
def patch_me(body: UpdateProfile) -> ClientOut:
    return logic.client_out(logic.update_my_account(accounts, clock, current_identity(app), body))


@app.get(
    "/me/contacts",
    tags=["Cuentas"],
    summary="Contactos secundarios de mi cuenta",
    security=SECURED,
    responses=answers(),
)
def get_contacts() -> list[ContactOut]:
    return logic.list_contacts(accounts, current_identity(app))


@app.post(
    "/me/contacts",
    tags=["Cuentas"],
    summary="Agregar un contacto secundario",
    security=SECURED,
    responses=answers(201, "Contacto creado"),
)
def post_contact(body: AddContact) -> tuple[ContactOut, int]:
    contact = logic.add_contact(accounts, services, _postman(), clock, current_identity(app), body)
    return logic.contact_out(contact), 201


@app.post(
    "/me/contacts/<contact_id>/invitation", tags=["Cuentas"], summary="Enviar de nuevo la invitación de un contacto",
    description="Un enlace nuevo (el anterior deja de servir), válido 7 días, para un contacto que todavía no aceptó.",
    security=SECURED, responses=answers(),
)
def resend_invitation(contact_id: str) -> ContactOut:
    return logic.contact_out(logic.resend_invitation(accounts, _postman(), clock, current_identity(app), contact_id))


@app.post(
    "/invitations/accept", tags=["Cuentas"], summary="Aceptar la invitación de contacto (con la clave elegida)",
    description="Público: el token del email es la prueba. Crea el acceso del contacto; sirve una sola vez.",
    responses=answers(),
)
def accept_invitation(body: AcceptInvitation) -> AcceptedOut:
    from accounts import invitations

    contact = invitations.accept(accounts, logins, clock, body.token, body.password)
    return AcceptedOut(email=contact.email, client_id=contact.client_id, contact_id=contact.contact_id)


@app.post(
    "/me/invitations/accept", tags=["Cuentas"], summary="Aceptar con la sesión iniciada la invitación de otra cuenta",
    description="Para un email que ya entra a Paneldecliente: la sesión debe ser la de ese email. La cuenta queda en "
                "GET /me/accounts; se actúa en ella enviando su id en el encabezado X-Account-Id.",
    security=SECURED, responses=answers(),
)
def accept_invitation_signed_in(body: AcceptAsSignedIn) -> AcceptedOut:
    from accounts import memberships

    contact = memberships.accept_signed_in(accounts, clock, current_identity(app, acting=False), body.token)
    return AcceptedOut(email=contact.email, client_id=contact.client_id, contact_id=contact.contact_id)


@app.get(
    "/me/accounts", tags=["Cuentas"], summary="Las cuentas en que actúo",
    description="La propia (home) y aquellas de las que es contacto. Para actuar en otra, envíe su client_id en el "
                "encabezado X-Account-Id de cada solicitud; sin él, se actúa en la propia.",
    security=SECURED, responses=answers(),
)
def get_my_accounts() -> list[AccountOut]:
    from accounts import memberships

    return memberships.my_accounts(accounts, current_identity(app, acting=False), logins)


@app.post("/me/email-change", tags=["Cuentas"], summary="Cambiar mi email de acceso (envía un código al nuevo)",
          description="Con la clave actual. El código de 6 dígitos vence en 15 minutos (5 intentos).",
          security=SECURED, responses=answers(202, "Código enviado al nuevo email"))
def request_email_change(body: EmailChangeRequest) -> tuple[EmailChangeOut, int]:
    from accounts import email_change

    from shared.clock import from_storage

    # The login's email, whatever account the request acts on: it changes in every account (accounts.email_change).
    identity = current_identity(app, acting=False)
    change = email_change.request_change(accounts, _passwords(), _postman(), clock, identity, str(body.new_email),
                                         body.password)
    return EmailChangeOut(new_email=change.new_email, expires_at=from_storage(change.valid_until)), 202


@app.post("/me/email-change/confirm", tags=["Cuentas"], summary="Confirmar el cambio de email con el código",
          security=SECURED, responses=answers())
def confirm_email_change(body: EmailChangeCode) -> MeOut:
    from accounts import email_change

    email_change.confirm_change(accounts, logins, _postman(), clock, current_identity(app, acting=False), body.code)
    return logic.my_account(accounts, current_identity(app, acting=False))


def _passwords():
    from shared.password_check import PasswordCheck

    return PasswordCheck.from_env()


def _postman():
    from accounts.invitations import Postman

    from shared import config
    from shared.dal.mail import SentEmails

    return Postman(sesv2, SentEmails(), clock, f"Paneldecliente <avisos@{config.env(config.MAIL_DOMAIN)}>",
                   config.env(config.PANEL_URL), config.env(config.MAIL_CONFIGURATION_SET, "") or None)


@app.patch(
    "/me/contacts/<contact_id>", tags=["Cuentas"], summary="Cambiar los derechos o datos de un contacto",
    security=SECURED, responses=answers(),
)
def patch_contact(contact_id: str, body: UpdateContact) -> ContactOut:
    return logic.contact_out(logic.update_contact(accounts, services, clock, current_identity(app), contact_id, body))


@app.delete(
    "/me/contacts/<contact_id>", tags=["Cuentas"], summary="Quitar un contacto (pierde el acceso al instante)",
    security=SECURED, responses=answers(204, "Contacto quitado"),
)
def delete_contact(contact_id: str):  # no body: 204
    logic.remove_contact(accounts, logins, clock, current_identity(app), contact_id)
    return Response(status_code=204)


@app.post(
    "/staff/clients",
    tags=["Personal"],
    summary="Dar de alta un cliente",
    security=SECURED,
    responses=answers(201, "Cliente creado"),
)
def staff_create_client(body: StaffCreateClient) -> tuple[ClientOut, int]:
    client = logic.staff_create_client(accounts, logins, clock, current_identity(app), body)
    return logic.client_out(client), 201


lambda_handler = lambda_handler_for(app)
