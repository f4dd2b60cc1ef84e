"""The status page's document (shared.dal.status.StatusPage) and what is read from it, on plain values: the
components' state, the public page, and the notices that touch one server (docs/status-page.md).

The document holds only what the public may read — staff's internal notes stay on the incident and maintenance
items — so nothing built from it can leak them.

    {"components": {id: {"name", "group", "servers": [host…], "sort_order"}},
     "incidents": [{"incident_id", "title", "status", "impact", "component_ids", "created_at", "updated_at",
                    "resolved_at", "updates": [{"status", "message", "at"}]}],
     "maintenances": [{"maintenance_id", "title", "message", "status", "component_ids", "starts_at", "ends_at",
                       "created_at", "updated_at", "completed_at", "updates": [...]}]}
"""

from datetime import datetime, timedelta
from typing import Any

from shared.clock import to_storage

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "completed")
IMPACTS = ("none", "minor", "major", "critical")
# Statuspage's mapping of an incident's impact onto its components, and the order of what is worse.
COMPONENT_STATUS_OF_IMPACT = {"none": "operational", "minor": "degraded_performance", "major": "partial_outage",
                              "critical": "major_outage"}
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
HISTORY_DAYS = 90  # resolved incidents and completed maintenance stay on the page this long …
HISTORY_MAX = 50  # … and at most this many of each, so the document (one item) stays small
SHOWN_HISTORY_DAYS = 14  # what GET /status lists as history

DESCRIPTIONS_ES = {
    "none": "Todos los servicios funcionan con normalidad.",
    "maintenance": "Hay un mantenimiento en curso.",
    "minor": "Algunos servicios funcionan con demoras.",
    "major": "Algunos servicios tienen una falla parcial.",
    "critical": "Hay una falla grave en curso.",
}


def components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(document.get("components") or {})


def incidents(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document.get("incidents") or [])


def maintenances(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document.get("maintenances") or [])


def is_active(entry: dict[str, Any]) -> bool:
    """An incident not resolved, a maintenance not completed."""
    return entry["status"] not in ("resolved", "completed")


def _pruned(entries: list[dict[str, Any]], now: datetime, ended_at: str) -> list[dict[str, Any]]:
    oldest = to_storage(now - timedelta(days=HISTORY_DAYS))
    active = [e for e in entries if is_active(e)]
    ended = sorted((e for e in entries if not is_active(e) and e[ended_at] >= oldest),
                   key=lambda e: e[ended_at], reverse=True)[:HISTORY_MAX]
    return active + ended


