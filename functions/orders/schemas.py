import json
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator

from shared.domains import InvalidDomain, normalize_domain
from shared.schemas import ApiModel, BillingCycle, InvoiceOut, ServiceSummary
from shared.text import ManyLines, OneLine


def _domain(value: str) -> str:
    try:
        return normalize_domain(value)
    except InvalidDomain as error:
        raise ValueError(f"El dominio {error}.") from None


# Stored in its ASCII form: "Ñandú.com.ar" and "xn--and-6ma2c.com.ar" are one domain (shared.domains).
Domain = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(_domain)]


class ClientOrder(ApiModel):
    """An order from the client area: a product of the catalog, its cycle, and its domain if it has one."""

    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    billing_cycle: BillingCycle
    domain: Domain | None = None


class CreateOrder(ClientOrder):
    """A staff order: what a client may order, and what only staff set."""

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
