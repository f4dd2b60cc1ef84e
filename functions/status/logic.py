"""Service status ("Estado del Servicio"; SLA 2 "Mantenimiento Preventivo"; docs/status-page.md).

- Staff keep the components (our servers and platform services, grouped), open incidents and move them through
  Statuspage's lifecycle (investigating → identified → monitoring → resolved, resolved being final), and schedule
  maintenance (scheduled → in_progress → completed) with its window.
- Every change writes the item (with staff's internal notes) and the page's public document in one transaction,
  the page version-checked: two staff changes at once never lose one another.
- An incident's opening and resolution, and a maintenance's scheduling, announce themselves through the outbox
  (``status.*``; functions/status/notices.py tells each affected account once). A maintenance's notice is
  announced when it is created, never again on an edit; its reminder once, by the reminders sweep.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from status.schemas import (
    COMPONENT_ID,
    ComponentGroup,
    ComponentIn,
    ComponentOut,
    ComponentState,
    IncidentIn,
    IncidentUpdateIn,
    MaintenanceEdit,
    MaintenanceIn,
    MaintenanceUpdateIn,
    PublicIncident,
    PublicMaintenance,
    PublicUpdate,
    StaffIncident,
    StaffMaintenance,
    StaffStatusOut,
    StaffUpdate,
    StatusOut,
)

from shared import status_page as page
from shared.auth import Identity, require_staff
from shared.clock import Clock, from_storage, to_storage
from shared.dal.status import REMINDER_DUE, Incident, Maintenance, StatusRepository
from shared.dal.table import clear_due, mark_due, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at

ATTEMPTS = 10  # another staff change to the page meanwhile: read it again (each round, one of them commits)
MAX_WINDOW = timedelta(days=7)
MAX_UPDATES = 100  # an incident's updates live in its item: far beyond any real incident
# DynamoDB's items hold 400 KB: the page's document and an item's updates stay well within (JSON as stored, with
# non-ASCII escaped: an "ñ" weighs 6 bytes).
PAGE_BYTES = 300_000
ITEM_BYTES = 300_000
MAX_AHEAD = timedelta(days=366)  # a maintenance is scheduled within a year


class StatusConflict(Conflict):
    code = "status_conflict"


# --- the page's document, changed with the item --------------------------------------------------------------------


def _commit(repo: StatusRepository, clock: Clock,
            change: Callable[[dict[str, Any], datetime], tuple[Any, dict[str, Any], list]]):
    """Run ``change(document, now)`` -> (item or None, new document, events) and write the item, the page and the
    events in one transaction; a page changed meanwhile by another staff member is read again."""
    for _ in range(ATTEMPTS):
        current = repo.page(consistent=True)
        now = clock.now()
        item, document, events = change(dict(current.document or {}), now)
        current.document, current.updated_at = _fits(document, item), to_storage(now)
        try:
            with UnitOfWork() as uow:
                uow.save(current)
                if item is not None:
                    uow.save(item)
                uow.emit(events)
        except ConcurrentModification:
            continue
        return item, current.document
    raise ConcurrentModification()


def _known_components(document: dict[str, Any], component_ids: list[str]) -> list[str]:
    unknown = sorted(set(component_ids) - set(page.components(document)))
    if unknown:
        raise InvalidInput(f"No existe el componente {unknown[0]}.", code="unknown_component", field="component_ids")
    return sorted(set(component_ids))


def _update(status: str, message: str, note: str | None, at: str, by: str) -> dict[str, Any]:
    return {"status": status, "message": message, "internal_note": note, "at": at, "by": by}


def _public_updates(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"status": u["status"], "message": u["message"], "at": u["at"]} for u in updates]


def _incident_entry(incident: Incident) -> dict[str, Any]:
    return {"incident_id": incident.incident_id, "title": incident.title, "status": incident.status,
            "impact": incident.impact, "component_ids": list(incident.component_ids), "created_at": incident.created_at,
            "updated_at": incident.updated_at, "resolved_at": incident.resolved_at,
            "updates": _public_updates(incident.updates)}


def _maintenance_entry(maintenance: Maintenance) -> dict[str, Any]:
    return {"maintenance_id": maintenance.maintenance_id, "title": maintenance.title, "message": maintenance.message,
            "status": maintenance.status, "component_ids": list(maintenance.component_ids),
            "starts_at": maintenance.starts_at, "ends_at": maintenance.ends_at, "created_at": maintenance.created_at,
            "updated_at": maintenance.updated_at, "completed_at": maintenance.completed_at,
            "updates": _public_updates(maintenance.updates)}


def _announcement(event_type: str, key: str, servers: list[str], now: datetime, **payload: Any):
    """What functions/status/notices.py needs to tell the affected accounts: the servers and the words of the
    alert."""
    return new_event(event_type, client_id=None, occurred_at=now, payload={
        "announcement": key, "servers": sorted(set(servers)), **payload})


def _fits(document: dict[str, Any], item: Incident | Maintenance | None) -> dict[str, Any]:
    """The document trimmed of its oldest history until it fits PAGE_BYTES; a change that cannot fit (the active
    entries alone are too big, or the item's own updates) is refused rather than failing at DynamoDB's 400 KB."""
    document = page.within(document, PAGE_BYTES)
    if page.size(document) > PAGE_BYTES:
        raise StatusConflict("La página de estado ya tiene demasiados incidentes y mantenimientos abiertos: "
                             "cierre alguno antes.", code="status_page_full")
    if item is not None and page.size(item.updates) > ITEM_BYTES:
        raise StatusConflict("Este incidente o mantenimiento ya tiene demasiadas novedades: cuente las nuevas en "
                             "otro.", code="too_many_updates")
    return document


# --- components ----------------------------------------------------------------------------------------------------


def put_component(repo: StatusRepository, clock: Clock, identity: Identity, component_id: str,
                  body: ComponentIn) -> ComponentOut:
    require_staff(identity)
    _check_component_id(component_id)
    component = {"name": body.name, "group": body.group, "servers": sorted(set(body.servers)),
                 "sort_order": body.sort_order}
    _, document = _commit(repo, clock, lambda doc, now: (None, page.with_component(doc, component_id, component), []))
    return _component_out(document, component_id)


def remove_component(repo: StatusRepository, clock: Clock, identity: Identity, component_id: str) -> None:
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        if component_id not in page.components(document):
            raise not_found()
        if page.in_use(document, component_id):
            raise StatusConflict("Un incidente o mantenimiento en curso nombra este componente: ciérrelo antes.",
                                 code="component_in_use")
        return None, page.with_component(document, component_id, None), []

    _commit(repo, clock, change)


def _check_component_id(component_id: str) -> None:
    if not COMPONENT_ID.fullmatch(component_id):
        raise InvalidInput("El identificador del componente lleva minúsculas, números y guiones (ej.: srv12-web).",
                           code="invalid_component_id", field="component_id")


def _component_out(document: dict[str, Any], component_id: str) -> ComponentOut:
    component = page.components(document)[component_id]
    return ComponentOut(component_id=component_id, name=component["name"], group=component["group"],
                        servers=component["servers"], sort_order=component["sort_order"],
                        status=page.component_states(document)[component_id])


# --- incidents -----------------------------------------------------------------------------------------------------


def open_incident(repo: StatusRepository, clock: Clock, identity: Identity, body: IncidentIn) -> StaffIncident:
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        component_ids = _known_components(document, body.component_ids)
        stamp, incident_id = to_storage(now), id_at(now)
        incident = Incident(*Incident.key(incident_id), incident_id=incident_id, title=body.title, status=body.status,
                            impact=body.impact, component_ids=component_ids, notify=body.notify,
                            servers=page.servers_of(document, component_ids),
                            updates=[_update(body.status, body.message, body.internal_note, stamp, identity.subject)],
                            created_by=identity.subject, created_at=stamp, updated_at=stamp)
        incident.list_in_log()
        events = [_announcement(EventType.STATUS_INCIDENT_OPENED, f"{incident_id}#opened", incident.servers, now,
                                incident_id=incident_id, title=body.title, impact=body.impact)] if body.notify else []
        return incident, page.with_entry(document, "incidents", _incident_entry(incident), now), events

    incident, _ = _commit(repo, clock, change)
    return staff_incident(incident)


def update_incident(repo: StatusRepository, clock: Clock, identity: Identity, incident_id: str,
                    body: IncidentUpdateIn) -> StaffIncident:
    """A new update: its text on the page, the status (and the impact) it brings. Resolved is final: a problem that
    comes back is a new incident."""
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        incident = repo.incident(incident_id)
        if incident is None:
            raise not_found()
        if incident.status == "resolved":
            raise StatusConflict("El incidente ya está resuelto: si el problema volvió, abra uno nuevo.",
                                 code="incident_resolved")
        if len(incident.updates) >= MAX_UPDATES:
            raise StatusConflict("El incidente ya tiene demasiadas novedades: ábralo de nuevo como otro incidente.",
                                 code="too_many_updates")
        stamp = to_storage(now)
        incident.status, incident.updated_at = body.status, stamp
        incident.impact = body.impact or incident.impact
        incident.updates = [*incident.updates, _update(body.status, body.message, body.internal_note, stamp,
                                                       identity.subject)]
        events = []
        if body.status == "resolved":
            incident.resolved_at = stamp
            if incident.notify:  # whoever heard of it, and whoever its components touch now
                servers = [*incident.servers, *page.servers_of(document, list(incident.component_ids))]
                events.append(_announcement(EventType.STATUS_INCIDENT_RESOLVED, f"{incident_id}#resolved", servers,
                                            now, incident_id=incident_id, title=incident.title,
                                            impact=incident.impact))
        return incident, page.with_entry(document, "incidents", _incident_entry(incident), now), events

    incident, _ = _commit(repo, clock, change)
    return staff_incident(incident)


# --- maintenance ---------------------------------------------------------------------------------------------------


def _check_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise InvalidInput("El mantenimiento debe empezar en el futuro.", code="window_in_past", field="starts_at")
    if ends_at <= starts_at:
        raise InvalidInput("El fin de la ventana debe ser posterior a su inicio.", code="invalid_window",
                           field="ends_at")
    if starts_at - now > MAX_AHEAD:
        raise InvalidInput("Un mantenimiento se programa con menos de un año de anticipación.",
                           code="window_too_far", field="starts_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise InvalidInput("Una ventana de mantenimiento dura como mucho 7 días.", code="window_too_long",
                           field="ends_at")


def _schedule_reminder(maintenance: Maintenance, lead: timedelta, now: datetime) -> None:
    """On the by_due index at ``starts_at - lead`` while its reminder is still to go out. A reminder is sent only
    when the notice went out at least ``lead`` before it (announced two days ahead, a reminder the day before;
    announced for tomorrow, the notice alone) — also after an edit; moved closer, a due reminder goes out at once."""
    remind_at = from_storage(maintenance.starts_at) - lead
    if not maintenance.notify or maintenance.reminded or maintenance.status != "scheduled" \
            or remind_at - from_storage(maintenance.created_at) < lead:
        clear_due(maintenance)
        return
    mark_due(maintenance, REMINDER_DUE, maintenance.maintenance_id, to_storage(max(remind_at, now)))


def schedule_maintenance(repo: StatusRepository, clock: Clock, identity: Identity, body: MaintenanceIn,
                         reminder_lead: timedelta) -> StaffMaintenance:
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        component_ids = _known_components(document, body.component_ids)
        _check_window(body.starts_at, body.ends_at, now)
        stamp, maintenance_id = to_storage(now), id_at(now)
        maintenance = Maintenance(
            *Maintenance.key(maintenance_id), maintenance_id=maintenance_id, title=body.title, message=body.message,
            component_ids=component_ids, starts_at=to_storage(body.starts_at), ends_at=to_storage(body.ends_at),
            notify=body.notify, internal_note=body.internal_note, updates=[], created_by=identity.subject,
            servers=page.servers_of(document, component_ids),
            created_at=stamp, updated_at=stamp)
        maintenance.list_in_log()
        _schedule_reminder(maintenance, reminder_lead, now)
        events = [_maintenance_announcement(EventType.STATUS_MAINTENANCE_SCHEDULED, "scheduled", document,
                                            maintenance, now)] if body.notify else []
        return maintenance, page.with_entry(document, "maintenances", _maintenance_entry(maintenance), now), events

    maintenance, _ = _commit(repo, clock, change)
    return staff_maintenance(maintenance)


def _maintenance_announcement(event_type: str, which: str, document: dict[str, Any], maintenance: Maintenance,
                              now: datetime):
    """To whoever got its notice, and whoever its components touch now (an edit may have added some)."""
    servers = [*maintenance.servers, *page.servers_of(document, list(maintenance.component_ids))]
    return _announcement(event_type, f"{maintenance.maintenance_id}#{which}", servers, now,
                         maintenance_id=maintenance.maintenance_id, title=maintenance.title,
                         starts_at=maintenance.starts_at, ends_at=maintenance.ends_at)


def edit_maintenance(repo: StatusRepository, clock: Clock, identity: Identity, maintenance_id: str,
                     body: MaintenanceEdit, reminder_lead: timedelta) -> StaffMaintenance:
    """Staff correct a scheduled maintenance (its words, components or window). Nobody is told again: the notice
    went out when it was scheduled; the reminder, not yet sent, follows the new window."""
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        maintenance = _scheduled(repo, maintenance_id)
        if body.component_ids is not None:
            maintenance.component_ids = _known_components(document, body.component_ids)
        starts_at = body.starts_at or from_storage(maintenance.starts_at)
        ends_at = body.ends_at or from_storage(maintenance.ends_at)
        if body.starts_at or body.ends_at:
            _check_window(starts_at, ends_at, now)
        maintenance.title = body.title or maintenance.title
        maintenance.message = body.message or maintenance.message
        if body.internal_note is not None:
            maintenance.internal_note = body.internal_note
        maintenance.starts_at, maintenance.ends_at = to_storage(starts_at), to_storage(ends_at)
        maintenance.updated_at = to_storage(now)
        _schedule_reminder(maintenance, reminder_lead, now)
        return maintenance, page.with_entry(document, "maintenances", _maintenance_entry(maintenance), now), []

    maintenance, _ = _commit(repo, clock, change)
    return staff_maintenance(maintenance)


def _scheduled(repo: StatusRepository, maintenance_id: str) -> Maintenance:
    maintenance = repo.maintenance(maintenance_id)
    if maintenance is None:
        raise not_found()
    if maintenance.status != "scheduled":
        raise StatusConflict("El mantenimiento ya empezó: cuente las novedades con una actualización.",
                             code="maintenance_started")
    return maintenance


NEXT_MAINTENANCE_STATUSES = {"scheduled": ("in_progress", "completed"), "in_progress": ("in_progress", "completed"),
                             "completed": ()}


def update_maintenance(repo: StatusRepository, clock: Clock, identity: Identity, maintenance_id: str,
                       body: MaintenanceUpdateIn) -> StaffMaintenance:
    """Staff say the work started or ended (a window may overrun: the page says what is true, not what was
    planned); completed is final."""
    require_staff(identity)

    def change(document: dict[str, Any], now: datetime):
        maintenance = repo.maintenance(maintenance_id)
        if maintenance is None:
            raise not_found()
        if len(maintenance.updates) >= MAX_UPDATES:
            raise StatusConflict("El mantenimiento ya tiene demasiadas novedades.", code="too_many_updates")
        if body.status not in NEXT_MAINTENANCE_STATUSES[maintenance.status]:
            raise StatusConflict("El mantenimiento ya terminó." if maintenance.status == "completed" else
                                 "Ese cambio de estado no corresponde.", code="invalid_transition")
        stamp = to_storage(now)
        maintenance.status, maintenance.updated_at = body.status, stamp
        maintenance.updates = [*maintenance.updates, _update(body.status, body.message, None, stamp,
                                                             identity.subject)]
        if body.status == "completed":
            maintenance.completed_at = stamp
        clear_due(maintenance)  # started or done: no reminder any more
        return maintenance, page.with_entry(document, "maintenances", _maintenance_entry(maintenance), now), []

    maintenance, _ = _commit(repo, clock, change)
    return staff_maintenance(maintenance)


def send_due_reminders(repo: StatusRepository, clock: Clock) -> dict[str, int]:
    """Every maintenance whose reminder is due: announced once (``reminded`` set in the same version-checked write,
    so two runs at once announce it once); one that started or was moved meanwhile leaves the index."""
    done = {"announced": 0, "skipped": 0}
    document: dict[str, Any] | None = None  # the page's components, read once a run and only when one is sent
    for maintenance in repo.reminders_due(to_storage(clock.now())):
        now = clock.now()
        send = maintenance.status == "scheduled" and maintenance.notify and not maintenance.reminded \
            and from_storage(maintenance.starts_at) > now
        maintenance.reminded = maintenance.reminded or send
        clear_due(maintenance)
        try:
            with UnitOfWork() as uow:
                uow.save(maintenance)
                if send:
                    document = document if document is not None else repo.page().document or {}
                    uow.emit([_maintenance_announcement(EventType.STATUS_MAINTENANCE_REMINDER, "reminder", document,
                                                        maintenance, now)])
            done["announced" if send else "skipped"] += 1
        except ConcurrentModification:
            done["skipped"] += 1  # edited meanwhile: the next run sees its new due time
    return done


# --- what is read --------------------------------------------------------------------------------------------------


def _updates_out(updates: list[dict[str, Any]], staff: bool) -> list:
    newest_first = list(reversed(updates))
    if staff:
        return [StaffUpdate(status=u["status"], message=u["message"], at=from_storage(u["at"]),
                            internal_note=u.get("internal_note"), by=u.get("by") or "-") for u in newest_first]
    return [PublicUpdate(status=u["status"], message=u["message"], at=from_storage(u["at"])) for u in newest_first]


def _when(value: str | None) -> datetime | None:
    return from_storage(value) if value else None


def public_incident(entry: dict[str, Any]) -> PublicIncident:
    return PublicIncident(incident_id=entry["incident_id"], title=entry["title"], status=entry["status"],
                          impact=entry["impact"], component_ids=entry["component_ids"],
                          created_at=from_storage(entry["created_at"]), updated_at=from_storage(entry["updated_at"]),
                          resolved_at=_when(entry.get("resolved_at")), updates=_updates_out(entry["updates"], False))


def public_maintenance(entry: dict[str, Any]) -> PublicMaintenance:
    return PublicMaintenance(maintenance_id=entry["maintenance_id"], title=entry["title"], message=entry["message"],
                             status=entry["status"], component_ids=entry["component_ids"],
                             starts_at=from_storage(entry["starts_at"]), ends_at=from_storage(entry["ends_at"]),
                             updated_at=from_storage(entry["updated_at"]),
                             completed_at=_when(entry.get("completed_at")),
                             updates=_updates_out(entry["updates"], False))


def public_status(document: dict[str, Any], now: datetime) -> StatusOut:
    view = page.public_view(document, now)
    return StatusOut(
        indicator=view["indicator"], description=view["description"],
        groups=[ComponentGroup(name=g["name"], components=[ComponentState(**c) for c in g["components"]])
                for g in view["groups"]],
        incidents=[public_incident(i) for i in view["incidents"]],
        maintenances=[public_maintenance(m) for m in view["maintenances"]],
        resolved_incidents=[public_incident(i) for i in view["resolved_incidents"]],
        completed_maintenances=[public_maintenance(m) for m in view["completed_maintenances"]])


def staff_incident(incident: Incident) -> StaffIncident:
    return StaffIncident(incident_id=incident.incident_id, title=incident.title, status=incident.status,
                         impact=incident.impact, component_ids=list(incident.component_ids),
                         created_at=from_storage(incident.created_at), updated_at=from_storage(incident.updated_at),
                         resolved_at=_when(incident.resolved_at), notify=incident.notify,
                         updates=_updates_out(incident.updates, True))


def staff_maintenance(maintenance: Maintenance) -> StaffMaintenance:
    return StaffMaintenance(maintenance_id=maintenance.maintenance_id, title=maintenance.title,
                            message=maintenance.message, status=maintenance.status,
                            component_ids=list(maintenance.component_ids),
                            starts_at=from_storage(maintenance.starts_at), ends_at=from_storage(maintenance.ends_at),
                            updated_at=from_storage(maintenance.updated_at),
                            completed_at=_when(maintenance.completed_at), notify=maintenance.notify,
                            reminded=maintenance.reminded, internal_note=maintenance.internal_note,
                            updates=_updates_out(maintenance.updates, True))


def staff_view(repo: StatusRepository, identity: Identity) -> StaffStatusOut:
    require_staff(identity)
    document = repo.page().document or {}
    log = repo.log()
    # The active ones always, however old (a maintenance scheduled months ahead): from the document's ids.
    listed = {(item.pk, item.sk) for item in log}
    active = [Incident.key(i["incident_id"]) for i in page.incidents(document) if page.is_active(i)]
    active += [Maintenance.key(m["maintenance_id"]) for m in page.maintenances(document) if page.is_active(m)]
    log += repo.items([key for key in active if key not in listed])
    return StaffStatusOut(
        components=[_component_out(document, c) for c in sorted(page.components(document))],
        incidents=[staff_incident(i) for i in log if isinstance(i, Incident)],
        maintenances=[staff_maintenance(m) for m in log if isinstance(m, Maintenance)])

