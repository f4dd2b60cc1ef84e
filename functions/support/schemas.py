"""Request and response models of the support services API (remote support)."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, StringConstraints

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
