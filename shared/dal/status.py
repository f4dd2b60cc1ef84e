"""Service status ("Estado del Servicio", docs/status-page.md): the public page's document, incidents and scheduled
maintenance with their staff-only notes, which services live on which server, and who was told of what."""

from collections.abc import Iterable

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import TableItem, batch_get, due_partitions, find_item
from shared.ids import is_valid_id

STATUS_LOG = "STATUS_LOG"  # by_owner partition of every incident and maintenance, newest first
REMINDER_DUE = "MAINTENANCE_REMINDER"


class StatusPage(TableItem, discriminator="StatusPage"):
    """The public page as one document (shared.status_page): the components and the public side of recent incidents
    and maintenance. Every staff change rewrites it in the transaction of the change, version-checked, so
    ``GET /status`` is one GetItem and never disagrees with the items."""

    document = JSONAttribute(default=dict)
    updated_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key() -> tuple[str, str]:
        return "STATUS", "PAGE"


class Incident(TableItem, discriminator="Incident"):
    """``status`` investigating | identified | monitoring | resolved; ``impact`` none | minor | major | critical.
    ``updates``: [{status, message, internal_note, at, by}], oldest first; internal notes never reach the page."""

    incident_id = UnicodeAttribute()
    title = UnicodeAttribute()
    status = UnicodeAttribute()
    impact = UnicodeAttribute()
    component_ids = ListAttribute(of=UnicodeAttribute, default=list)
    notify = BooleanAttribute(default=True)
    servers = ListAttribute(of=UnicodeAttribute, default=list)  # whose services were told it opened
    updates = JSONAttribute(default=list)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    resolved_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(incident_id: str) -> tuple[str, str]:
        return f"INCIDENT#{incident_id}", "INCIDENT"

    def list_in_log(self) -> None:
        self.gsi1pk, self.gsi1sk = STATUS_LOG, f"{self.created_at}#INCIDENT#{self.incident_id}"


class Maintenance(TableItem, discriminator="Maintenance"):
    """``status`` scheduled | in_progress | completed, with its window (``starts_at``/``ends_at``). On the sparse
    by_due index at its reminder time until the reminder is announced (``reminded``)."""

    maintenance_id = UnicodeAttribute()
    title = UnicodeAttribute()
    message = UnicodeAttribute()
    status = UnicodeAttribute(default="scheduled")
    component_ids = ListAttribute(of=UnicodeAttribute, default=list)
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    notify = BooleanAttribute(default=True)
    servers = ListAttribute(of=UnicodeAttribute, default=list)  # whose services got its notice
    reminded = BooleanAttribute(default=False)
    internal_note = UnicodeAttribute(null=True)
    updates = JSONAttribute(default=list)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    completed_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(maintenance_id: str) -> tuple[str, str]:
        return f"MAINTENANCE#{maintenance_id}", "MAINTENANCE"

    def list_in_log(self) -> None:
        self.gsi1pk, self.gsi1sk = STATUS_LOG, f"{self.created_at}#MAINTENANCE#{self.maintenance_id}"


class ServerMember(TableItem, discriminator="ServerMember"):
    """A service lives on this server: written with the server account (functions/activation/server_accounts.py).
    It holds the id alone — who the service belongs to now, and whether it still runs, is read from the service
    when someone must be told, so a transfer or an end needs no change here."""

    service_id = UnicodeAttribute()

    @staticmethod
    def key(server: str, service_id: str) -> tuple[str, str]:
        return f"SERVER#{server}", f"SERVICE#{service_id}"


class StatusNotice(TableItem, discriminator="StatusNotice"):
    """An account was told of one announcement (an incident opened or resolved, a maintenance scheduled or its
    reminder): the key is the uniqueness, so no account hears one twice (TTL: a month later)."""

    announcement = UnicodeAttribute()

    @staticmethod
    def key(announcement: str, client_id: str) -> tuple[str, str]:
        return f"NOTICE#{announcement}", f"CLIENT#{client_id}"


def server_member(server: str, service_id: str) -> ServerMember:
    return ServerMember(*ServerMember.key(server, service_id), service_id=service_id)


class StatusRepository:
    """Reads of the status items; writes go through the caller's unit of work."""

    def page(self, consistent: bool = False) -> StatusPage:
        """The page's document (a new, empty one before the first change): one GetItem."""
        try:
            return StatusPage.get(*StatusPage.key(), consistent_read=consistent)
        except DoesNotExist:
            return StatusPage(*StatusPage.key(), document={})

    def incident(self, incident_id: str) -> Incident | None:
        return find_item(Incident, Incident.key(incident_id)) if is_valid_id(incident_id) else None

    def maintenance(self, maintenance_id: str) -> Maintenance | None:
        return find_item(Maintenance, Maintenance.key(maintenance_id)) if is_valid_id(maintenance_id) else None

    def log(self, limit: int = 50) -> list[Incident | Maintenance]:
        """The newest incidents and maintenance, with their internal notes (staff): one Query."""
        found = TableItem.by_owner.query(STATUS_LOG, scan_index_forward=False, limit=limit)
        return [item for item in found if isinstance(item, Incident | Maintenance)]

    def items(self, keys: list[tuple[str, str]]) -> list[Incident | Maintenance]:
        """Incidents and maintenance by key: one BatchGetItem per 100."""
        return [item for item in batch_get(keys).values() if isinstance(item, Incident | Maintenance)]

    def reminders_due(self, at: str) -> list[Maintenance]:
        """Maintenance whose reminder is due by ``at`` (the sparse by_due index, every shard)."""
        found: list[Maintenance] = []
        for partition in due_partitions(REMINDER_DUE):
            found.extend(m for m in Maintenance.by_due.query(partition, Maintenance.due_sk <= f"{at}#~")
                         if isinstance(m, Maintenance))
        return found

    def services_on(self, servers: Iterable[str]) -> list[str]:
        """The ids of the services recorded on these servers: one Query per server."""
        ids: set[str] = set()
        for server in sorted(set(servers)):
            for item in ServerMember.query(f"SERVER#{server}", ServerMember.sk.startswith("SERVICE#")):
                if isinstance(item, ServerMember):
                    ids.add(item.service_id)
        return sorted(ids)

    def told(self, announcement: str, client_ids: Iterable[str]) -> set[str]:
        """Which of these accounts were already told of the announcement: one BatchGetItem per 100."""
        found = batch_get((StatusNotice.key(announcement, c) for c in client_ids), consistent=True)
        return {item.sk.removeprefix("CLIENT#") for item in found.values() if isinstance(item, StatusNotice)}

