"""Support services API: remote support (RustDesk) — the free slots, a booking (one atomic claim of an
operator-slot), moving or cancelling it until BookingChangeHours before; staff's agenda, reassignment and
outcome (support.remote_booking). Migrations to our servers — the request with the old server's access encrypted
at once, its steps, the audited reveal to the staff member who took it (support.migrations)."""

from datetime import date
from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler.openapi.params import Query
from support import remote_booking
from support.schemas import (
    BookingOut,
    BookRemoteSupport,
    MigrationOut,
    MigrationRequest,
    MigrationStep,
    OldServerAccess,
    Outcome,
    Reassign,
    Reschedule,
    RevealOut,
    SlotOut,
)

from shared.auth import require_staff
from shared.aws import LazyClient
from shared.clock import SystemClock, from_storage
from shared.dal.accounts import Accounts
from shared.dal.closed_days import ClosedDays
from shared.dal.services import Services
from shared.dal.support import RemoteBooking, RemoteBookings
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
bookings = RemoteBookings()
accounts = Accounts()
services = Services()
closed_days = ClosedDays()  # the company's days off staff keep (the SLA clocks skip them too)
sesv2 = LazyClient("sesv2")  # the confirmation with its .ics
kms = LazyClient("kms")  # a migration's old-server access
clock = SystemClock()
TAGS, STAFF_TAGS = ["Soporte remoto"], ["Personal", "Soporte remoto"]


def _policy() -> remote_booking.RemotePolicy:
    """The template's parameters (docs/remote-support.md), read per request: cheap, and a test clock's stack may
    change them."""
    from datetime import timedelta

    from shared import config

    operators = tuple(o.strip() for o in config.env(config.REMOTE_SUPPORT_OPERATORS, "operador-1").split(",")
                      if o.strip())
    return remote_booking.RemotePolicy(
        operators=operators or ("operador-1",),
        slot=timedelta(minutes=int(config.env(config.REMOTE_SLOT_MINUTES, "45"))),
        buffer=timedelta(minutes=int(config.env(config.REMOTE_BUFFER_MINUTES, "15"))),
        min_notice=timedelta(hours=int(config.env(config.REMOTE_MIN_NOTICE_HOURS, "4"))),
        horizon=timedelta(days=int(config.env(config.REMOTE_HORIZON_DAYS, "21"))),
        change_until=timedelta(hours=int(config.env(config.BOOKING_CHANGE_HOURS, "2"))))


def _service_owner(service_id: str) -> str | None:
    found = services.get_services([service_id])
    return found[0].client_id if found else None


def _confirm(booking: RemoteBooking) -> None:
    from support import confirmation

    from shared import config

    identity = current_identity(app)
    if identity.email:
        confirmation.send(sesv2, clock, f"Paneldecliente <soporte@{config.env(config.MAIL_DOMAIN)}>", identity.email,
                          booking, config.env(config.MAIL_CONFIGURATION_SET, "") or None)


def booking_out(booking: RemoteBooking) -> BookingOut:
    return BookingOut(booking_id=booking.booking_id, client_id=booking.client_id,
                      starts_at=from_storage(booking.starts_at), ends_at=from_storage(booking.ends_at),
                      operator=booking.operator, rustdesk_id=booking.rustdesk_id, topic=booking.topic,
                      service_id=booking.service_id, status=booking.status,
                      reminders_sent=list(booking.reminders_sent or []), outcome_notes=booking.outcome_notes)


@app.get("/support/remote/slots", tags=TAGS, summary="Horarios libres para soporte remoto",
         description="Días hábiles (sin feriados ni días cerrados), de 10 a 17 (hora de Argentina), desde la "
                     "anticipación mínima hasta el horizonte de reserva. `from` y `to`: días (AAAA-MM-DD); sin "
                     "ellos, hoy y la semana siguiente.",
         security=SECURED, responses=answers())
def get_slots(from_: Annotated[date | None, Query(alias="from")] = None,
              to: Annotated[date | None, Query()] = None) -> list[SlotOut]:
    from shared.auth import Permission, authorize, require_account

    identity = current_identity(app)
    authorize(identity, require_account(identity), Permission.TICKETS, accounts.contact_permissions)
    found = remote_booking.free_slots(bookings, clock, _policy(), closed_days.day_set(), from_, to)
    return [SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, operators_free=s.operators_free) for s in found]


