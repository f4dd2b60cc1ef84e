"""WhatsApp alert hookpoints: which events become which approved template, for whom (docs/alerts.md).

Adding a hookpoint is one entry in HOOKPOINTS: the event type, the template name and how its body
parameters come from the event, who receives it, which preference governs it and whether it may
wake someone up (urgent alerts ignore the quiet hours).
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

ACCOUNT = "account"  # the holder and the contacts whose rights and preferences cover the kind
OPS = "ops"  # the provider's staff on-call numbers (OPS_WHATSAPP_NUMBERS)


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
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True),
        Hookpoint(EventType.INVOICE_PAID, "pago_acreditado",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("total"), p.get("currency"))],
                  ACCOUNT, Kind.BILLING, urgent=False),
        Hookpoint(EventType.INVOICE_OVERDUE, "factura_vencida",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("balance"), p.get("currency")),
                             str(p.get("days_overdue", 0))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True),
        # A client who just paid waits for this one: it is sent at any hour.
        Hookpoint(EventType.SERVICE_ACTIVATED, "servicio_activo",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", p.get("where") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=True),
        Hookpoint(EventType.UPGRADE_COMPLETED, "cambio_de_plan_listo",
                  lambda p: [p.get("from_product") or "-", p.get("to_product") or "-", _day(p.get("next_due_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.INVOICE_REMINDER, "factura_por_vencer",
                  lambda p: [_ref(p.get("invoice_id")), _money(p.get("balance"), p.get("currency")),
                             _day(p.get("due_at"))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True),
        Hookpoint(EventType.INVOICE_RENEWAL_CREATED, "renovacion_emitida",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _ref(p.get("invoice_id")),
                             _money(p.get("total"), p.get("currency")), _day(p.get("due_at"))],
                  ACCOUNT, Kind.BILLING, urgent=False, while_unpaid=True),
        Hookpoint(EventType.SERVICE_RENEWED, "servicio_renovado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _day(p.get("period_end"))],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_SUSPENDED, "servicio_suspendido",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", SUSPENSION_ES.get(
                      p.get("reason") or "", "decisión del proveedor")],
                  # Not urgent: the renewal sweep runs at 00:05 local, and this can wait for the morning.
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_UNSUSPENDED, "servicio_reactivado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=True),
        Hookpoint(EventType.SERVICE_CANCELLATION_REQUESTED, "baja_solicitada",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-", _day(p.get("effective_at"))],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_CANCELLATION_WITHDRAWN, "baja_retirada",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_CANCELLED, "servicio_dado_de_baja",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_TERMINATED, "servicio_terminado",
                  lambda p: [p.get("product_name") or "-", p.get("domain") or "-",
                             "falta de pago" if p.get("cause") == "overdue" else "decisión administrativa"],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.SERVICE_EXPIRED, "dominio_vencido",
                  lambda p: [p.get("domain") or p.get("product_name") or "-"],
                  ACCOUNT, Kind.SERVICES, urgent=False),
        Hookpoint(EventType.BACKUP_RESTORE_REQUESTED, "restauracion_pedida_staff",
                  lambda p: [_ref(p.get("service_id")), p.get("domain") or "-", _day(p.get("last_backup_on"))],
                  OPS, None, urgent=False),
        Hookpoint(EventType.QUOTE_SENT, "presupuesto_enviado",
                  lambda p: [p.get("title") or "-", _money(p.get("total"), p.get("currency")),
                             _day(p.get("valid_until"))],
                  ACCOUNT, Kind.QUOTES, urgent=False),  # who may answer it: the holder, contacts with `orders`
        Hookpoint(EventType.QUOTE_ACCEPTED, "presupuesto_aceptado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-", _money(p.get("total"), p.get("currency"))],
                  OPS, None, urgent=False),
        Hookpoint(EventType.QUOTE_PAID, "presupuesto_pagado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-", _money(p.get("total"), p.get("currency"))],
                  OPS, None, urgent=False),
        Hookpoint(EventType.QUOTE_DECLINED, "presupuesto_rechazado_staff",
                  lambda p: [_ref(p.get("quote_id")), p.get("title") or "-"],
                  OPS, None, urgent=False),
        # Tickets: the client hears of an answer; staff on call of a deadline about to pass, and of one passed.
        Hookpoint(EventType.TICKET_ANSWERED, "ticket_respondido",
                  lambda p: [_ref(p.get("ticket_id")), (p.get("subject") or "-")[:60]],
                  ACCOUNT, Kind.TICKETS, urgent=False),
        Hookpoint(EventType.TICKET_AUTO_CLOSE_WARNING, "ticket_por_cerrarse",
                  lambda p: [_ref(p.get("ticket_id")), (p.get("subject") or "-")[:60], _moment(p.get("due_at"))],
                  ACCOUNT, Kind.TICKETS, urgent=False),
        Hookpoint(EventType.TICKET_SLA_WARNING, "ticket_sla_por_vencer_staff",
                  lambda p: [_ref(p.get("ticket_id")), p.get("deadline_label") or "-", _moment(p.get("due_at")),
                             (p.get("plan") or "-").capitalize(), p.get("sla_class") or "-"],
                  OPS, None, urgent=True),
        Hookpoint(EventType.TICKET_SLA_BREACHED, "ticket_sla_vencido_staff",
                  lambda p: [_ref(p.get("ticket_id")), p.get("deadline_label") or "-", _moment(p.get("due_at")),
                             (p.get("plan") or "-").capitalize(), p.get("sla_class") or "-"],
                  OPS, None, urgent=True),
        Hookpoint(EventType.SERVICE_ACTIVATION_FAILED, "activacion_fallida_staff",
                  lambda p: [_ref(p.get("service_id")), p.get("module") or "-", (p.get("error") or "-")[:200]],
                  OPS, None, urgent=True),
    )
}
