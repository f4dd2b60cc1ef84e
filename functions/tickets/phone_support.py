"""Phone support ("soporte telefónico, whatsapp y más medios para su comodidad, dependiendo del plan
contratado"; "ingrese a su servicio y tendrá un botón para acceder al mismo o solicitarlo si su plan no lo
incluye"):

- the service's page asks which channels the account's support plan includes (and, for the others, which
  plan would): ``support_channels``;
- a client whose plan includes phone support asks for a call in a window of its choosing: a ticket (channel
  ``phone``) whose first response is the call; without it, 409 ``channel_not_in_plan`` names the plan to
  contract;
- staff log each call on its ticket (direction, minutes, summary): a staff answer like a written one, so
  the SLA clock stops and the client reads the summary in the panel (and by email): tickets.staff_desk's
  ``log_call``, on staff's function.
"""

from datetime import timedelta

from tickets import logic
from tickets.client_schemas import CallbackRequest, ChannelOut, PlanOffer, SupportChannelsOut
from tickets.clocks import TicketPolicy
from tickets.plans import plan_and_service, plan_in_force
from tickets.records import Repositories
from tickets.schemas import OpenTicket, TicketOut

from shared.auth import Identity, Permission, authorize, require_account
from shared.calendar import local
from shared.clock import Clock
from shared.dal.catalog import Catalog
from shared.dal.table import not_found
from shared.errors import Conflict, InvalidInput
from shared.phones import normalise_phone
from shared.sla import SupportPlan, includes, plan_with

CHANNELS = ("panel", "email", "form", "chat", "whatsapp", "telegram", "phone")
PLAN_LABELS_ES = {"standard": "Standard", "profesional": "Profesional", "full": "Full"}
MIN_WINDOW, MAX_AHEAD = timedelta(minutes=30), timedelta(days=14)


class ChannelNotInPlan(Conflict):
    code = "channel_not_in_plan"


def _service_of_account(repos: Repositories, identity: Identity, service_id: str):
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions, services=[service_id])
    (service,) = repos.services.get_services([service_id]) or (None,)
    if service is None or service.client_id != client_id:
        raise not_found()  # another account's service answers like a missing one
    return client_id, service


def support_channels(repos: Repositories, catalog: Catalog, identity: Identity, service_id: str) -> SupportChannelsOut:
    """The service page's button: each channel, whether the plan in force includes it, and if not, the plan that
    does and how to get it — the plan change of the account's support service (the upgrade flow), or ordering the
    plan when the account has none (the catalog's support products, read only when something is missing)."""
    client_id, _ = _service_of_account(repos, identity, service_id)
    plan, support = plan_and_service(repos.services, client_id)
    needed = {c: plan_with(c) or SupportPlan.FULL for c in CHANNELS if not includes(plan, c)}
    offers: dict[SupportPlan, PlanOffer] = {}
    if needed:
        changes_to = set(support.upgrade_targets or []) if support else set()
        plans = [p for p in catalog.list_catalog() if p.support_plan]  # in the catalog's order
        for wanted in set(needed.values()):
            of_plan = [p for p in plans if p.support_plan == wanted.value]
            # The support service's own plan change first (only the difference is paid); else a product one can
            # still order (a retired one would only earn a refusal).
            change = next((p for p in of_plan if p.product_id in changes_to), None)
            product = change or next((p for p in of_plan if p.orderable), None)
            if product is not None:
                offers[wanted] = PlanOffer(product_id=product.product_id, product_name=product.name,
                                           service_id=support.service_id if change else None)
    return SupportChannelsOut(plan=plan.value, channels=[
        ChannelOut(channel=c, included=c not in needed, plan_needed=needed[c].value if c in needed else None,
                   offer=offers.get(needed[c]) if c in needed else None)
        for c in CHANNELS])


def request_callback(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity, service_id: str,
                     body: CallbackRequest) -> TicketOut:
    client_id, service = _service_of_account(repos, identity, service_id)
    plan = plan_in_force(repos.services, client_id)
    if not includes(plan, "phone"):
        needed = PLAN_LABELS_ES[(plan_with("phone") or SupportPlan.FULL).value]
        raise ChannelNotInPlan(f"El soporte telefónico está incluido en el plan de soporte {needed}; su cuenta "
                               f"tiene el plan {PLAN_LABELS_ES[plan.value]}. Puede contratarlo desde el panel o "
                               "escribirnos por ticket.")
    now = clock.now()
    start, end = body.window_start, body.window_end
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Indique el horario con su zona (ej.: 2026-12-01T10:00:00-03:00).",
                           code="invalid_window", field="window_start")
    if end - start < MIN_WINDOW or start < now or end > now + MAX_AHEAD:
        raise InvalidInput("La franja debe durar al menos 30 minutos, empezar en el futuro y terminar dentro de "
                           "los próximos 14 días.", code="invalid_window", field="window_end")
    phone = normalise_phone(body.phone, require_mobile=False) if body.phone else None
    if phone is None:
        raise InvalidInput("Indique el teléfono al que lo llamamos.", code="phone_required", field="phone")
    window = f"{local(start).strftime('%d/%m %H:%M')} a {local(end).strftime('%d/%m %H:%M')} (hora de Argentina)"
    name = service.domain or service.product_name
    text = f"Pedido de llamada al {phone}, entre el {window}.\n\nMotivo: {body.reason}"
    opened = OpenTicket(subject=f"Pedido de llamada: {name}"[:200], body=text, service_id=service.service_id)
    return logic.open_ticket(repos, clock, policy, identity, opened, channel="phone", plan=plan, extra_notes=(
        f"Llamar al {phone} entre el {window}. Registre la llamada en el ticket al hacerla.",))