@app.post("/support/remote/bookings", tags=TAGS, summary="Agendar un soporte remoto",
          description="Con el número de puesto de trabajo de RustDesk de la PC que necesita ayuda. Una reserva "
                      "activa por cuenta; llega la confirmación por email con la invitación de calendario (.ics).",
          security=SECURED, responses=answers(201, "Soporte remoto agendado"))
def post_booking(body: BookRemoteSupport) -> tuple[BookingOut, int]:
    booking = remote_booking.book(bookings, accounts.contact_permissions, _service_owner, clock, _policy(),
                                  closed_days.day_set(), current_identity(app), body.starts_at, body.rustdesk_id,
                                  body.topic, body.service_id)
    _confirm(booking)
    return booking_out(booking), 201


@app.get("/me/remote-bookings", tags=TAGS, summary="Mis soportes remotos", security=SECURED, responses=answers())
def my_bookings() -> list[BookingOut]:
    return [booking_out(b) for b in remote_booking.list_mine(bookings, accounts.contact_permissions,
                                                             current_identity(app))]


@app.post("/me/remote-bookings/<booking_id>/reschedule", tags=TAGS, summary="Cambiar el horario de un soporte remoto",
          description="Hasta BookingChangeHours (2) horas antes del horario actual.", security=SECURED,
          responses=answers())
def reschedule(booking_id: str, body: Reschedule) -> BookingOut:
    booking = remote_booking.reschedule(bookings, accounts.contact_permissions, clock, _policy(),
                                        closed_days.day_set(), current_identity(app), booking_id, body.starts_at)
    _confirm(booking)
    return booking_out(booking)


@app.post("/me/remote-bookings/<booking_id>/cancel", tags=TAGS, summary="Cancelar un soporte remoto",
          description="Hasta BookingChangeHours (2) horas antes.", security=SECURED, responses=answers())
def cancel(booking_id: str) -> BookingOut:
    booking = remote_booking.cancel(bookings, accounts.contact_permissions, clock, _policy(), current_identity(app),
                                    booking_id)
    _confirm(booking)
    return booking_out(booking)


@app.get("/staff/remote-support/agenda", tags=STAFF_TAGS, summary="Agenda de soporte remoto de un día",
         description="Por horario y operador, con el puesto de trabajo (RustDesk) de cada cliente. Sin `day`, hoy.",
         security=SECURED, responses=answers())
def staff_agenda(day: Annotated[date | None, Query()] = None) -> list[BookingOut]:
    from shared.calendar import local_date

    require_staff(current_identity(app))
    return [booking_out(b) for b in remote_booking.agenda(bookings, day or local_date(clock.now()))]


@app.post("/staff/remote-bookings/<booking_id>/operator", tags=STAFF_TAGS,
          summary="Asignar un soporte remoto a otro operador", security=SECURED, responses=answers())
def staff_reassign(booking_id: str, body: Reassign) -> BookingOut:
    require_staff(current_identity(app))
    return booking_out(remote_booking.reassign(bookings, clock, _policy(), booking_id, body.operator))


@app.post("/staff/remote-bookings/<booking_id>/outcome", tags=STAFF_TAGS,
          summary="Registrar el resultado de un soporte remoto (atendido o ausente)", security=SECURED,
          responses=answers())
def staff_outcome(booking_id: str, body: Outcome) -> BookingOut:
    identity = current_identity(app)
    require_staff(identity)
    return booking_out(remote_booking.record_outcome(bookings, clock, identity, booking_id, body.outcome, body.notes))


# --- migrations ----------------------------------------------------------------------------------------------------


def _migrations():
    from support import migrations

    from shared.dal.migrations import Migrations

    return migrations, Migrations()


def _purge_after():
    from datetime import timedelta

    from shared import config

    return timedelta(days=int(config.env(config.MIGRATION_SECRET_DAYS, "7")))


def _key_id() -> str:
    from shared import config

    return config.env(config.SECRETS_KEY_ID)


def migration_out(migration) -> MigrationOut:
    return MigrationOut(
        migration_id=migration.migration_id, service_id=migration.service_id, option=migration.option,
        status=migration.status, panel_type=migration.panel_type, old_host=migration.old_host,
        assignee=migration.assignee, status_note=migration.status_note,
        access_kept=migration.option == "we_migrate" and not migration.access_purged_at,
        access_purged_at=from_storage(migration.access_purged_at) if migration.access_purged_at else None,
        created_at=from_storage(migration.created_at))


