"""Tickets API, the clients' side: the help desk (open, list, read, reply, close, attachments, typical response
times), the public contact form, the support channels of a plan, call-backs, the Telegram link. Staff's side (the
queue, notes, changes, merges, closed days, figures) is tickets.staff_app, a function of its own: each cold start
builds its own audience's routes and models, and those of the conversation both read."""

from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from tickets import contact_form, logic, phone_support, telegram_links
from tickets.client_schemas import (
    CallbackRequest,
    ContactAccepted,
    ContactRequest,
    SupportChannelsOut,
    TelegramLinkOut,
)
from tickets.clocks import TicketPolicy
from tickets.records import Files, Repositories
from tickets.schemas import (
    AttachmentRequest,
    ClientReply,
    DownloadOut,
    OpenTicket,
    ResponseTimesOut,
    TicketOut,
    TicketStatus,
    TicketSummary,
    UploadOut,
)

from shared import config
from shared.aws import LazyClient, json_secret
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.catalog import Catalog
from shared.dal.services import Services
from shared.dal.tickets import Tickets
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.ids import ID_PATTERN

app = create_app()
clock = SystemClock()
repos = Repositories(Tickets(), Accounts(), Services())
# Presigning is local (no request to S3); SigV4, which buckets created since 2020 require.
s3 = LazyClient("s3", signature_version="s3v4")
TAGS = ["Tickets"]


def _files() -> Files:
    return Files(s3, config.env(config.ATTACHMENTS_BUCKET))


def _turnstile():
    from tickets.captcha import CaptchaUnavailable, Turnstile

    try:
        secrets = json_secret(config.CONTACT_FORM_SECRETS_ID)
    except Exception as error:  # noqa: BLE001 - Secrets Manager out of reach: the form fails closed, as a 503
        raise CaptchaUnavailable() from error
    return Turnstile(config.env(config.TURNSTILE_API_URL), str(secrets.get("turnstile_secret", "")))


@app.post("/contact-requests", tags=["Contacto"], summary="Formulario de contacto (público): abre un ticket",
          description="Verificado con Cloudflare Turnstile (`captcha_token`). Hasta 3 por hora por correo y 10 por "
                      "IP. La respuesta es la misma sea o no cliente quien escribe.",
          responses=answers(202, "Consulta recibida"))
def send_contact_request(body: ContactRequest) -> tuple[ContactAccepted, int]:
    context = app.current_event.request_context
    return contact_form.submit(repos, clock, TicketPolicy.from_env(), _turnstile(), body, context.identity.source_ip,
                               context.request_id), 202


@app.post("/me/tickets", tags=TAGS, summary="Abrir un ticket", security=SECURED,
          description="La prioridad P1 (24 × 7) es para servicios en producción con el plan Full; si no, se atiende "
                      "como P2 y la respuesta lo dice.", responses=answers(201, "Ticket abierto"))
def open_my_ticket(body: OpenTicket) -> tuple[TicketOut, int]:
    return logic.open_ticket(repos, clock, TicketPolicy.from_env(), current_identity(app), body), 201


# Ticket ids sort by time (shared.ids): the last id of a page is the cursor of the next one.
@app.get("/me/tickets", tags=TAGS, summary="Mis tickets (de a páginas, los más nuevos primero)", security=SECURED,
         description="La página siguiente se pide con `before` = el id del último ticket recibido.",
         responses=answers())