def with_entry(document: dict[str, Any], kind: str, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The document with this incident (``kind`` "incidents") or maintenance ("maintenances") put in, replacing the
    one with its id, and the history older than HISTORY_DAYS dropped."""
    id_key, ended_at = ("incident_id", "resolved_at") if kind == "incidents" else ("maintenance_id", "completed_at")
    others = [e for e in document.get(kind) or [] if e[id_key] != entry[id_key]]
    return {**document, kind: _pruned([entry, *others], now, ended_at)}


def size(value: Any) -> int:
    """Bytes of a value as stored (PynamoDB's JSONAttribute: json.dumps, non-ASCII escaped)."""
    import json

    return len(json.dumps(value).encode())


def within(document: dict[str, Any], limit: int) -> dict[str, Any]:
    """The document without its oldest ended entries until it weighs at most ``limit`` bytes (active ones stay)."""
    while size(document) > limit:
        ended = [(e.get("resolved_at") or e.get("completed_at"), kind, e) for kind in ("incidents", "maintenances")
                 for e in document.get(kind) or [] if not is_active(e)]
        if not ended:
            return document
        _, kind, oldest = min(ended, key=lambda found: found[0])
        document = {**document, kind: [e for e in document[kind] if e is not oldest]}
    return document


def with_component(document: dict[str, Any], component_id: str, component: dict[str, Any] | None) -> dict[str, Any]:
    """The document with the component put in (or removed: None)."""
    found = components(document)
    if component is None:
        found.pop(component_id, None)
    else:
        found[component_id] = component
    return {**document, "components": found}


def in_use(document: dict[str, Any], component_id: str) -> bool:
    """Whether an active incident or maintenance names the component."""
    return any(component_id in e["component_ids"] for e in incidents(document) + maintenances(document)
               if is_active(e))


def component_states(document: dict[str, Any]) -> dict[str, str]:
    """Each component's state: the worst of its active incidents' impact and of a maintenance in progress."""
    rank = COMPONENT_STATUSES.index
    states = {component_id: "operational" for component_id in components(document)}

    def worsen(component_id: str, state: str) -> None:
        if component_id in states and rank(state) > rank(states[component_id]):
            states[component_id] = state

    for incident in incidents(document):
        if is_active(incident):
            for component_id in incident["component_ids"]:
                worsen(component_id, COMPONENT_STATUS_OF_IMPACT[incident["impact"]])
    for maintenance in maintenances(document):
        if maintenance["status"] == "in_progress":
            for component_id in maintenance["component_ids"]:
                worsen(component_id, "under_maintenance")
    return states


def indicator(document: dict[str, Any]) -> str:
    """The page's overall state, as Statuspage's indicator: the worst active impact, else "maintenance" while one is
    in progress, else "none"."""
    active = [i["impact"] for i in incidents(document) if is_active(i) and i["impact"] != "none"]
    if active:
        return max(active, key=IMPACTS.index)
    return "maintenance" if any(m["status"] == "in_progress" for m in maintenances(document)) else "none"


def servers_of(document: dict[str, Any], component_ids: list[str]) -> list[str]:
    """The servers whose services these components touch."""
    found = components(document)
    return sorted({server for c in component_ids for server in (found.get(c) or {}).get("servers", [])})


def touches(document: dict[str, Any], entry: dict[str, Any], server: str | None) -> bool:
    """Whether an incident or maintenance touches the services of ``server``: one of its components runs on it, or
    a component that runs on no server in particular (the whole platform: the client panel, the DNS) is named."""
    found = components(document)
    for component_id in entry["component_ids"]:
        servers = (found.get(component_id) or {}).get("servers") or []
        if not servers or (server is not None and server in servers):
            return True
    return False


def notices_for(document: dict[str, Any], server: str | None) -> list[dict[str, Any]]:
    """What a service on ``server`` shows: active incidents and scheduled or running maintenance that touch it, the
    most recent first."""
    found = [{"kind": "incident", "id": i["incident_id"], "title": i["title"], "status": i["status"],
              "impact": i["impact"], "starts_at": i["created_at"], "ends_at": None, "updated_at": i["updated_at"]}
             for i in incidents(document) if is_active(i) and touches(document, i, server)]
    found += [{"kind": "maintenance", "id": m["maintenance_id"], "title": m["title"], "status": m["status"],
               "impact": None, "starts_at": m["starts_at"], "ends_at": m["ends_at"], "updated_at": m["updated_at"]}
              for m in maintenances(document) if is_active(m) and touches(document, m, server)]
    return sorted(found, key=lambda n: n["updated_at"], reverse=True)


def public_view(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What GET /status answers: the overall state, the components by group, what is happening, what is scheduled
    and what ended in the last SHOWN_HISTORY_DAYS."""
    states = component_states(document)
    groups: dict[str, list[dict[str, Any]]] = {}
    ordered = sorted(components(document).items(), key=lambda c: (c[1]["group"], c[1].get("sort_order", 0),
                                                                   c[1]["name"]))
    for component_id, component in ordered:
        groups.setdefault(component["group"], []).append(
            {"component_id": component_id, "name": component["name"], "status": states[component_id]})
    since = to_storage(now - timedelta(days=SHOWN_HISTORY_DAYS))
    all_incidents, all_maintenances = incidents(document), maintenances(document)
    level = indicator(document)
    return {
        "indicator": level,
        "description": DESCRIPTIONS_ES[level],
        "groups": [{"name": name, "components": members} for name, members in groups.items()],
        "incidents": sorted((i for i in all_incidents if is_active(i)), key=lambda i: i["created_at"], reverse=True),
        "maintenances": sorted((m for m in all_maintenances if is_active(m)), key=lambda m: m["starts_at"]),
        "resolved_incidents": sorted((i for i in all_incidents if not is_active(i) and i["resolved_at"] >= since),
                                     key=lambda i: i["resolved_at"], reverse=True),
        "completed_maintenances": sorted((m for m in all_maintenances
                                          if not is_active(m) and m["completed_at"] >= since),
                                         key=lambda m: m["completed_at"], reverse=True),
    }
