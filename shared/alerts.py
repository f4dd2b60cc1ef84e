"""Alert hookpoints: which events become which alert, for whom, on which channels (docs/alerts.md).

Adding a hookpoint is one entry in HOOKPOINTS: the event type, the template name and how its body
parameters come from the event, who receives it, which preference governs it, whether it may wake
someone up (urgent alerts ignore the quiet hours), its channels and its email subject; and its text in
TEXTS (the body approved in WhatsApp Manager, the same words the email says).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.events import EventType

LANGUAGE = "es_AR"


class Kind:
    """Kinds of alert a person can turn off, and the contact right each one needs."""

    BILLING = "billing"
    SERVICES = "services"
    QUOTES = "quotes"
    TICKETS = "tickets"


KIND_PERMISSION = {Kind.BILLING: "invoices", Kind.SERVICES: "services", Kind.QUOTES: "orders",
                   Kind.TICKETS: "tickets"}
KIND_LABELS_ES = {Kind.BILLING: "facturas y pagos", Kind.SERVICES: "servicios y cambios de plan",
                  Kind.QUOTES: "presupuestos", Kind.TICKETS: "tickets de soporte"}

WHATSAPP, EMAIL = "whatsapp", "email"
CHANNEL_LABELS_ES = {WHATSAPP: "WhatsApp", EMAIL: "correo electrónico"}
BOTH = (WHATSAPP, EMAIL)
# The email of these events is another function's, with what an alert cannot carry: the invoice's PDF
# (documents), the enabling instructions (documents), the answer itself or the closing notice (tickets). An
# alert email besides it would say the same thing twice.
WHATSAPP_ONLY = (WHATSAPP,)

ACCOUNT = "account"  # the holder and the contacts whose rights and preferences cover the kind
HOLDER = "holder"  # the holder alone (what only the holder decides on: who saw the service's credentials)
OPS = "ops"  # the provider's staff on call: OPS_WHATSAPP_NUMBERS and OPS_ALERT_EMAILS


def services_of(payload: dict[str, Any]) -> list[str] | None:
    """The services an event concerns (a service's, or an invoice's ``service_ids``); None when it names none:
    such an alert reaches no contact whose rights are limited to some services (docs/accounts.md)."""
    if isinstance(payload.get("service_ids"), list):
        return [str(i) for i in payload["service_ids"]]
    return [str(payload["service_id"])] if payload.get("service_id") else None


def reaches(person: Any, services: list[str] | None) -> bool:
    """Whether an alert about these services is for this person: the holder and unscoped contacts always."""
    if not getattr(person, "scoped", False):
        return True
    return services is not None and bool(set(person.service_ids or []) & set(services))


def wants(person: Any, kind: str | None, channel: str = WHATSAPP) -> bool:
    """Whether a person (a Client or a Contact) gets alerts of ``kind`` on ``channel``: WhatsApp needs their
    opt-in and number (Meta's rule); email goes to the address they sign in with unless they turned that kind
    off. Each channel has its own choice per kind (absent: on)."""
    if channel == WHATSAPP:
        if not person.whatsapp_opt_in or not person.phone:
            return False
        chosen = person.alert_preferences
    else:
        if not person.email:
            return False
        chosen = person.email_alert_preferences
    preferences = chosen.as_dict() if chosen else {}
    return kind is None or preferences.get(kind, True)


@dataclass(frozen=True)
class Hookpoint:
    event_type: str
    template: str
    parameters: Callable[[dict[str, Any]], list[str]]  # the event's payload -> the template's {{1}}, {{2}} …
    audience: str
    kind: str | None  # None: staff alerts, no client preference applies
    urgent: bool
    # About an invoice that must still be unpaid when the alert goes out: it is held a moment first
    # (INVOICE_ALERT_HOLD_SECONDS)
    # (an upgrade's invoice cancelled seconds after it was issued never reaches anyone) and dropped if
    # the invoice was paid or cancelled meanwhile.
    while_unpaid: bool = False
    channels: tuple[str, ...] = BOTH
    subject: str = ""  # the email's subject (es-AR), when email is one of its channels



MIGRATION_STATUS_ES = {"in_progress": "en curso", "awaiting_dns": "lista: falta que cambie la delegación (DNS)",
                       "completed": "terminada", "failed": "no pudo completarse: le escribimos por el ticket",
                       "cancelled": "cancelada"}
FEATURE_STATUS_ES = {"open": "abierto", "planned": "planificado", "in_progress": "en desarrollo", "done": "listo",
                     "declined": "descartado"}
SUSPENSION_ES = {"overdue": "falta de pago", "payment_refunded": "pago devuelto", "staff": "decisión del proveedor"}


def _money(amount: Any, currency: Any) -> str:
    from shared.money import Money

    return Money(int(amount or 0), currency or "ARS").display()


def _day(iso: str | None) -> str:
    """A stored instant (or local date) as the local calendar day, dd/mm/yyyy."""
    if not iso:
        return "-"
    if len(iso) == 10:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    from shared.calendar import local_date
    from shared.clock import from_storage

    return local_date(from_storage(iso)).strftime("%d/%m/%Y")


def _moment(iso: str | None) -> str:
    """A stored instant as local day and time, dd/mm/yyyy hh:mm."""
    if not iso:
        return "-"
    from shared.calendar import local
    from shared.clock import from_storage

    return local(from_storage(iso)).strftime("%d/%m/%Y %H:%M")


def _ref(identifier: str | None) -> str:
    """How an invoice or service is named in a message: the last 8 characters of its id."""
    return (identifier or "-")[-8:]


HOOKPOINTS: dict[str, Hookpoint] = {
    hook.event_type: hook
    for hook in (
        Hookpoint(EventType.INVOICE_CREATED, "factura_emitida",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("total"), p.get("currency")),
                             _day(p.get("due_at"))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.INVOICE_PAID, "pago_acreditado",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("total"), p.get("currency"))],
                  ACCOUNT, Kind.BILLING, urgent=False, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.INVOICE_OVERDUE, "factura_vencida",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("balance"), p.get("currency")),
                             str(p.get("days_overdue", 0))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True, channels=WHATSAPP_ONLY),
        # A client who just paid waits for this one: it is sent at any hour.
        Hookpoint(EventType.SERVICE_ACTIVATED, "servicio_activo",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", p.get("where") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=True, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.UPGRADE_COMPLETED, "cambio_de_plan_listo",
                  lambda p: [p.get("from_product") or "-", p.get("to_product") or "-", _day(p.get("next_due_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False,
                  channels=BOTH, subject="Su cambio de plan está listo"),
        Hookpoint(EventType.INVOICE_REMINDER, "factura_por_vencer",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("balance"), p.get("currency")),
                             _day(p.get("due_at"))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True,
                  channels=BOTH, subject="Su factura está por vencer"),
        Hookpoint(EventType.INVOICE_RENEWAL_CREATED, "renovacion_emitida",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _ref(p.get("invoice_id")),
                             _money(p.get("total"), p.get("currency")), _day(p.get("due_at"))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.SERVICE_RENEWED, "servicio_renovado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _day(p.get("period_end"))],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Servicio renovado"),
        Hookpoint(EventType.SERVICE_SUSPENDED, "servicio_suspendido",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", SUSPENSION_ES.get(
                      p.get("reason") or "", "decisión del proveedor")],
                  # Not urgent: the renewal sweep runs at 00:05 local, and this can wait for the morning.
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Servicio suspendido"),
        Hookpoint(EventType.SERVICE_UNSUSPENDED, "servicio_reactivado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=True, channels=BOTH, subject="Servicio reactivado"),
        Hookpoint(EventType.SERVICE_CANCELLATION_REQUESTED, "baja_solicitada",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _day(p.get("effective_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Pedido de baja registrado"),
        Hookpoint(EventType.SERVICE_CANCELLATION_WITHDRAWN, "baja_retirada",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Pedido de baja retirado"),
        Hookpoint(EventType.SERVICE_CANCELLED, "servicio_dado_de_baja",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Baja del servicio efectiva"),
        Hookpoint(EventType.SERVICE_TERMINATED, "servicio_terminado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-",
                             "falta de pago" if p.get("cause") == "overdue" else "decisión administrativa"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Servicio dado de baja"),
        Hookpoint(EventType.TRANSFER_OFFERED, "transferencia_ofrecida",
                  lambda p: [p.get("from_name") or "-", p.get("service") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Le transfieren un servicio"),
        Hookpoint(EventType.TRANSFER_TO_CONFIRM, "transferencia_a_confirmar",
                  lambda p: [p.get("service") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Confirme la transferencia pedida"),
        Hookpoint(EventType.SERVICE_TRANSFERRED_OUT, "servicio_transferido",
                  lambda p: [p.get("service") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Servicio transferido"),
        # The confirmation email is the support function's own (with the .ics): WhatsApp only here.
        Hookpoint(EventType.REMOTE_SUPPORT_BOOKED, "soporte_remoto_agendado",
                  lambda p: [_moment(p.get("starts_at")), p.get("rustdesk_id") or "-"],
                  ACCOUNT, Kind.TICKETS, urgent=True, channels=WHATSAPP_ONLY),
        # Time-bound: the one 15 minutes before must not wait for the end of the quiet hours.
        Hookpoint(EventType.REMOTE_SUPPORT_REMINDER, "soporte_remoto_recordatorio",
                  lambda p: [_moment(p.get("starts_at")), p.get("rustdesk_id") or "-"],
                  ACCOUNT, Kind.TICKETS, urgent=True, channels=BOTH, subject="Recordatorio de su soporte remoto"),
        Hookpoint(EventType.MIGRATION_STATUS_CHANGED, "migracion_estado",
                  lambda p: [p.get("old_host") or "su servicio", MIGRATION_STATUS_ES.get(p.get("status") or "", "-")],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Su migración"),
        # The holder hears that someone else saw the credentials (the holder's own reveals are only listed).
        Hookpoint(EventType.SERVICE_CREDENTIALS_REVEALED, "claves_vistas",
                  lambda p: [p.get("by") or "-", p.get("service") or "-", _moment(p.get("revealed_at"))],
                  HOLDER, Kind.SERVICES, urgent=False, channels=BOTH, subject="Vieron las claves de su servicio"),
        Hookpoint(EventType.SERVICE_CREDENTIALS_ROTATED, "claves_cambiadas",
                  lambda p: [p.get("service") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Cambiamos la clave de su servicio"),
        Hookpoint(EventType.FEATURE_REQUEST_STATUS_NOTICE, "funcionalidad_estado",
                  lambda p: [p.get("title") or "-", FEATURE_STATUS_ES.get(p.get("status") or "", "-")],
                  HOLDER, Kind.SERVICES, urgent=False, channels=BOTH, subject="Novedades de un pedido que votó"),
        # The status page (functions/status/notices.py): a problem on the client's server reaches it at any hour;
        # its end and a planned maintenance can wait for the morning (the reminder goes out a day ahead).
        Hookpoint(EventType.STATUS_INCIDENT_OPENED_NOTICE, "incidente_abierto",
                  lambda p: [p.get("services") or "-", p.get("title") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=True, channels=BOTH, subject="Problema en su servicio"),
        Hookpoint(EventType.STATUS_INCIDENT_RESOLVED_NOTICE, "incidente_resuelto",
                  lambda p: [p.get("title") or "-", p.get("services") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Problema resuelto"),
        Hookpoint(EventType.STATUS_MAINTENANCE_NOTICE, "mantenimiento_programado",
                  lambda p: [p.get("services") or "-", p.get("title") or "-", _moment(p.get("starts_at")),
                             _moment(p.get("ends_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Mantenimiento programado"),
        Hookpoint(EventType.STATUS_MAINTENANCE_REMINDER_NOTICE, "mantenimiento_recordatorio",
                  lambda p: [p.get("title") or "-", p.get("services") or "-", _moment(p.get("starts_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Recordatorio de mantenimiento"),
        Hookpoint(EventType.SERVICE_TRANSFERRED_IN, "servicio_recibido",
                  lambda p: [p.get("service") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Servicio recibido"),
        Hookpoint(EventType.SERVICE_EXPIRED, "dominio_vencido",
                  lambda p: [p.get("domain") or p.get("product_name") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False, channels=BOTH, subject="Dominio vencido"),
        Hookpoint(EventType.BACKUP_RESTORE_REQUESTED, "restauracion_pedida_staff",
                  lambda p: [_ref(p.get("service_id")), p.get("domain") or "-", _day(p.get("last_backup_on"))],
                  OPS, None, urgent=False,
                  channels=BOTH, subject="[Staff] Pedido de restauración de backup"),
        Hookpoint(EventType.QUOTE_SENT, "presupuesto_enviado",
                  lambda p: [p.get("title") or "-", _money(p.get("total"), p.get("currency")),
                             _day(p.get("valid_until"))],
                  # who may answer it: the holder, contacts with `orders`
                  ACCOUNT, Kind.QUOTES, urgent=False, channels=BOTH, subject="Le enviamos un presupuesto"),
        Hookpoint(EventType.QUOTE_ACCEPTED, "presupuesto_aceptado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-", _money(p.get("total"), p.get("currency"))],
                  OPS, None, urgent=False, channels=BOTH, subject="[Staff] Presupuesto aceptado"),
        Hookpoint(EventType.QUOTE_PAID, "presupuesto_pagado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-", _money(p.get("total"), p.get("currency"))],
                  OPS, None, urgent=False, channels=BOTH, subject="[Staff] Presupuesto pagado"),
        Hookpoint(EventType.QUOTE_DECLINED, "presupuesto_rechazado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-"],
                  OPS, None, urgent=False, channels=BOTH, subject="[Staff] Presupuesto rechazado"),
        # Tickets: the client hears of an answer; staff on call of a deadline about to pass, and of one passed.
        Hookpoint(EventType.TICKET_ANSWERED, "ticket_respondido",
                  lambda p: [_ref(p.get("ticket_id")), (p.get("subject") or "-")[:60]],
                  ACCOUNT, Kind.TICKETS, urgent=False, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.TICKET_AUTO_CLOSE_WARNING, "ticket_por_cerrarse",
                  lambda p: [_ref(p.get("ticket_id")), (p.get("subject") or "-")[:60], _moment(p.get("due_at"))],
                  ACCOUNT, Kind.TICKETS, urgent=False, channels=WHATSAPP_ONLY),
        Hookpoint(EventType.TICKET_SLA_WARNING, "ticket_sla_por_vencer_staff",
                  lambda p: [_ref(p.get("ticket_id")), p.get("deadline_label") or "-", _moment(p.get("due_at")),
                             (p.get("plan") or "-").capitalize(), p.get("sla_class") or "-"],
                  OPS, None, urgent=True, channels=BOTH, subject="[Staff] Plazo de ticket por vencer"),
        Hookpoint(EventType.TICKET_SLA_BREACHED, "ticket_sla_vencido_staff",
                  lambda p: [_ref(p.get("ticket_id")), p.get("deadline_label") or "-", _moment(p.get("due_at")),
                             (p.get("plan") or "-").capitalize(), p.get("sla_class") or "-"],
                  OPS, None, urgent=True, channels=BOTH, subject="[Staff] Plazo de ticket vencido"),
        Hookpoint(EventType.SERVICE_ACTIVATION_FAILED, "activacion_fallida_staff",
                  lambda p: [_ref(p.get("service_id")), p.get("module") or "-", (p.get("error") or "-")[:200]],
                  OPS, None, urgent=True, channels=BOTH, subject="[Staff] Activación fallida"),
    )
}


# The body of each template as approved in WhatsApp Manager (category utility, es_AR): the WhatsApp message
# says it with the parameters in {{1}}, {{2}} …, and the alert's email says the same words.
TEXTS: dict[str, str] = {
    "ticket_respondido": 'Respondimos su ticket {{1}} ("{{2}}"). Puede leer la respuesta en Paneldecliente → Soporte.',
    "ticket_por_cerrarse": (
        'Su ticket {{1}} ("{{2}}") se cerrará el {{3}} si no recibimos respuesta. Si sigue necesitando ayuda,'
        " respóndalo en Paneldecliente."
    ),
    "ticket_sla_por_vencer_staff": (
        "[Staff] El ticket {{1}} vence pronto: plazo de {{2}} hasta el {{3}} (plan {{4}}, {{5}})."
    ),
    "transferencia_ofrecida": (
        "{{1}} quiere transferirle el servicio {{2}}. Para recibirlo, acéptelo en Paneldecliente → Transferencias "
        "con su clave."
    ),
    "transferencia_a_confirmar": (
        "Registramos su pedido de transferir el servicio {{1}} a otro cliente. Para seguir, confírmelo en "
        "Paneldecliente → Transferencias con su clave."
    ),
    "servicio_transferido": "El servicio {{1}} pasó a la cuenta de su nuevo titular: ya no figura en la suya.",
    "servicio_recibido": "El servicio {{1}} ya es de su cuenta: lo ve en Paneldecliente → Servicios.",
    "migracion_estado": "La migración de {{1}} está {{2}}. El detalle, en Paneldecliente → Servicios.",
    "funcionalidad_estado": (
        "El pedido de nueva funcionalidad que votó, \"{{1}}\", ahora está {{2}}. El detalle, en Paneldecliente → "
        "Nuevas funcionalidades."
    ),
    "incidente_abierto": (
        "Detectamos un problema que afecta a {{1}}: \"{{2}}\". Ya estamos trabajando en él; las novedades, en "
        "Paneldecliente → Estado del Servicio."
    ),
    "incidente_resuelto": (
        "Resolvimos el problema \"{{1}}\" que afectaba a {{2}}. El detalle, en Paneldecliente → Estado del Servicio."
    ),
    "mantenimiento_programado": (
        "Programamos un mantenimiento que afecta a {{1}}: \"{{2}}\", del {{3}} al {{4}} (hora de Argentina). El "
        "detalle, en Paneldecliente → Estado del Servicio."
    ),
    "mantenimiento_recordatorio": (
        "Recordatorio: el mantenimiento \"{{1}}\" que afecta a {{2}} empieza el {{3}} (hora de Argentina). El "
        "detalle, en Paneldecliente → Estado del Servicio."
    ),
    "claves_vistas": (
        "{{1}} vio las claves de {{2}} el {{3}}. Quién vio las claves y cuándo, en Paneldecliente → Servicios; si "
        "alguien ya no debería tenerlas, puede cambiarlas desde allí."
    ),
    "claves_cambiadas": (
        "Cambiamos la clave de {{1}}: la anterior ya no sirve. Quien puede ver las claves encuentra la nueva en "
        "Paneldecliente → Servicios."
    ),
    "soporte_remoto_agendado": (
        "Agendamos su soporte remoto para el {{1}} en el puesto de trabajo {{2}}. Le enviamos la invitación por "
        "email; puede cambiarlo desde Paneldecliente."
    ),
    "soporte_remoto_recordatorio": (
        "Recordatorio: su soporte remoto es el {{1}}. Desde la PC del puesto de trabajo {{2}}, tenga RustDesk abierto "
        "y acepte el cartel verde cuando el operador se conecte."
    ),
    "ticket_sla_vencido_staff": (
        "[Staff] Venció el plazo de {{2}} del ticket {{1}} ({{3}}, plan {{4}}, {{5}}). Responder cuanto "
        "antes."
    ),
    "factura_emitida": (
        "Hola, emitimos la factura {{1}} por {{2}}, con vencimiento el {{3}}. Puede pagarla desde "
        "Paneldecliente → Facturas."
    ),
    "pago_acreditado": "¡Gracias! Acreditamos el pago de la factura {{1}} por {{2}}.",
    "factura_vencida": (
        "Le recordamos que la factura {{1}} tiene un saldo de {{2}} vencido hace {{3}} días. Evite la "
        "suspensión del servicio pagándola desde Paneldecliente → Facturas."
    ),
    "servicio_activo": "Su servicio {{1}} ({{2}}) ya está activo. {{3}}.",
    "cambio_de_plan_listo": "Listo: su servicio pasó de {{1}} a {{2}}. Próximo vencimiento: {{3}}.",
    "factura_por_vencer": (
        "Le recordamos que la factura {{1}} por {{2}} vence el {{3}}. Puede pagarla desde Paneldecliente → "
        "Facturas."
    ),
    "renovacion_emitida": (
        "Emitimos la factura de renovación de su servicio {{1}} ({{2}}): factura {{3}} por {{4}}, con "
        "vencimiento el {{5}}. Puede pagarla desde Paneldecliente → Facturas."
    ),
    "servicio_renovado": "Su servicio {{1}} ({{2}}) quedó renovado. Próximo vencimiento: {{3}}.",
    "servicio_suspendido": (
        "Su servicio {{1}} ({{2}}) fue suspendido por {{3}}. En Paneldecliente → Mis servicios encontrará el "
        "detalle y cómo reactivarlo."
    ),
    "servicio_reactivado": "Listo: su servicio {{1}} ({{2}}) fue reactivado y ya funciona con normalidad.",
    "baja_solicitada": (
        "Registramos su pedido de baja del servicio {{1}} ({{2}}). Se hará efectiva el {{3}}; hasta entonces "
        "puede retirarlo desde Paneldecliente → Mis servicios."
    ),
    "baja_retirada": (
        "Retiró el pedido de baja del servicio {{1}} ({{2}}): el servicio sigue activo y se renovará "
        "normalmente."
    ),
    "servicio_dado_de_baja": (
        "La baja del servicio {{1}} ({{2}}) ya se hizo efectiva. En Paneldecliente → Mis servicios verá hasta"
        " cuándo conservamos su último backup, si lo tiene."
    ),
    "servicio_terminado": (
        "Su servicio {{1}} ({{2}}) fue dado de baja por {{3}}. Si tiene dudas, consúltenos desde "
        "Paneldecliente."
    ),
    "dominio_vencido": "El dominio {{1}} venció y no fue renovado. Si quiere recuperarlo, consúltenos cuanto antes.",
    "restauracion_pedida_staff": (
        "[Staff] Pedido de restauración del backup del servicio {{1}} ({{2}}), último backup del {{3}}. "
        "Enviar el presupuesto al cliente."
    ),
    "presupuesto_enviado": (
        'Le enviamos el presupuesto "{{1}}" por {{2}}, válido hasta el {{3}}. Puede aceptarlo o rechazarlo '
        "desde Paneldecliente → Presupuestos."
    ),
    "presupuesto_aceptado_staff": (
        '[Staff] El cliente aceptó el presupuesto {{1}} ("{{2}}") por {{3}}: su factura ya fue emitida.'
    ),
    "presupuesto_pagado_staff": (
        '[Staff] Se pagó la factura del presupuesto {{1}} ("{{2}}") por {{3}}: ya puede hacerse el trabajo.'
    ),
    "presupuesto_rechazado_staff": '[Staff] El cliente rechazó el presupuesto {{1}} ("{{2}}").',
    "activacion_fallida_staff": (
        "[Staff] No se pudo activar el servicio {{1}} con el módulo {{2}}: {{3}}. Revisar y reintentar desde "
        "el panel."
    ),
}


def render(template: str, parameters: list[str]) -> str:
    """A template's text with its parameters in place ({{1}} is the first)."""
    import re

    # One pass: a parameter that itself holds "{{2}}" stays as written.
    return re.sub(r"\{\{(\d+)\}\}", lambda m: parameters[int(m[1]) - 1] if int(m[1]) <= len(parameters) else "-",
                  TEXTS[template])