def list_my_tickets(status: Annotated[TicketStatus | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = logic.PAGE_SIZE,
                    before: Annotated[str | None, Query(pattern=ID_PATTERN)] = None) -> list[TicketSummary]:
    return logic.my_tickets(repos, current_identity(app), status, limit, before)


@app.get("/me/tickets/<ticket_id>", tags=TAGS, summary="Un ticket con su conversación y sus plazos",
         security=SECURED, responses=answers())
def get_my_ticket(ticket_id: str) -> TicketOut:
    return logic.my_ticket(repos, clock, current_identity(app), ticket_id)


@app.post("/me/tickets/<ticket_id>/replies", tags=TAGS, summary="Responder un ticket", security=SECURED,
          description="Un ticket cerrado hace menos de ReopenDays días se reabre; después, la respuesta abre un "
                      "ticket nuevo que sigue al anterior (follows_ticket_id).", responses=answers())
def reply_my_ticket(ticket_id: str, body: ClientReply) -> TicketOut:
    return logic.client_reply(repos, clock, TicketPolicy.from_env(), _files(), current_identity(app), ticket_id, body)


@app.post("/me/tickets/<ticket_id>/close", tags=TAGS, summary="Cerrar un ticket", security=SECURED,
          responses=answers())
def close_my_ticket(ticket_id: str) -> TicketOut:
    return logic.client_close(repos, clock, current_identity(app), ticket_id)


@app.post("/me/tickets/<ticket_id>/attachments", tags=TAGS, summary="Subir un adjunto (formulario firmado de S3)",
          description="Devuelve un POST firmado de S3 (hasta 10 MB, tipo declarado); luego la respuesta lo nombra "
                      "en attachment_ids.", security=SECURED, responses=answers(201, "Formulario de subida"))
def upload_my_attachment(ticket_id: str, body: AttachmentRequest) -> tuple[UploadOut, int]:
    return UploadOut(**logic.attachment_upload(repos, clock, _files(), current_identity(app), ticket_id, body)), 201


@app.get("/me/tickets/<ticket_id>/attachments/<attachment_id>", tags=TAGS, summary="Descargar un adjunto",
         security=SECURED, responses=answers())
def download_my_attachment(ticket_id: str, attachment_id: str) -> DownloadOut:
    return DownloadOut(**logic.attachment_download(repos, clock, _files(), current_identity(app), ticket_id,
                                                   attachment_id))


@app.get("/me/support/response-times", tags=TAGS, summary="Tiempo típico de primera respuesta por clase",
         security=SECURED, responses=answers())
def my_response_times() -> ResponseTimesOut:
    return logic.response_times(repos, clock, current_identity(app))


@app.get("/services/<service_id>/support-channels", tags=TAGS, summary="Canales de soporte del plan de la cuenta",
         description="Para cada canal (teléfono, WhatsApp, Telegram…): si el plan de soporte lo incluye y, si no, qué "
                     "plan lo incluye y cómo contratarlo (el cambio de plan del servicio de soporte, o pedirlo).",
         security=SECURED, responses=answers())
def service_support_channels(service_id: str) -> SupportChannelsOut:
    return phone_support.support_channels(repos, Catalog(), current_identity(app), service_id)


@app.post("/services/<service_id>/callback-requests", tags=TAGS, summary="Pedir que soporte lo llame",
          description="Con el plan Full: abre un ticket con la franja en que lo llamamos. Sin él, 409 "
                      "`channel_not_in_plan` dice qué plan lo incluye.", security=SECURED,
          responses=answers(201, "Ticket del pedido de llamada"))
def request_callback(service_id: str, body: CallbackRequest) -> tuple[TicketOut, int]:
    return phone_support.request_callback(repos, clock, TicketPolicy.from_env(), current_identity(app), service_id,
                                          body), 201


@app.get("/me/telegram-link", tags=TAGS, summary="Mi Telegram vinculado al soporte",
         description="Si hay un Telegram vinculado (su @usuario), si queda un código por usar y si el plan de soporte "
                     "incluye Telegram.", security=SECURED, responses=answers())
def my_telegram_link() -> TelegramLinkOut:
    return telegram_links.link_status(repos, clock, current_identity(app), _bot_username())


@app.post("/me/telegram-link", tags=TAGS, summary="Código para vincular mi Telegram",
          description="Un código de un solo uso (15 minutos) y el enlace t.me que se lo envía al bot. Reemplaza al "
                      "anterior. Sin Telegram en el plan, 409 `channel_not_in_plan` dice qué plan lo incluye.",
          security=SECURED, responses=answers(201, "El código y su enlace"))
def new_telegram_code() -> tuple[TelegramLinkOut, int]:
    return telegram_links.new_code(repos, clock, current_identity(app), _bot_username()), 201


@app.delete("/me/telegram-link", tags=TAGS, summary="Desvincular mi Telegram", security=SECURED,
            responses=answers(204, "Desvinculado (o no había nada vinculado)"))
def unlink_telegram():
    telegram_links.unlink(repos, current_identity(app))
    return Response(status_code=204)


def _bot_username() -> str:
    return config.env(config.TELEGRAM_BOT_USERNAME, "").lstrip("@")




lambda_handler = lambda_handler_for(app)
