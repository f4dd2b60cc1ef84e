"""Staff's requests and answers on the help desk (tickets.staff_app): what only staff send or read. Apart from
tickets.schemas so that the clients' function does not build these models at its cold start (nor staff's function
the clients' own, tickets.client_schemas)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints
from tickets.schemas import Body, Channel, ClientReply, Id, OpenTicket, Outcome, Plan, TicketOut

from shared.schemas import ApiModel
from shared.sla import Priority, SlaClass
from shared.text import ManyLines, OneLine


class StaffOpenTicket(OpenTicket):
    channel: Channel = "phone"


class StaffReply(ClientReply):
    # The answer asks the client for something: the ticket waits on them and its clocks stop.
    waiting_on_customer: bool = False
    close: bool = False


class NoteIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    body: Body


class TicketChange(ApiModel):
    """Staff's changes to a ticket; each one given is applied and written in its history."""

    model_config = ConfigDict(extra="forbid")

    assignee: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine] | None = None
    sla_class: SlaClass | None = None
    outcome: Outcome | None = None  # with an SLA 4 reclassification: what its answer was
    priority: Priority | None = None
    status: Literal["waiting_on_customer", "closed"] | None = None
    reason: Annotated[str, StringConstraints(max_length=500), OneLine] | None = None


class MergeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    into_ticket_id: Id


class NoteOut(ApiModel):
    note_id: str
    author: str
    body: str
    created_at: datetime


class StaffTicketOut(TicketOut):
    notes: list[NoteOut]
    opened_by: str
    upgrade_request_id: str | None
    requester_email: str | None  # where the email copies of the replies go
    guest_email: str | None  # a ticket with no account (sales by email)
    # An email that quoted that ticket, from a sender who could not be verified as part of it, opened this one.
    claimed_ticket_id: str | None
    # Messages that arrived by email whose original (the raw message, headers and all) staff can download.
    originals: list[str]


class Figures(ApiModel):
    answered: int
    median: float | None
    mean: float | None
    p90: float | None


class SlaShare(ApiModel):
    plan: Plan
    sla_class: SlaClass
    answered: int
    within_sla: int
    share: float | None  # within / answered


class StatsOut(ApiModel):
    since: date  # the local days reported, both included
    until: date
    first_response_business_minutes: Figures
    within_sla: list[SlaShare]
    breaches: dict[str, int]  # by deadline: first_response, next_response, resolution


class ClosedDayIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine]


class ClosedDayOut(ApiModel):
    day: date
    reason: str


class ProductionFlag(ApiModel):
    model_config = ConfigDict(extra="forbid")

    production: bool


class SuppressedAddressOut(ApiModel):
    """An address we no longer email, and why (SES's report)."""

    address: str
    reason: Literal["bounce", "complaint"]
    detail: str | None
    suppressed_at: datetime


class InboundEmailOut(ApiModel):
    """A received email as staff review it (the quarantine, or the outcome of a release)."""

    email_key: str
    sender: str
    subject: str
    received_at: datetime
    outcome: Literal["filed", "opened", "quarantined", "ignored", "pending"]
    reason: str | None
    ticket_id: str | None
    verdicts: dict[str, str]


class CallLog(ApiModel):
    """A phone call staff had with the client, logged on its ticket (it is staff's answer: the clock stops)."""

    model_config = ConfigDict(extra="forbid")

    direction: Literal["inbound", "outbound"]
    duration_minutes: Annotated[int, Field(ge=1, le=600)]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=19_000), ManyLines]  # room for its heading
    waiting_on_customer: bool = False


class AccountIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    client_id: Id