MIGRATION_TAGS, STAFF_MIGRATION_TAGS = ["Migraciones"], ["Personal", "Migraciones"]


@app.post("/services/<service_id>/migration", tags=MIGRATION_TAGS, summary="Pedir la migración de un hosting",
          description="Opción 1 (we_migrate, recomendada): con el acceso al servidor anterior, que se cifra al "
                      "recibirlo y se destruye MigrationSecretDays días después de terminar; hay que aceptar que el "
                      "correo guardado en el webmail no se migra. Opción 2 (self_service): llegan las instrucciones "
                      "por email.", security=SECURED, responses=answers(201, "Migración pedida"))
def request_migration(service_id: str, body: MigrationRequest) -> tuple[MigrationOut, int]:
    logic, repo = _migrations()
    migration = logic.request(repo, services, accounts.contact_permissions, kms, _key_id(), clock,
                              current_identity(app), service_id, body)
    return migration_out(migration), 201


@app.get("/me/migrations", tags=MIGRATION_TAGS, summary="Mis migraciones", security=SECURED, responses=answers())
def my_migrations() -> list[MigrationOut]:
    logic, repo = _migrations()
    return [migration_out(m) for m in logic.list_mine(repo, accounts.contact_permissions, current_identity(app))]


@app.post("/me/migrations/<migration_id>/cancel", tags=MIGRATION_TAGS, summary="Cancelar una migración pedida",
          description="Mientras no empezó.", security=SECURED, responses=answers())
def cancel_migration(migration_id: str) -> MigrationOut:
    logic, repo = _migrations()
    return migration_out(logic.cancel(repo, accounts.contact_permissions, clock, current_identity(app), migration_id,
                                      _purge_after()))


@app.get("/staff/migrations", tags=STAFF_MIGRATION_TAGS, summary="Migraciones por hacer (las más viejas primero)",
         description="Las que hacemos nosotros (opción 1) y no terminaron, con quién la tomó.", security=SECURED,
         responses=answers())
def staff_migration_queue() -> list[MigrationOut]:
    logic, repo = _migrations()
    return [migration_out(m) for m in logic.staff_queue(repo, current_identity(app))]


@app.post("/staff/migrations/<migration_id>/take", tags=STAFF_MIGRATION_TAGS,
          summary="Tomar una migración (solo quien la toma ve el acceso)", security=SECURED, responses=answers())
def take_migration(migration_id: str) -> MigrationOut:
    logic, repo = _migrations()
    return migration_out(logic.take(repo, clock, current_identity(app), migration_id))


@app.post("/staff/migrations/<migration_id>/status", tags=STAFF_MIGRATION_TAGS,
          summary="Pasar una migración al paso siguiente", security=SECURED, responses=answers())
def migration_step(migration_id: str, body: MigrationStep) -> MigrationOut:
    logic, repo = _migrations()
    return migration_out(logic.set_status(repo, clock, current_identity(app), migration_id, body.status, body.note,
                                          _purge_after()))


@app.post("/staff/migrations/<migration_id>/access", tags=STAFF_MIGRATION_TAGS,
          summary="Ver el acceso al servidor anterior (queda registrado)",
          description="Solo quien tomó la migración. Cada vista se registra: quién, cuándo y desde dónde.",
          security=SECURED, responses=answers())
def reveal_access(migration_id: str) -> OldServerAccess:
    logic, repo = _migrations()
    context = app.current_event.request_context
    access = logic.reveal(repo, kms, _key_id(), clock, current_identity(app), migration_id,
                          context.identity.source_ip, app.current_event.headers.get("User-Agent"))
    return OldServerAccess(**access)


@app.get("/staff/migrations/<migration_id>/reveals", tags=STAFF_MIGRATION_TAGS,
         summary="Quién vio el acceso al servidor anterior", security=SECURED, responses=answers())
def access_reveals(migration_id: str) -> list[RevealOut]:
    logic, repo = _migrations()
    logic.staff_migration(repo, current_identity(app), migration_id)
    return [RevealOut(revealed_by=r.revealed_by, revealed_at=from_storage(r.revealed_at), source_ip=r.source_ip)
            for r in repo.reveals(migration_id)]


lambda_handler = lambda_handler_for(app)
