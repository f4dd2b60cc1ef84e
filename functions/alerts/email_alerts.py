"""Sending one email delivery: the alert's words (shared.alerts.TEXTS, the same the WhatsApp template says)
as a short es-AR email, once.

Exactly once rides on shared.email_delivery: the right to send (event, address) is claimed in a SentEmail
before SES is called, so two copies of the queue message send it once, and a run that died after recording
the send sends nothing more; the delivery then records what its SentEmail says. A run that died between the
claim and the record (or whose record DynamoDB refused) leaves a claim that, after CLAIM_TIMEOUT, is marked
``unknown`` and never sent again, and the delivery ``failed`` ("envío interrumpido"): as WhatsApp's
``interrupted``, a second copy is worse than a missing one (shared.email_delivery's rule for every email).
The email says it is automatic (``Auto-Submitted: auto-generated``, RFC 3834), so vacation replies do not
answer it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from alerts.whatsapp import SendFailed

from shared import alerts, email_delivery, outbound_email
from shared.clock import Clock, to_storage
from shared.dal.alerts import Alerts, Delivery
from shared.dal.table import clear_due
from shared.errors import ConcurrentModification

# What a SentEmail's status means for the delivery.
OUTCOMES = {"sent": "sent", "rejected": "failed", "suppressed": "dropped", "unknown": "failed"}
REASONS = {"rejected": "SES rechazó la dirección: el correo no se pudo entregar.",
           "unknown": "Envío interrumpido: no se sabe si el correo salió; no se reintenta.",
           "suppressed": "La dirección rebotó o marcó nuestros correos como spam: no le enviamos más hasta que "
                         "el staff la habilite."}


@dataclass
class AlertMail:
    courier: email_delivery.Courier
    sender: str  # "Paneldecliente <avisos@paneldecliente.com>"
    panel_url: str


class NotConfigured(Exception):
    pass


def letter(delivery: Delivery, panel_url: str) -> outbound_email.Mail:
    hook = alerts.HOOKPOINTS[delivery.event_type]
    staff = hook.audience == alerts.OPS
    why = ("Aviso para el staff de guardia." if staff else
           "Le enviamos este aviso porque es el titular de la cuenta o un contacto autorizado. Puede elegir qué "
           "avisos recibe por correo y por WhatsApp en Paneldecliente → Alertas.")
    return outbound_email.Mail(f"alert:{delivery.template}", f"{hook.subject} - Paneldecliente", (
        alerts.render(delivery.template, list(delivery.parameters)), why,
    ), ("Ingresar a Paneldecliente", panel_url.rstrip("/") or panel_url))


def send_email(deliveries: Alerts, mail: Callable[[], AlertMail] | None, clock: Clock, delivery: Delivery) -> str:
    """The email of a delivery that is due; returns sent | failed | dropped | in_flight | claimed_elsewhere.
    Raises RetryLater (alerts.deliver) for SES throttling or an outage, or our configuration missing."""
    from alerts.deliver import RetryLater

    try:
        if mail is None:
            raise NotConfigured("Falta configurar el envío de correos de alertas.")
        postman = mail()
    except NotConfigured as missing:
        # "transient", not "not_configured": that one rings the WhatsApp token alarm.
        raise RetryLater(SendFailed("transient", None, str(missing)), delivery.attempts) from None
    if delivery.event_type not in alerts.HOOKPOINTS or not delivery.email:
        return _finish(deliveries, clock, delivery, "failed", "Este aviso ya no se envía por correo.")
    event_key = f"alert-{delivery.event_id}"  # apart from any other email of the same event (invoices, tickets)
    try:
        domain = outbound_email.parse_address("From", postman.sender).domain
        content = letter(delivery, postman.panel_url)
        email = outbound_email.OutgoingEmail(
            sender=postman.sender, to=(delivery.email,), subject=content.subject, text=content.text,
            html=content.html, headers=(("Auto-Submitted", "auto-generated"),
                                        ("X-Paneldecliente-Event", delivery.event_id)))
        status = email_delivery.send_once(
            postman.courier, email, event_id=event_key, kind=content.kind, client_id=delivery.client_id,
            message_id=outbound_email.recipient_message_id(event_key, delivery.email), message_id_domain=domain)
    except outbound_email.TransientEmailFailure as failure:
        delivery.attempts += 1
        delivery.error_reason = f"SES: {failure}"[:300]
        delivery.updated_at = to_storage(clock.now())
        try:
            deliveries.save_delivery(delivery)
        except ConcurrentModification:
            pass  # what it says is only a note: the retry reads the delivery again
        raise RetryLater(SendFailed("throttled" if failure.code == "TooManyRequestsException" else "transient",
                                    None, str(failure)), delivery.attempts) from None
    except outbound_email.InvalidEmail as invalid:  # an address the person saved that no email can carry
        return _finish(deliveries, clock, delivery, "failed", f"Dirección de correo inválida: {invalid}")
    if status is None:  # done by an earlier run ("unknown" if it died sending), or being sent right now
        found = postman.courier.sent.find(event_key, delivery.email)
        if found is None or found.status not in OUTCOMES:
            return "in_flight"
        status = found.status
    return _finish(deliveries, clock, delivery, OUTCOMES[status], REASONS.get(status))


def _finish(deliveries: Alerts, clock: Clock, delivery: Delivery, status: str, reason: str | None) -> str:
    now = to_storage(clock.now())
    delivery.status, delivery.error_reason, delivery.updated_at = status, reason, now
    if status == "sent":
        delivery.sent_at = now
    clear_due(delivery)
    try:
        deliveries.save_delivery(delivery)
    except ConcurrentModification:
        return "claimed_elsewhere"
    return status
