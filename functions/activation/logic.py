"""The staff steps of activation: requirements met (manual/custom products), retry a failed one."""

from shared import activation
from shared.auth import Identity, require_staff
from shared.clock import Clock
from shared.dal.services import Services
from shared.dal.unit_of_work import save_change
from shared.errors import Conflict


def staff_step(services: Services, clock: Clock, identity: Identity, service_id: str, action: str):
    """requirements_met: what a manual/custom product needed is in (its delay starts now);
    retry: queue a failed automatic activation again."""
    require_staff(identity)
    service = services.get_service(service_id)
    now = clock.now()
    if action == "requirements_met":
        if service.activation_state != "awaiting_requirements":
            raise Conflict("El servicio no está esperando requisitos.", code="not_awaiting_requirements")
        events = activation.requirements_met(service, now)
    else:
        if service.activation_state != "failed":
            raise Conflict("Solo se reintenta una activación que falló.", code="not_failed")
        events = activation.retry(service, now)
    save_change([service], events)
    return service
