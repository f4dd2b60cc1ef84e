"""Request and response models of the support services API (remote support)."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, SecretStr, StringConstraints, model_validator

from shared.schemas import ApiModel
from shared.text import ManyLines, OneLine


def _rustdesk_id(value: object) -> object:
    """RustDesk shows a computer's ID ("número de puesto de trabajo") as 9 or 10 digits, often grouped by spaces
    ("123 456 789"): the spaces go, the digits stay."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return re.sub(r"[\s-]", "", str(value))
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("la hora debe llevar su zona (por ejemplo 2026-12-10T13:00:00Z o -03:00)")
    return value


RustDeskId = Annotated[str, BeforeValidator(_rustdesk_id), StringConstraints(pattern=r"^[1-9][0-9]{8,9}$")]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), ManyLines]
Instant = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine]
BookingStatus = Literal["booked", "cancelled", "done", "no_show"]


class SlotOut(ApiModel):
    starts_at: datetime
    ends_at: datetime
    operators_free: int


class BookRemoteSupport(ApiModel):
    """A slot of GET /support/remote/slots, the RustDesk ID of the PC to be helped, what it is about."""

    model_config = ConfigDict(extra="forbid")

    starts_at: Instant
    rustdesk_id: RustDeskId
    topic: Topic
    service_id: Id | None = None


class Reschedule(ApiModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: Instant


class Reassign(ApiModel):
    model_config = ConfigDict(extra="forbid")

    operator: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), OneLine]


class Outcome(ApiModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["done", "no_show"]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), ManyLines]


class BookingOut(ApiModel):
    booking_id: str
    client_id: str
    starts_at: datetime
    ends_at: datetime
    operator: str
    rustdesk_id: str
    topic: str
    service_id: str | None = None
    status: BookingStatus
    reminders_sent: list[str]
    outcome_notes: str | None = None


Host = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253,
                                        pattern=r"^[A-Za-z0-9.:\[\]-]+$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine]
MigrationStatus = Literal["requested", "in_progress", "awaiting_dns", "completed", "failed", "cancelled"]


class MigrationRequest(ApiModel):
    """Option 1 (``we_migrate``): the old server's panel, host and access (a password or an API token), and the
    webmail caveat accepted. Option 2 (``self_service``): nothing more."""

    model_config = ConfigDict(extra="forbid")

    option: Literal["we_migrate", "self_service"]
    panel_type: Literal["cpanel", "plesk", "directadmin", "other"] | None = None
    host: Host | None = None
    username: Short | None = None
    password: Annotated[SecretStr, StringConstraints(min_length=1, max_length=256)] | None = None
    api_token: Annotated[SecretStr, StringConstraints(min_length=1, max_length=2048)] | None = None
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), ManyLines] | None = None
    webmail_caveat_accepted: bool = False

    @model_validator(mode="after")
    def _access_for_we_migrate(self) -> "MigrationRequest":
        if self.option == "we_migrate":
            missing = [f for f in ("panel_type", "host", "username") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"para migrar nosotros faltan: {', '.join(missing)}")
            if self.password is None and self.api_token is None:
                raise ValueError("para migrar nosotros falta la clave o el token de API del servidor anterior")
        return self


class MigrationStep(ApiModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["in_progress", "awaiting_dns", "completed", "failed", "cancelled"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), ManyLines] | None = None


class MigrationOut(ApiModel):
    migration_id: str
    service_id: str
    option: Literal["we_migrate", "self_service"]
    status: MigrationStatus
    panel_type: str | None = None
    old_host: str | None = None
    assignee: str | None = None
    status_note: str | None = None
    access_kept: bool  # whether the old server's access still exists (false once purged, or never given)
    access_purged_at: datetime | None = None
    created_at: datetime


class OldServerAccess(ApiModel):
    panel_type: str | None = None
    host: str | None = None
    username: str | None = None
    password: str | None = None
    api_token: str | None = None
    notes: str | None = None


class RevealOut(ApiModel):
    revealed_by: str
    revealed_at: datetime
    source_ip: str | None = None
