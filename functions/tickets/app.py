"""Tickets API: the client's help desk (open, list, read, reply, close, attachments, typical response times)
and staff's (queue, reply, internal notes, changes, merge, closed days, figures)."""

from datetime import date
from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from tickets import (
    contact_form,
    email_review,
    email_suppressions,
    guest_tickets,
    logic,
    phone_support,
    telegram_links,
)
from tickets.clocks import TicketPolicy
from tickets.records import Files, Repositories
from tickets.schemas import (
    AccountIn,
    AttachmentRequest,
    CallbackRequest,
    CallLog,
    ClientReply,
    ClosedDayIn,
    ClosedDayOut,
    ContactAccepted,
    ContactRequest,
    DownloadOut,
    InboundEmailOut,
    MergeIn,
    NoteIn,
    NoteOut,
    OpenTicket,
    Plan,
    ProductionFlag,
    ResponseTimesOut,
    StaffOpenTicket,
    StaffReply,
    StaffTicketOut,
    StatsOut,
    SupportChannelsOut,
    SuppressedAddressOut,
    TelegramLinkOut,
    TicketChange,
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
from shared.dal.mail import SentEmails
from shared.dal.services import Services
from shared.dal.tickets import Tickets
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.ids import ID_PATTERN
from shared.schemas import ServiceSummary
from shared.sla import SlaClass

app = create_app()
clock = SystemClock()
repos = Repositories(Tickets(), Accounts(), Services())
sent_emails = SentEmails()
# Presigning is local (no request to S3); SigV4, which buckets created since 2020 require.
s3 = LazyClient("s3", signature_version="s3v4")
TAGS, STAFF_TAGS = ["Tickets"], ["Personal", "Tickets"]


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


# --- staff -----------------------------------------------------------------------------------------------


@app.get("/staff/tickets", tags=STAFF_TAGS, summary="Cola de tickets abiertos (el plazo más cercano primero)",
         security=SECURED, responses=answers())
def staff_queue(status: Annotated[TicketStatus | None, Query()] = None,
                sla_class: Annotated[SlaClass | None, Query()] = None,
                plan: Annotated[Plan | None, Query()] = None,
                assignee: Annotated[str | None, Query(max_length=200)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = logic.QUEUE_SIZE) -> list[TicketSummary]:
    return logic.staff_queue(repos, current_identity(app), status, sla_class, plan, assignee, limit)


@app.get("/staff/tickets/stats", tags=STAFF_TAGS, summary="Tiempos de primera respuesta, cumplimiento e "
         "incumplimientos del SLA", security=SECURED, responses=answers())
def staff_stats(since: Annotated[date | None, Query(alias="from")] = None,
                until: Annotated[date | None, Query(alias="to")] = None) -> StatsOut:
    return logic.stats(repos, current_identity(app), since, until)


@app.get("/staff/tickets/<ticket_id>", tags=STAFF_TAGS, summary="Un ticket, con las notas internas",
         security=SECURED, responses=answers())
def staff_get_ticket(ticket_id: str) -> StaffTicketOut:
    return logic.staff_ticket(repos, clock, current_identity(app), ticket_id)


@app.post("/staff/tickets/<ticket_id>/replies", tags=STAFF_TAGS, summary="Responder al cliente", security=SECURED,
          description="waiting_on_customer: la respuesta le pide algo al cliente y los plazos se detienen.",
          responses=answers())
def staff_reply(ticket_id: str, body: StaffReply) -> StaffTicketOut:
    return logic.staff_reply(repos, clock, TicketPolicy.from_env(), _files(), current_identity(app), ticket_id, body)


@app.post("/staff/tickets/<ticket_id>/notes", tags=STAFF_TAGS, summary="Nota interna (el cliente no la ve)",
          security=SECURED, responses=answers(201, "Nota agregada"))
def staff_note(ticket_id: str, body: NoteIn) -> tuple[NoteOut, int]:
    return logic.staff_note(repos, clock, current_identity(app), ticket_id, body), 201


@app.patch("/staff/tickets/<ticket_id>", tags=STAFF_TAGS, summary="Asignar, reclasificar, cambiar la prioridad, "
           "esperar al cliente o cerrar", security=SECURED, responses=answers())
def staff_change(ticket_id: str, body: TicketChange) -> StaffTicketOut:
    return logic.staff_change(repos, clock, TicketPolicy.from_env(), current_identity(app), ticket_id, body)


@app.post("/staff/tickets/<ticket_id>/merge", tags=STAFF_TAGS, summary="Unir un ticket duplicado a otro",
          security=SECURED, responses=answers())
def staff_merge(ticket_id: str, body: MergeIn) -> StaffTicketOut:
    return logic.merge(repos, clock, current_identity(app), ticket_id, body)


@app.post("/staff/tickets/<ticket_id>/attachments", tags=STAFF_TAGS, summary="Subir un adjunto del personal",
          security=SECURED, responses=answers(201, "Formulario de subida"))
def staff_upload_attachment(ticket_id: str, body: AttachmentRequest) -> tuple[UploadOut, int]:
    return UploadOut(**logic.attachment_upload(repos, clock, _files(), current_identity(app), ticket_id, body,
                                               as_staff=True)), 201


@app.get("/staff/tickets/<ticket_id>/attachments/<attachment_id>", tags=STAFF_TAGS,
         summary="Descargar un adjunto", security=SECURED, responses=answers())
def staff_download_attachment(ticket_id: str, attachment_id: str) -> DownloadOut:
    return DownloadOut(**logic.attachment_download(repos, clock, _files(), current_identity(app), ticket_id,
                                                   attachment_id, as_staff=True))


@app.get("/staff/tickets/<ticket_id>/messages/<message_id>/original", tags=STAFF_TAGS,
         summary="Descargar el correo original de un mensaje (.eml, con todos sus encabezados)", security=SECURED,
         responses=answers())
def staff_download_original(ticket_id: str, message_id: str) -> DownloadOut:
    return email_review.original(repos, clock, _files(), current_identity(app), ticket_id, message_id)


@app.get("/staff/inbound-emails", tags=STAFF_TAGS, summary="Correos en cuarentena (spam o virus según SES)",
         security=SECURED, responses=answers())
def staff_quarantine(limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[InboundEmailOut]:
    return email_review.quarantine(repos, current_identity(app), limit)


@app.get("/staff/email-suppressions", tags=STAFF_TAGS,
         summary="Direcciones a las que ya no enviamos correos (rebote definitivo o queja por spam)",
         security=SECURED, responses=answers())
def staff_email_suppressions(limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[SuppressedAddressOut]:
    return email_suppressions.suppressed(sent_emails, current_identity(app), limit)


@app.delete("/staff/email-suppressions", tags=STAFF_TAGS,
            summary="Volver a enviar correos a una dirección bloqueada (su dueño arregló la casilla)",
            security=SECURED, responses=answers(204, "Desbloqueada: el próximo correo sale"))
# Optional here, required by the logic: who asks is checked before what they sent (anonymous: 401, not 422).
def staff_lift_email_suppression(address: Annotated[str | None, Query(max_length=320)] = None):
    email_suppressions.lift(sent_emails, clock, current_identity(app), address)
    return Response(status_code=204)


@app.post("/staff/inbound-emails/<email_key>/release", tags=STAFF_TAGS,
          summary="Liberar un correo de la cuarentena (se procesa como si hubiera pasado los controles)",
          security=SECURED, responses=answers(200, "El correo, con el ticket en el que quedó"))
def staff_release_email(email_key: str) -> InboundEmailOut:
    return email_review.release(repos, clock, _files(), config.env(config.SUPPORT_MAIL_DOMAIN).lower(),
                                current_identity(app), email_key)


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


@app.post("/staff/tickets/<ticket_id>/account", tags=STAFF_TAGS, summary="Asignar un ticket sin cuenta a un cliente",
          description="Un ticket de un correo, formulario o chat sin cuenta pasa a la cuenta: el cliente lo ve y "
                      "rige su plan de soporte.", security=SECURED, responses=answers())
def staff_attach_ticket(ticket_id: str, body: AccountIn) -> StaffTicketOut:
    return guest_tickets.attach(repos, clock, TicketPolicy.from_env(), current_identity(app), ticket_id,
                                body.client_id)


@app.post("/staff/tickets/<ticket_id>/calls", tags=STAFF_TAGS, summary="Registrar una llamada con el cliente",
          description="Queda como respuesta del personal (detiene el plazo) con su duración y resumen.",
          security=SECURED, responses=answers())
def staff_log_call(ticket_id: str, body: CallLog) -> StaffTicketOut:
    return phone_support.log_call(repos, clock, TicketPolicy.from_env(), _files(), current_identity(app), ticket_id,
                                  body)


@app.post("/staff/clients/<client_id>/tickets", tags=STAFF_TAGS, summary="Abrir un ticket en nombre de un cliente",
          security=SECURED, responses=answers(201, "Ticket abierto"))
def staff_open_ticket(client_id: str, body: StaffOpenTicket) -> tuple[TicketOut, int]:
    return logic.staff_open_ticket(repos, clock, TicketPolicy.from_env(), current_identity(app), client_id, body), 201


@app.get("/staff/clients/<client_id>/tickets", tags=STAFF_TAGS, summary="Tickets de un cliente (también cerrados)",
         security=SECURED, responses=answers())
def staff_client_tickets(client_id: str,
                         status: Annotated[TicketStatus | None, Query()] = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = logic.PAGE_SIZE,
                         before: Annotated[str | None, Query(pattern=ID_PATTERN)] = None) -> list[TicketSummary]:
    return logic.staff_client_tickets(repos, current_identity(app), client_id, status, limit, before)


@app.get("/staff/closed-days", tags=STAFF_TAGS, summary="Días sin atención (además de feriados y fines de semana)",
         security=SECURED, responses=answers())
def staff_closed_days() -> list[ClosedDayOut]:
    return logic.closed_days(repos, current_identity(app))


@app.put("/staff/closed-days/<day>", tags=STAFF_TAGS, summary="Marcar un día sin atención", security=SECURED,
         responses=answers())
def staff_put_closed_day(day: str, body: ClosedDayIn) -> ClosedDayOut:
    return logic.put_closed_day(repos, clock, current_identity(app), day, body)


@app.delete("/staff/closed-days/<day>", tags=STAFF_TAGS, summary="Quitar un día sin atención", security=SECURED,
            responses=answers(204, "Quitado"))
def staff_delete_closed_day(day: str) -> tuple[None, int]:
    logic.delete_closed_day(repos, current_identity(app), day)
    return None, 204


@app.put("/staff/services/<service_id>/production", tags=STAFF_TAGS,
         summary="Marcar un servicio como de producción (habilita P1 con el plan Full)", security=SECURED,
         responses=answers())
def staff_mark_production(service_id: str, body: ProductionFlag) -> ServiceSummary:
    return logic.mark_production(repos, current_identity(app), service_id, body)


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
