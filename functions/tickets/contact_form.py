"""The public contact form ("usando los formularios de contacto, todo se transforma en un ticket"): a person
with or without an account writes; a ticket is opened — the account's when the address is a holder's or a
contact's with ``tickets``, else a guest ticket — and acknowledged by email with its number.

Abuse (docs/email-channel.md): Cloudflare Turnstile proves a person sent it (checked server-side, once), and
at most CONTACTS_PER_EMAIL an hour per address and CONTACTS_PER_IP an hour per source IP are taken, counted
in the ticket's own transaction. Refused submissions write nothing. The answer is the same whoever the
address belongs to: the form never tells a stranger that an address is a client's.

The typed address is not proven, so the ticket says so to staff, and what it can reach is only what any
email from that address could: it is answered at that address (its owner's mailbox), never to the form.
"""

from datetime import datetime

from tickets import outside_tickets
from tickets.captcha import Turnstile, require_human
from tickets.client_schemas import ContactAccepted, ContactRequest
from tickets.clocks import TicketPolicy
from tickets.correspondents import who_is
from tickets.records import Repositories, system_note

from shared.clock import Clock
from shared.dal import rate_limits
from shared.dal.tickets import TicketNote
from shared.errors import TooManyAttempts
from shared.phones import normalise_phone

CONTACTS_PER_EMAIL = 3
CONTACTS_PER_IP = 10


class TooManyContacts(TooManyAttempts):
    code = "too_many_contact_requests"
    message = "Recibimos varias consultas suyas en la última hora. Espere un rato o escríbanos por correo."


def submit(repos: Repositories, clock: Clock, policy: TicketPolicy, turnstile: Turnstile, body: ContactRequest,
           source_ip: str | None, request_id: str) -> ContactAccepted:
    now = clock.now()
    phone = normalise_phone(body.phone, require_mobile=False) if body.phone else None
    ip = source_ip or "unknown"
    by_email, by_ip = rate_limits.RateWindows().counters([("contact-email", body.email), ("contact-ip", ip)], now)
    if by_email.count >= CONTACTS_PER_EMAIL or by_ip.count >= CONTACTS_PER_IP:
        raise TooManyContacts()
    require_human(turnstile, body.captcha_token, source_ip, request_id)
    sender = who_is(body.email)
    text = body.message + (f"\n\nTeléfono de contacto: {phone}" if phone else "")
    arrival = outside_tickets.Arrival(sender=sender, trusted=True, subject=body.subject, body=text, channel="form",
                                      name=body.name)
    ticket, _, uow = outside_tickets.open_ticket(repos, policy, now, arrival, acknowledge=True)
    rate_limits.count(uow, by_email, CONTACTS_PER_EMAIL)
    rate_limits.count(uow, by_ip, CONTACTS_PER_IP)
    uow.create(_note(ticket.ticket_id, now, body, ip, bool(ticket.client_id)))
    uow.commit()  # the counters' version checks: two forms at once cannot both take the last one
    return ContactAccepted(reference=ticket.ticket_id, message=(
        f"Recibimos su consulta: es el ticket {ticket.ticket_id}. Le enviamos la confirmación a {body.email}."))


def _note(ticket_id: str, now: datetime, body: ContactRequest, ip: str, of_account: bool) -> TicketNote:
    lines = [f"Desde el formulario de contacto (IP {ip}). La dirección {body.email} no está verificada: "
             + ("es de una cuenta, el ticket quedó en ella." if of_account else "no es de una cuenta.")]
    if body.service_id:
        lines.append(f"Servicio indicado en el formulario: {body.service_id} (sin verificar).")
    return system_note(ticket_id, now, "\n".join(lines))
