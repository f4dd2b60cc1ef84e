"""Request and response models of the lifecycle API (field names in English, texts in Spanish)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel, InvoiceOut, Password, ServiceSummary
from shared.text import ManyLines

CancellationType = Literal["immediate", "end_of_period"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), ManyLines]


class CancellationRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    type: CancellationType
    reason: Reason
    password: Password


class ServiceChange(ApiModel):
    model_config = ConfigDict(extra="forbid")

    auto_renew: bool


class StaffTermination(ApiModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason  # abuse, a legal order …: recorded with the termination


class RestoreRequestIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), ManyLines] | None = None


class CancellationPreview(ApiModel):
    service_id: str
    type: CancellationType
    effective_at: datetime
    effective_on: date  # the local day it takes effect
    renewal_policy: Literal["stands", "void"]
    invoices_to_pay: list[InvoiceOut]  # still due after the cancellation
    invoices_voided: list[InvoiceOut]  # cancelled with it (LateCancellationRenewal = void)
    refund: Literal["none"]
    deleted: list[str]  # what is removed from the server when it takes effect
    backup_retained_until: date | None
    messages: list[str]  # the above, said to the client


class CancellationOut(ApiModel):
    service_id: str
    type: CancellationType
    status: Literal["pending", "withdrawn", "executed"]
    reason: str
    effective_at: datetime
    renewal_policy: Literal["stands", "void"]
    standing_invoice_id: str | None
    requested_at: datetime
    withdrawn_at: datetime | None
    executed_at: datetime | None
    service: ServiceSummary


class RestoreRequestOut(ApiModel):
    request_id: str
    service_id: str
    status: str
    note: str | None
    backup_retained_until: date | None
    created_at: datetime
    message: str
