"""Request and response models of the feature requests API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel
from shared.text import ManyLines, OneLine

Status = Literal["open", "planned", "in_progress", "done", "declined"]


class Proposal(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=150), OneLine]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000), ManyLines]


class StatusChange(ApiModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    public_note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), ManyLines] | None = None


class MergeInto(ApiModel):
    model_config = ConfigDict(extra="forbid")

    into_request_id: Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine]


class FeatureRequestOut(ApiModel):
    request_id: str
    title: str
    description: str
    status: Literal["open", "planned", "in_progress", "done", "declined", "merged"]
    public_note: str | None
    votes: int
    voted: bool  # the caller's account voted for it (staff: false)
    merged_into: str | None
    created_at: datetime
    updated_at: datetime
