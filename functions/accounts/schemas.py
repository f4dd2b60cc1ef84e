from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from shared.auth import Permission
from shared.schemas import ApiModel, LoginEmail, MoneyOut
from shared.text import OneLine

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), OneLine]
# A company, an account executive's name: optional, and seen by other people too.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), OneLine]
SupportPlan = Literal["standard", "profesional", "full"]


def _refuse_null(cls, value: object) -> object:
    """For PATCH models: a field may be left out, but not sent as null."""
    if value is None:
        raise ValueError("no puede quedar vacío")
    return value


def _country_ok(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code that libphonenumber knows (it lists every country with a phone plan)."""
    if value is None:
        return None
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("no es un código de país ISO 3166 válido (ej.: AR)")
    return value




def _tax_id_ok(value: str | None) -> str | None:
    """CUIT/CUIL (11 digits, modulo-11 check digit) or DNI (7–8 digits); separators allowed."""
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) in (7, 8) and len(digits) == len(value.replace(".", "").strip()):
        return digits
    if len(digits) == 11:
        weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
        remainder = sum(int(d) * w for d, w in zip(digits[:10], weights, strict=True)) % 11
        check = {0: 0, 1: 9}.get(remainder, 11 - remainder)
        if check == int(digits[10]):
            return digits
    raise ValueError("debe ser un CUIT/CUIL válido (11 dígitos) o un DNI (7 u 8 dígitos)")


class _ProfileFields(ApiModel):
    model_config = ConfigDict(extra="forbid")

    company: ShortText | None = None
    tax_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "AR"
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    whatsapp_opt_in: bool = False

    _check_tax_id = field_validator("tax_id")(lambda cls, v: _tax_id_ok(v))
    _check_country = field_validator("country")(lambda cls, v: _country_ok(v))


class RegisterClient(_ProfileFields):
    email: LoginEmail
    password: str = Field(min_length=8, max_length=128)
    name: Name


class StaffCreateClient(_ProfileFields):
    email: LoginEmail
    name: Name
    support_plan: SupportPlan = "standard"
    account_executive: ShortText | None = None


class UpdateProfile(ApiModel):
    """Every field optional: only what is sent changes. The email is the login: support changes it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    company: ShortText | None = None
    tax_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    whatsapp_opt_in: bool | None = None

    _check_tax_id = field_validator("tax_id")(lambda cls, v: _tax_id_ok(v))
    _check_country = field_validator("country")(lambda cls, v: _country_ok(v))

    # null means "clear it" for company, tax id and phone; these three cannot be cleared.
    _not_null = field_validator("name", "country", "whatsapp_opt_in", mode="before")(_refuse_null)

    @field_validator("company", "tax_id", "phone", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class ClientOut(ApiModel):
    client_id: str
    email: str
    name: str
    company: str | None
    tax_id: str | None
    country: str
    phone: str | None
    whatsapp_opt_in: bool
    support_plan: SupportPlan
    account_executive: str | None
    credit: list[MoneyOut]  # credit balance per currency (overpayments)
    created_at: datetime


class IdentityOut(ApiModel):
    role: Literal["holder", "contact", "staff"]
    contact_id: str | None = None
    permissions: list[Permission]


class MeOut(ApiModel):
    account: ClientOut | None  # None for a contact without the `profile` permission
    identity: IdentityOut


ServiceId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EmailChangeRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    new_email: LoginEmail
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class EmailChangeCode(ApiModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]


class EmailChangeOut(ApiModel):
    new_email: str
    expires_at: datetime  # the code's


class AcceptInvitation(ApiModel):
    """The token of the invitation's email, and the password the contact chooses."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=20, max_length=100)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]


class AcceptAsSignedIn(ApiModel):
    """The token of an invitation to an address that already signs in: accepted signed in with it."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=20, max_length=100)]


class AccountOut(ApiModel):
    """One account the login acts on: its own (``home``), and those it is a contact of (send ``X-Account-Id``)."""

    client_id: str
    name: str
    role: Literal["holder", "contact"]
    contact_id: str | None = None
    permissions: list[Permission]
    service_ids: list[str] | None = None  # a contact limited to some services
    home: bool


class AcceptedOut(ApiModel):
    email: str
    client_id: str
    contact_id: str


class AddContact(ApiModel):
    model_config = ConfigDict(extra="forbid")

    email: LoginEmail
    name: Name
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    whatsapp_opt_in: bool = False
    permissions: list[Permission] = Field(min_length=1, max_length=len(Permission))
    # Limits every right that concerns a service to these (absent or null: every service of the account; [] none:
    # a contact for the account's own matters only).
    service_ids: list[ServiceId] | None = Field(default=None, max_length=50)


class UpdateContact(ApiModel):
    """The holder changes a contact's rights or details; only what is sent changes."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    whatsapp_opt_in: bool | None = None
    permissions: list[Permission] | None = Field(default=None, max_length=len(Permission))
    service_ids: list[ServiceId] | None = Field(default=None, max_length=50)  # null lifts the limit

    _not_null = field_validator("name", "whatsapp_opt_in", "permissions", mode="before")(_refuse_null)


class ContactOut(ApiModel):
    contact_id: str
    email: str
    name: str
    phone: str | None
    whatsapp_opt_in: bool
    permissions: list[Permission]
    service_ids: list[str] | None  # the services its rights are limited to; None: every one
    status: Literal["invited", "active"]  # invited: it has not accepted yet (no login)
    invitation_expires_at: datetime | None
    created_at: datetime
