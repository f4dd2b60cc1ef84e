"""Request and response models of the transfers API (Cambio de titular)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel, LoginEmail, Password
from shared.text import ManyLines

TransferStatus = Literal["awaiting_source", "awaiting_target", "awaiting_staff", "completed", "declined", "rejected",
                         "cancelled"]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), ManyLines]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TransferRequest(ApiModel):
    """The holder asks to move the service to another client (who must already be one), with the password."""

    model_config = ConfigDict(extra="forbid")

    target_email: LoginEmail
    password: Password
    note: Note | None = None


class StaffTransferRequest(ApiModel):
    """Staff open the transfer the holder asked for by ticket (from the holder's email): the holder then confirms
    it in the panel with the password."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: Id
    service_id: Id
    target_email: LoginEmail
    note: Note | None = None


class Consent(ApiModel):
    model_config = ConfigDict(extra="forbid")

    password: Password


class Approval(ApiModel):
    """When the accounts' data differ (``needs_verification``), what staff checked (the phone call)."""

    model_config = ConfigDict(extra="forbid")

    verification_note: Note | None = None


class Rejection(ApiModel):
    model_config = ConfigDict(extra="forbid")

    reason: Note


class TransferOut(ApiModel):
    transfer_id: str
    service_id: str
    service: str  # the product and its domain
    status: TransferStatus
    direction: Literal["outgoing", "incoming"] | None  # the caller's side; None for staff
    from_client_id: str | None  # staff only: the accounts' ids
    to_client_id: str | None
    from_name: str | None  # who gives it (shown to the target and staff)
    to_email: str  # who receives it
    requested_via: Literal["panel", "ticket"]
    ticket_id: str | None
    needs_verification: bool
    verification_reasons: list[str]  # tax_id | country | name: what differs between the accounts
    verified_at: datetime | None
    source_consent_at: datetime | None
    target_consent_at: datetime | None
    decided_at: datetime | None
    decision_reason: str | None
    note: str | None  # the source's or staff's note (not shown to the target)
    created_at: datetime
    next_step: str  # in Spanish: what happens next, for whoever reads it
