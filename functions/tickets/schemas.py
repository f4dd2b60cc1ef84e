"""A ticket's conversation as clients and staff both send and read it: opening, replies, attachments, the ticket
with its messages and deadlines, the typical response times. What only staff use is tickets.staff_schemas; what only
clients use beside their tickets (the contact form, support channels, the Telegram link) is tickets.client_schemas."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from shared.schemas import ApiModel
from shared.sla import Priority, SlaClass
from shared.text import ManyLines, OneLine

TicketStatus = Literal["open", "answered", "customer_reply", "waiting_on_customer", "closed"]
Plan = Literal["standard", "profesional", "full"]
Channel = Literal["panel", "email", "form", "chat", "phone", "whatsapp", "telegram"]
Outcome = Literal["advice", "out_of_scope", "quote"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=20000), ManyLines]
AttachmentIds = Annotated[list[Id], Field(max_length=5)]


class OpenTicket(ApiModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(min_length=3, max_length=200), OneLine]
    body: Body
    sla_class: SlaClass = SlaClass.ADVICE
    priority: Priority = Priority.P3
    service_id: Id | None = None


class ClientReply(ApiModel):
    model_config = ConfigDict(extra="forbid")

    body: Body
    attachment_ids: AttachmentIds = []


class AttachmentRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, StringConstraints(min_length=1, max_length=120), OneLine]
    content_type: Annotated[str, StringConstraints(min_length=3, max_length=100)]
    size: Annotated[int, Field(gt=0)]


class UploadOut(ApiModel):
    attachment_id: str
    url: str
    fields: dict[str, str]  # the form fields of the presigned POST, sent with the file
    expires_at: datetime
    max_bytes: int


class DownloadOut(ApiModel):
    url: str
    expires_at: datetime


class AttachmentOut(ApiModel):
    attachment_id: str
    filename: str
    content_type: str
    size: int


class MessageOut(ApiModel):
    message_id: str
    author_role: Literal["client", "staff"]
    author_name: str | None
    body: str
    attachments: list[AttachmentOut]
    created_at: datetime
    channel: Channel = "panel"
    call_minutes: int | None = None  # a phone call staff logged


class DeadlineOut(ApiModel):
    kind: Literal["first_response", "next_response", "resolution"]
    started_at: datetime
    due_at: datetime | None  # None while the ticket waits on the client (the clock is stopped)
    met_at: datetime | None
    breached_at: datetime | None
    target: str  # es-AR: "8 horas hábiles", "30 minutos (24 × 7)", "2 días hábiles"


class HistoryOut(ApiModel):
    at: datetime
    what: str
    detail: str | None


class TicketSummary(ApiModel):
    ticket_id: str
    client_id: str | None
    subject: str
    status: TicketStatus
    sla_class: SlaClass
    priority: Priority
    plan: Plan
    service_id: str | None
    channel: Channel
    created_at: datetime
    updated_at: datetime
    next_deadline_at: datetime | None
    assignee: str | None
    message_count: int


class TicketOut(TicketSummary):
    requested_priority: Priority
    priority_message: str | None  # why a P1 is handled as P2
    deadlines: list[DeadlineOut]
    paused_minutes: int  # time waiting on the client, not counted by the SLA
    messages: list[MessageOut]
    history: list[HistoryOut]
    closed_at: datetime | None
    merged_into: str | None
    follows_ticket_id: str | None
    classification_outcome: Outcome | None


class ResponseTime(ApiModel):
    sla_class: SlaClass
    answered: int  # first responses measured
    median_business_minutes: int | None


class ResponseTimesOut(ApiModel):
    since: date
    classes: list[ResponseTime]
    message: str
