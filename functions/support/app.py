"""Support services API: remote support (RustDesk) — the free slots, a booking (one atomic claim of an
operator-slot), moving or cancelling it until BookingChangeHours before; staff's agenda, reassignment and
outcome (support.remote_booking)."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from support import remote_booking
from support.schemas import BookingOut, BookRemoteSupport, Outcome, Reassign, Reschedule, SlotOut

from shared.auth import require_staff
from shared.aws import LazyClient
from shared.clock import SystemClock, from_storage
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.dal.support import RemoteBooking, RemoteBookings
from shared.dal.tickets import Tickets
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
bookings = RemoteBookings()
accounts = Accounts()
services = Services()
tickets = Tickets()  # the closed days staff keep (shared with the SLA clocks)
sesv2 = LazyClient("sesv2")  # the confirmation with its .ics
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
                     "anticipación mínima hasta el horizonte de reserva. `from` y `to`: días (AAAA-MM-DD).",
         security=SECURED, responses=answers())
def get_slots(from_: Annotated[date, Query(alias="from")], to: Annotated[date, Query()]) -> list[SlotOut]:
    from shared.auth import Permission, authorize, require_account

    identity = current_identity(app)
    authorize(identity, require_account(identity), Permission.TICKETS, accounts.contact_permissions)
    found = remote_booking.free_slots(bookings, clock, _policy(), tickets.closed_day_set(), from_, to)
    return [SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, operators_free=s.operators_free) for s in found]


@app.post("/support/remote/bookings", tags=TAGS, summary="Agendar un soporte remoto",
          description="Con el número de puesto de trabajo de RustDesk de la PC que necesita ayuda. Una reserva "
                      "activa por cuenta; llega la confirmación por email con la invitación de calendario (.ics).",
          security=SECURED, responses=answers(201, "Soporte remoto agendado"))
def post_booking(body: BookRemoteSupport) -> tuple[BookingOut, int]:
    booking = remote_booking.book(bookings, accounts.contact_permissions, _service_owner, clock, _policy(),
                                  tickets.closed_day_set(), current_identity(app), body.starts_at, body.rustdesk_id,
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
                                        tickets.closed_day_set(), current_identity(app), booking_id, body.starts_at)
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
         description="Por horario y operador, con el puesto de trabajo (RustDesk) de cada cliente.",
         security=SECURED, responses=answers())
def staff_agenda(day: Annotated[date, Query()]) -> list[BookingOut]:
    require_staff(current_identity(app))
    return [booking_out(b) for b in remote_booking.agenda(bookings, clock, day)]


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


lambda_handler = lambda_handler_for(app)
