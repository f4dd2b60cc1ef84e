"""Request and response models of the status page ("Estado del Servicio")."""

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from shared.schemas import ApiModel
from shared.text import ManyLines, OneLine

Impact = Literal["none", "minor", "major", "critical"]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceStatus = Literal["scheduled", "in_progress", "completed"]
ComponentStatus = Literal["operational", "under_maintenance", "degraded_performance", "partial_outage",
                          "major_outage"]
Indicator = Literal["none", "maintenance", "minor", "major", "critical"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("la hora debe llevar su zona (por ejemplo 2026-12-10T03:00:00Z o -03:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T22:00-03:00 is past the last representable UTC instant
        raise ValueError("la fecha está fuera de rango") from None


Instant = Annotated[datetime, AfterValidator(_aware)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=150), OneLine]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=5000), ManyLines]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), ManyLines]
COMPONENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a path's component id and a body's, one rule
ComponentId = Annotated[str, StringConstraints(pattern=f"^{COMPONENT_ID.pattern}$")]
Host = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=253,
                                        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}"
                                                r"[a-z0-9])?)+$")]
ComponentIds = Annotated[list[ComponentId], Field(min_length=1, max_length=50)]


class ComponentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80), OneLine]
    group: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60), OneLine]
    # The servers whose services it touches; none: the whole platform (shown on every service, alerts nobody).
    servers: Annotated[list[Host], Field(max_length=50)] = []
    sort_order: Annotated[int, Field(ge=0, le=999)] = 0


class IncidentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    impact: Impact
    component_ids: ComponentIds
    message: Message  # the first public update
    status: Literal["investigating", "identified", "monitoring"] = "investigating"
    internal_note: Note | None = None
    notify: bool = True  # alert the clients of the affected servers, now and when it is resolved


class IncidentUpdateIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus
    message: Message
    impact: Impact | None = None
    internal_note: Note | None = None


class MaintenanceIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    message: Message
    component_ids: ComponentIds
    starts_at: Instant
    ends_at: Instant
    internal_note: Note | None = None
    notify: bool = True  # a notice now and a reminder before the window


class MaintenanceEdit(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    message: Message | None = None
    component_ids: ComponentIds | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    internal_note: Note | None = None


class MaintenanceUpdateIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["in_progress", "completed"]
    message: Message


class PublicUpdate(ApiModel):
    status: str
    message: str
    at: datetime


class PublicIncident(ApiModel):
    incident_id: str
    title: str
    status: IncidentStatus
    impact: Impact
    component_ids: list[str]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: list[PublicUpdate]  # newest first


class PublicMaintenance(ApiModel):
    maintenance_id: str
    title: str
    message: str
    status: MaintenanceStatus
    component_ids: list[str]
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    updates: list[PublicUpdate]


class ComponentState(ApiModel):
    component_id: str
    name: str
    status: ComponentStatus


class ComponentGroup(ApiModel):
    name: str
    components: list[ComponentState]


class StatusOut(ApiModel):
    indicator: Indicator
    description: str
    groups: list[ComponentGroup]
    incidents: list[PublicIncident]  # not resolved, newest first
    maintenances: list[PublicMaintenance]  # scheduled or in progress, the soonest first
    resolved_incidents: list[PublicIncident]  # the last 14 days
    completed_maintenances: list[PublicMaintenance]


class StaffUpdate(PublicUpdate):
    internal_note: str | None
    by: str


class StaffIncident(PublicIncident):
    notify: bool
    updates: list[StaffUpdate]


class StaffMaintenance(PublicMaintenance):
    notify: bool
    reminded: bool
    internal_note: str | None
    updates: list[StaffUpdate]


class ComponentOut(ApiModel):
    component_id: str
    name: str
    group: str
    servers: list[str]
    sort_order: int
    status: ComponentStatus


class StaffStatusOut(ApiModel):
    components: list[ComponentOut]
    incidents: list[StaffIncident]  # the newest 50 of the log, with internal notes
    maintenances: list[StaffMaintenance]
