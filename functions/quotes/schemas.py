from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from shared.money import Currency
from shared.schemas import ApiModel, InvoiceOut, MoneyOut
from shared.text import ManyLines, OneLine

Purpose = Literal["sla_fix", "backup_restore", "custom"]
QuoteStatus = Literal["open", "accepted", "declined", "expired"]


class QuoteLineIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(min_length=1, max_length=300), OneLine]
    amount: Annotated[int, Field(gt=0, le=10**12)]  # minor units


class CreateQuote(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(min_length=1, max_length=120), OneLine]
    purpose: Purpose
    currency: Currency
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=30)]
    valid_until: date  # the last local day it may be accepted
    note: Annotated[str, StringConstraints(max_length=2000), ManyLines] | None = None
    ticket_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    service_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class QuoteLineOut(ApiModel):
    description: str
    amount: MoneyOut


class QuoteOut(ApiModel):
    quote_id: str
    client_id: str
    title: str
    purpose: Purpose
    status: QuoteStatus
    lines: list[QuoteLineOut]
    total: MoneyOut
    valid_until: date
    note: str | None
    ticket_id: str | None
    service_id: str | None
    created_at: datetime
    answered_at: datetime | None
    invoice_id: str | None
    paid_at: datetime | None


class AcceptedQuoteOut(ApiModel):
    quote: QuoteOut
    invoice: InvoiceOut
