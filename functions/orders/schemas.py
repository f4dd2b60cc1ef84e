import json
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from shared.schemas import ApiModel, BillingCycle, InvoiceOut, ServiceSummary
from shared.text import ManyLines, OneLine

Domain = Annotated[
    str,
    # Lower-cased before the pattern runs: "Ana.com.ar" is the same domain as "ana.com.ar".
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    StringConstraints(
        max_length=253,
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    ),
]


class CreateOrder(ApiModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    billing_cycle: BillingCycle
    domain: Domain | None = None
    # Shown to the client as they are (name: value) in the service's detail; a value may be a key file.
    credentials: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine],
        Annotated[str, StringConstraints(max_length=512), ManyLines],
    ] | None = Field(default=None, max_length=20)
    # A package made to measure for this client: its plan changes are done by hand, never automatically.
    custom_package: bool = False

    @field_validator("credentials")
    @classmethod
    def _credentials_fit_kms(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # KMS encrypts at most 4 KiB of plaintext in one call.
        if value and len(json.dumps(value, ensure_ascii=False).encode()) > 4000:
            raise ValueError("no puede superar 4 KB en total")
        return value


class OrderOut(ApiModel):
    service: ServiceSummary
    invoice: InvoiceOut
