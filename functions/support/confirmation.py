"""The booking's confirmation email with its calendar invitation (.ics, RFC 5545, written with icalendar): the
session lands in the client's calendar with the RustDesk steps and an alarm 15 minutes before. Sent by the support
function right after the booking commits (once per booking and version: a reschedule sends the new time, with a
higher SEQUENCE under the same UID, so calendars move the event instead of adding one)."""

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from shared import email_delivery, outbound_email
from shared.calendar import local
from shared.clock import Clock, from_storage
from shared.dal.mail import SentEmails
from shared.dal.support import RemoteBooking

logger = Logger(child=True)

STEPS = ("Desde la PC que necesita el soporte (EXCLUSIVAMENTE desde esa PC), tenga RustDesk abierto a la hora "
         "pactada. Cuando el operador se conecte, acepte el cartel verde para darle acceso.")


def ics(booking: RemoteBooking, domain: str, stamp: datetime) -> bytes:
    from datetime import timedelta

    from icalendar import Alarm, Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//Paneldecliente//Soporte remoto//ES")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.booking_id}@{domain}")
    event.add("dtstamp", stamp)
    event.add("dtstart", from_storage(booking.starts_at))
    event.add("dtend", from_storage(booking.ends_at))
    event.add("sequence", int(booking.version or 0))
    event.add("summary", "Soporte remoto de Paneldecliente")
    event.add("location", f"RustDesk - puesto de trabajo {booking.rustdesk_id}")
    event.add("description", f"{booking.topic}\n\n{STEPS}")
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "Soporte remoto en 15 minutos: abra RustDesk")
    alarm.add("trigger", timedelta(minutes=-15))
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


def send(sesv2: Any, clock: Clock, sender: str, to: str, booking: RemoteBooking,
         configuration_set: str | None = None) -> str | None:
    """The confirmation (or cancellation) to the person who booked; a moment's SES failure is logged, not raised:
    the booking stands, and the reminders still come."""
    when = local(from_storage(booking.starts_at)).strftime("%d/%m/%Y a las %H:%M")
    cancelled = booking.status == "cancelled"
    mail = outbound_email.Mail(
        kind="remote_support", subject=("Soporte remoto cancelado" if cancelled else "Soporte remoto agendado"),
        paragraphs=((f"Cancelamos su soporte remoto del {when}.",) if cancelled else (
            f"Su soporte remoto quedó agendado para el {when} (hora de Argentina).",
            f"Puesto de trabajo (RustDesk): {booking.rustdesk_id}. Tema: {booking.topic}", STEPS,
            "Le adjuntamos la invitación para su calendario. Puede cambiarlo o cancelarlo desde Paneldecliente.")))
    domain = outbound_email.parse_address("From", sender).domain
    email = outbound_email.OutgoingEmail(
        sender=sender, to=(to,), subject=mail.subject, text=mail.text, html=mail.html,
        attachments=(outbound_email.Attachment("soporte-remoto.ics", ics(booking, domain, clock.now()),
                                               "text/calendar"),))
    cause = f"remote-{booking.booking_id}-{booking.version}"
    courier = email_delivery.Courier(SentEmails(), sesv2, clock, configuration_set)
    try:
        return email_delivery.send_once(courier, email, event_id=cause, kind=mail.kind, client_id=booking.client_id,
                                        message_id=outbound_email.recipient_message_id(cause, to),
                                        message_id_domain=domain)
    except outbound_email.EmailFailure:
        logger.warning("remote support confirmation not sent", extra={"booking_id": booking.booking_id})
        return None
