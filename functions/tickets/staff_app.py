"""Tickets API, staff's side: the queue (the nearest deadline first), a ticket with its internal notes, answers,
notes, changes, merges, attachments and an email's original, the quarantine and the suppressed addresses, guest
tickets moved to an account, logged calls, a client's tickets and tickets opened for it, closed days, figures, a
service marked as production. The clients' side is tickets.app, a function of its own."""

from datetime import date
from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from tickets import email_review, email_suppressions, guest_tickets, logic, staff_desk
from tickets.clocks import TicketPolicy
from tickets.records import Files, Repositories
from tickets.schemas import (
    AttachmentRequest,
    DownloadOut,
    Plan,
    TicketOut,
    TicketStatus,
    TicketSummary,
    UploadOut,
)
from tickets.staff_schemas import (
    AccountIn,
    CallLog,
    ClosedDayIn,
    ClosedDayOut,
    InboundEmailOut,
    MergeIn,
    NoteIn,
    NoteOut,
    ProductionFlag,
    StaffOpenTicket,
    StaffReply,
    StaffTicketOut,
    StatsOut,
    SuppressedAddressOut,
    TicketChange,
)

from shared import config
from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
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
STAFF_TAGS = ["Personal", "Tickets"]


def _files() -> Files:
    return Files(s3, config.env(config.ATTACHMENTS_BUCKET))


@app.get("/staff/tickets", tags=STAFF_TAGS, summary="Cola de tickets abiertos (el plazo más cercano primero)",
         security=SECURED, responses=answers())
def staff_queue(status: Annotated[TicketStatus | None, Query()] = None,
                sla_class: Annotated[SlaClass | None, Query()] = None,
                plan: Annotated[Plan | None, Query()] = None,
                assignee: Annotated[str | None, Query(max_length=200)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = staff_desk.QUEUE_SIZE) -> list[TicketSummary]:
    return staff_desk.staff_queue(repos, current_identity(app), status, sla_class, plan, assignee, limit)


@app.get("/staff/tickets/stats", tags=STAFF_TAGS, summary="Tiempos de primera respuesta, cumplimiento e "
         "incumplimientos del SLA", security=SECURED, responses=answers())
def staff_stats(since: Annotated[date | None, Query(alias="from")] = None,
                until: Annotated[date | None, Query(alias="to")] = None) -> StatsOut:
    return staff_desk.stats(repos, current_identity(app), since, until)


@app.get("/staff/tickets/<ticket_id>", tags=STAFF_TAGS, summary="Un ticket, con las notas internas",
         security=SECURED, responses=answers())
def staff_get_ticket(ticket_id: str) -> StaffTicketOut:
    return staff_desk.staff_ticket(repos, clock, current_identity(app), ticket_id)


@app.post("/staff/tickets/<ticket_id>/replies", tags=STAFF_TAGS, summary="Responder al cliente", security=SECURED,
          description="waiting_on_customer: la respuesta le pide algo al cliente y los plazos se detienen.",
          responses=answers())
def staff_reply(ticket_id: str, body: StaffReply) -> StaffTicketOut:
    return staff_desk.staff_reply(repos, clock, TicketPolicy.from_env(), _files(), current_identity(app), ticket_id,
                                  body)


@app.post("/staff/tickets/<ticket_id>/notes", tags=STAFF_TAGS, summary="Nota interna (el cliente no la ve)",
          security=SECURED, responses=answers(201, "Nota agregada"))
def staff_note(ticket_id: str, body: NoteIn) -> tuple[NoteOut, int]:
    return staff_desk.staff_note(repos, clock, current_identity(app), ticket_id, body), 201


@app.patch("/staff/tickets/<ticket_id>", tags=STAFF_TAGS, summary="Asignar, reclasificar, cambiar la prioridad, "
           "esperar al cliente o cerrar", security=SECURED, responses=answers())
def staff_change(ticket_id: str, body: TicketChange) -> StaffTicketOut:
    return staff_desk.staff_change(repos, clock, TicketPolicy.from_env(), current_identity(app), ticket_id, body)


@app.post("/staff/tickets/<ticket_id>/merge", tags=STAFF_TAGS, summary="Unir un ticket duplicado a otro",
          security=SECURED, responses=answers())
def staff_merge(ticket_id: str, body: MergeIn) -> StaffTicketOut:
    return staff_desk.merge(repos, clock, current_identity(app), ticket_id, body)


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
    return staff_desk.log_call(repos, clock, TicketPolicy.from_env(), _files(), current_identity(app), ticket_id,
                               body)


@app.post("/staff/clients/<client_id>/tickets", tags=STAFF_TAGS, summary="Abrir un ticket en nombre de un cliente",
          security=SECURED, responses=answers(201, "Ticket abierto"))
def staff_open_ticket(client_id: str, body: StaffOpenTicket) -> tuple[TicketOut, int]:
    return staff_desk.staff_open_ticket(repos, clock, TicketPolicy.from_env(), current_identity(app), client_id,
                                        body), 201


@app.get("/staff/clients/<client_id>/tickets", tags=STAFF_TAGS, summary="Tickets de un cliente (también cerrados)",
         security=SECURED, responses=answers())
def staff_client_tickets(client_id: str,
                         status: Annotated[TicketStatus | None, Query()] = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = logic.PAGE_SIZE,
                         before: Annotated[str | None, Query(pattern=ID_PATTERN)] = None) -> list[TicketSummary]:
    return staff_desk.staff_client_tickets(repos, current_identity(app), client_id, status, limit, before)


@app.get("/staff/closed-days", tags=STAFF_TAGS, summary="Días sin atención (además de feriados y fines de semana)",
         security=SECURED, responses=answers())
def staff_closed_days() -> list[ClosedDayOut]:
    return staff_desk.closed_days(repos, current_identity(app))


@app.put("/staff/closed-days/<day>", tags=STAFF_TAGS, summary="Marcar un día sin atención", security=SECURED,
         responses=answers())
def staff_put_closed_day(day: str, body: ClosedDayIn) -> ClosedDayOut:
    return staff_desk.put_closed_day(repos, clock, current_identity(app), day, body)


@app.delete("/staff/closed-days/<day>", tags=STAFF_TAGS, summary="Quitar un día sin atención", security=SECURED,
            responses=answers(204, "Quitado"))
def staff_delete_closed_day(day: str) -> tuple[None, int]:
    staff_desk.delete_closed_day(repos, current_identity(app), day)
    return None, 204


@app.put("/staff/services/<service_id>/production", tags=STAFF_TAGS,
         summary="Marcar un servicio como de producción (habilita P1 con el plan Full)", security=SECURED,
         responses=answers())
def staff_mark_production(service_id: str, body: ProductionFlag) -> ServiceSummary:
    return staff_desk.mark_production(repos, current_identity(app), service_id, body)


lambda_handler = lambda_handler_for(app)
