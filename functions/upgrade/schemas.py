from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel, BillingCycle, InvoiceOut, MoneyOut, ServiceSummary
from shared.text import ManyLines

ProductId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# What the client writes to staff and staff to the client (messages, notes) may span lines.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), ManyLines]


class UpgradeOrder(ApiModel):
    model_config = ConfigDict(extra="forbid")

    target: ProductId  # the product to move to
    billing_cycle: BillingCycle | None = None  # default: the service's current cycle


class ManualUpgradeRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    target: ProductId | None = None
    message: Text


class ResolveUpgradeRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["done", "declined"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), ManyLines] | None = None


class ServerSettings(ApiModel):
    model_config = ConfigDict(extra="forbid")

    upgrades_enabled: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), ManyLines] | None = None


Change = Literal["upgrade", "downgrade", "lateral"]
TakesEffect = Literal["now", "next_renewal"]


class UpgradeOptionOut(ApiModel):
    product_id: str
    product_name: str
    billing_cycle: BillingCycle
    change: Change
    takes_effect: TakesEffect
    due_now: MoneyOut
    credit: MoneyOut  # to the account's credit balance
    new_recurring_price: MoneyOut
    next_due_on: date  # local date, if ordered today
    summary: str  # es-AR


class BlockerOut(ApiModel):
    code: str
    message: str


class ManualRequestOut(ApiModel):
    path: str  # POST here with {"target"?, "message"}
    account_executive: str | None
    message: str


class UpgradeOut(ApiModel):
    upgrade_id: str
    service_id: str
    status: Literal["awaiting_payment", "scheduled", "applying", "completed", "cancelled", "expired"]
    change: Change
    takes_effect: TakesEffect
    pricing_rule: str
    from_product_id: str
    from_product_name: str
    from_billing_cycle: BillingCycle
    to_product_id: str
    to_product_name: str
    to_billing_cycle: BillingCycle
    amount_due: MoneyOut
    credit: MoneyOut
    new_recurring_price: MoneyOut
    invoice_id: str | None
    pay_by: datetime | None
    effective_at: datetime | None
    requested_role: Literal["holder", "contact", "staff"]
    created_at: datetime
    completed_at: datetime | None


class UpgradeOptionsOut(ApiModel):
    service_id: str
    product_id: str
    product_name: str
    billing_cycle: BillingCycle
    recurring_price: MoneyOut
    next_due_at: datetime | None
    automatic: bool  # False: nothing can be done automatically (blockers say why)
    message: str  # es-AR
    blockers: list[BlockerOut]
    options: list[UpgradeOptionOut]
    pending_upgrade: UpgradeOut | None
    manual_request: ManualRequestOut


class UpgradeOrderOut(ApiModel):
    upgrade: UpgradeOut
    invoice: InvoiceOut | None  # None when nothing is due
    service: ServiceSummary


class UpgradeRequestOut(ApiModel):
    request_id: str
    client_id: str
    service_id: str
    target_product_id: str | None
    message: str
    account_executive: str | None
    status: Literal["open", "done", "declined"]
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None


class ServerOut(ApiModel):
    name: str
    upgrades_enabled: bool
    note: str | None
    updated_at: datetime
