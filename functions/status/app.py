"""Status page API ("Estado del Servicio"): the public page and its Atom feed (no sign-in, one GetItem, cacheable);
staff's components, incidents and scheduled maintenance."""

from datetime import timedelta

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler import Response, content_types
from status import logic
from status.feed import atom
from status.schemas import (
    ComponentIn,
    ComponentOut,
    IncidentIn,
    IncidentUpdateIn,
    MaintenanceEdit,
    MaintenanceIn,
    MaintenanceUpdateIn,
    StaffIncident,
    StaffMaintenance,
    StaffStatusOut,
    StatusOut,
)

from shared import config
from shared.clock import SystemClock
from shared.dal.status import StatusRepository
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
repo = StatusRepository()
clock = SystemClock()
TAGS, STAFF_TAGS = ["Estado del servicio"], ["Personal", "Estado del servicio"]
# Browsers and a CDN in front may keep the page half a minute; an incident shows within that.
CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=30"


def _reminder_lead() -> timedelta:
    return timedelta(hours=int(config.env(config.MAINTENANCE_REMINDER_HOURS, "24")))


@app.get("/status", tags=TAGS, summary="Estado del servicio: componentes, incidentes y mantenimientos",
         description="Público, sin iniciar sesión. Sin las notas internas del personal.", responses=answers())
def public_status() -> Response[StatusOut]:
    body = logic.public_status(repo.page().document or {}, clock.now())
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body,
                    headers={"Cache-Control": CACHE_CONTROL})


@app.get("/status/feed", tags=TAGS, summary="Estado del servicio como feed Atom",
         responses=answers(200, "Feed Atom (application/atom+xml)"))
def status_feed() -> Response[str]:
    page_url = config.env(config.PANEL_URL, "https://paneldecliente.com").rstrip("/") + "/estado"
    return Response(status_code=200, content_type="application/atom+xml; charset=utf-8",
                    body=atom(repo.page().document or {}, clock.now(), page_url),
                    headers={"Cache-Control": CACHE_CONTROL})


@app.get("/staff/status", tags=STAFF_TAGS, summary="Componentes, incidentes y mantenimientos con sus notas internas",
         security=SECURED, responses=answers())
def staff_status() -> StaffStatusOut:
    return logic.staff_view(repo, current_identity(app))


@app.put("/staff/status/components/<component_id>", tags=STAFF_TAGS,
         summary="Crear o cambiar un componente (un servidor o un servicio de la plataforma)",
         description="`servers`: los servidores cuyos servicios toca; sin servidores, toca a toda la plataforma.",
         security=SECURED, responses=answers())
def put_component(component_id: str, body: ComponentIn) -> ComponentOut:
    return logic.put_component(repo, clock, current_identity(app), component_id, body)


@app.delete("/staff/status/components/<component_id>", tags=STAFF_TAGS, summary="Quitar un componente",
            security=SECURED, responses=answers(204, "Quitado"))
def remove_component(component_id: str):
    logic.remove_component(repo, clock, current_identity(app), component_id)
    return Response(status_code=204)


@app.post("/staff/status/incidents", tags=STAFF_TAGS, summary="Abrir un incidente",
          description="Con `notify`, los clientes con servicios en los servidores afectados reciben el aviso ahora "
                      "y cuando se resuelva.", security=SECURED, responses=answers(201, "Abierto"))
def open_incident(body: IncidentIn) -> tuple[StaffIncident, int]:
    return logic.open_incident(repo, clock, current_identity(app), body), 201


@app.post("/staff/status/incidents/<incident_id>/updates", tags=STAFF_TAGS,
          summary="Contar una novedad del incidente (y su nuevo estado)", security=SECURED, responses=answers())
def update_incident(incident_id: str, body: IncidentUpdateIn) -> StaffIncident:
    return logic.update_incident(repo, clock, current_identity(app), incident_id, body)


@app.post("/staff/status/maintenances", tags=STAFF_TAGS, summary="Programar un mantenimiento",
          description="Con `notify`, los clientes afectados reciben el aviso ahora y un recordatorio antes de la "
                      "ventana; editarlo después no los avisa de nuevo.", security=SECURED,
          responses=answers(201, "Programado"))
def schedule_maintenance(body: MaintenanceIn) -> tuple[StaffMaintenance, int]:
    return logic.schedule_maintenance(repo, clock, current_identity(app), body, _reminder_lead()), 201


@app.patch("/staff/status/maintenances/<maintenance_id>", tags=STAFF_TAGS,
           summary="Corregir un mantenimiento programado (sin volver a avisar)", security=SECURED,
           responses=answers())
def edit_maintenance(maintenance_id: str, body: MaintenanceEdit) -> StaffMaintenance:
    return logic.edit_maintenance(repo, clock, current_identity(app), maintenance_id, body, _reminder_lead())


@app.post("/staff/status/maintenances/<maintenance_id>/updates", tags=STAFF_TAGS,
          summary="Dar por empezado o terminado un mantenimiento", security=SECURED, responses=answers())
def update_maintenance(maintenance_id: str, body: MaintenanceUpdateIn) -> StaffMaintenance:
    return logic.update_maintenance(repo, clock, current_identity(app), maintenance_id, body)


lambda_handler = lambda_handler_for(app)
