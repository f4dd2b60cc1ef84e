"""The help centre's SLAs as deadlines: first response by support plan, SLA class and priority, and the
resolution term. Pure rules on instants; business time comes from shared.calendar.

The help centre (sections "SLA", "Planes de soporte técnico", "Demoras en los tickets"):
- first response: Standard "8 horas laborables", Profesional "2 horas laborables", Full "15 minutos"; Full
  also answers a critical incident (P1, a production service) "en menos de 30 minutos", around the clock;
- SLA 4 (web design, software): "garantizada en 2 horas posteriores al reporte", and "NO brindamos
  respuestas a SLA4 fuera del horario comercial" unless a contract says otherwise;
- SLA 2 and SLA 3 are received around the clock, but their targets count business time like SLA 1's;
- resolution: "un plazo máximo de resolución de 48 horas hábiles, desde el momento de la última respuesta",
  read as two business days counted whole, from the client's latest message.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.calendar import add_business_minutes, add_whole_business_days, business_minutes_between


class SupportPlan(StrEnum):
    STANDARD = "standard"
    PROFESIONAL = "profesional"
    FULL = "full"


# How each plan may reach support (docs/tickets.md, "Canales"): the help centre's table lists WhatsApp and
# Telegram among the higher plans' channels, and "soporte telefónico, whatsapp y más medios … dependiendo del
# plan contratado". Read as: tickets (panel, email, the contact form, chat) for every plan; WhatsApp from
# Profesional; Telegram and phone support with Full.
PLAN_CHANNELS: dict[SupportPlan, frozenset[str]] = {
    SupportPlan.STANDARD: frozenset({"panel", "email", "form", "chat"}),
    SupportPlan.PROFESIONAL: frozenset({"panel", "email", "form", "chat", "whatsapp"}),
    SupportPlan.FULL: frozenset({"panel", "email", "form", "chat", "whatsapp", "telegram", "phone"}),
}


def includes(plan: SupportPlan, channel: str) -> bool:
    return channel in PLAN_CHANNELS[plan]


def plan_with(channel: str) -> SupportPlan | None:
    """The first plan (Standard, Profesional, Full) that includes ``channel``."""
    return next((plan for plan in SupportPlan if channel in PLAN_CHANNELS[plan]), None)


class Priority(StrEnum):
    P1 = "P1"  # critical incident on a production service (Full plans only)
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class SlaClass(StrEnum):
    ADVICE = "SLA1"  # Asesoramiento
    MAINTENANCE = "SLA2"  # Mantenimiento preventivo
    ERROR_REPORT = "SLA3"  # Reporte de errores
    WEB_AND_SOFTWARE = "SLA4"  # Diseño web, software y relacionados


FIRST_RESPONSE_BUSINESS_MINUTES = {SupportPlan.STANDARD: 8 * 60, SupportPlan.PROFESIONAL: 2 * 60,
                                   SupportPlan.FULL: 15}
P1_FIRST_RESPONSE = timedelta(minutes=30)  # around the clock
SLA4_FIRST_RESPONSE_BUSINESS_MINUTES = 2 * 60  # at most: a plan's faster target stands
RESOLUTION_BUSINESS_DAYS = 2  # "48 horas hábiles"


@dataclass(frozen=True)
class Target:
    """How a deadline is counted: ``minutes`` of business time, or of calendar time when ``around_the_clock``."""

    minutes: int
    around_the_clock: bool

    def due(self, start: datetime, closed_days: frozenset[date] = frozenset(), minutes: int | None = None) -> datetime:
        minutes = self.minutes if minutes is None else minutes
        if self.around_the_clock:
            return start + timedelta(minutes=minutes)
        return add_business_minutes(start, minutes, closed_days)

    def elapsed(self, start: datetime, end: datetime, closed_days: frozenset[date] = frozenset()) -> int:
        """Minutes of this target's time from ``start`` to ``end``."""
        if self.around_the_clock:
            return max(0, int((end - start).total_seconds() // 60))
        return business_minutes_between(start, end, closed_days)

    def due_with_pauses(self, start: datetime, pauses: list[tuple[datetime, datetime | None]],
                        closed_days: frozenset[date] = frozenset()) -> datetime | None:
        """The deadline of a clock started at ``start`` that stopped during ``pauses`` (waiting on the client:
        (paused at, resumed at or None while it still waits)); None while it is stopped. The time paused is
        not counted; a pause that began after the deadline passed changes nothing (the breach stands).
        Recomputing with another target (a reclassification, a plan change) from the same start and pauses
        gives the new rule's deadline."""
        remaining, cursor = self.minutes, start
        for paused_at, resumed_at in sorted(pauses, key=lambda pause: pause[0]):
            if paused_at < cursor:
                continue  # overlapping or before the start: nothing more to stop
            used = self.elapsed(cursor, paused_at, closed_days)
            if used >= remaining:
                break  # due before this pause began
            if resumed_at is None:
                return None
            remaining, cursor = remaining - used, max(resumed_at, paused_at)
        return self.due(cursor, closed_days, minutes=remaining)


def effective_priority(priority: Priority, plan: SupportPlan, production: bool) -> tuple[Priority, str | None]:
    """P1 is for a Full plan's production service; anything else asking for it is handled as P2 (and told why)."""
    if priority is Priority.P1 and not (plan is SupportPlan.FULL and production):
        return Priority.P2, ("La prioridad P1 (incidencia crítica, 24 × 7) es para servicios en producción con el plan "
                             "de soporte Full: el ticket se atiende como P2.")
    return priority, None


def first_response_target(plan: SupportPlan, priority: Priority, sla_class: SlaClass,
                          contract_around_the_clock: bool = False) -> Target:
    """The first (and each next) response's target. ``priority`` is the effective one (effective_priority)."""
    if priority is Priority.P1:
        return Target(int(P1_FIRST_RESPONSE.total_seconds() // 60), around_the_clock=True)
    minutes = FIRST_RESPONSE_BUSINESS_MINUTES[plan]
    if sla_class is SlaClass.WEB_AND_SOFTWARE:
        # Answered within 2 hours of the report, in business hours only unless a contract says otherwise.
        return Target(min(minutes, SLA4_FIRST_RESPONSE_BUSINESS_MINUTES), around_the_clock=contract_around_the_clock)
    return Target(minutes, around_the_clock=False)


def first_response_due(opened_at: datetime, plan: SupportPlan, priority: Priority, sla_class: SlaClass,
                       closed_days: frozenset[date] = frozenset(), contract_around_the_clock: bool = False) -> datetime:
    return first_response_target(plan, priority, sla_class, contract_around_the_clock).due(opened_at, closed_days)


def resolution_due(last_client_message_at: datetime, closed_days: frozenset[date] = frozenset()) -> datetime:
    """Two business days, each whole, from the client's latest message (a staff reply does not restart it)."""
    return add_whole_business_days(last_client_message_at, RESOLUTION_BUSINESS_DAYS, closed_days)
