"""What only clients send or read beside their tickets: the public contact form, the support channels of a plan
and a call-back, the Telegram link. Apart from tickets.schemas (the conversation, which staff read too) so that
staff's function does not build them at its cold start."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints
from tickets.schemas import Body, Id, Plan

from shared.schemas import ApiModel
from shared.text import ManyLines, OneLine


def _lower_email(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class ContactRequest(ApiModel):
    """The public contact form (no sign-in): it opens a ticket. ``captcha_token`` is what the Cloudflare
    Turnstile widget gave the page."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), OneLine]
    email: Annotated[EmailStr, BeforeValidator(_lower_email), Field(max_length=254)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), OneLine] | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200), OneLine]
    message: Body
    service_id: Id | None = None
    captcha_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class ContactAccepted(ApiModel):
    reference: str  # the ticket's number, also in the acknowledgement email
    message: str


class CallbackRequest(ApiModel):
    """A call from support, in a window the client chooses (Argentina's time is how the panel shows it)."""

    model_config = ConfigDict(extra="forbid")

    window_start: datetime
    window_end: datetime
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), OneLine] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=19_000), ManyLines]  # room for the window


class PlanOffer(ApiModel):
    """How to get a plan that includes a channel: the account's support service changed to ``product_id`` (POST
    /services/{service_id}/upgrades, the plan-change flow: only the difference is paid), or, with no support service
    to change (``service_id`` None), that product ordered (POST /me/orders)."""

    product_id: str
    product_name: str
    service_id: str | None


class ChannelOut(ApiModel):
    channel: Literal["panel", "email", "form", "chat", "whatsapp", "telegram", "phone"]
    included: bool
    plan_needed: Plan | None  # the first plan that includes it, when the account's does not
    offer: PlanOffer | None = None  # the "solicitarlo" button: how to get plan_needed


class SupportChannelsOut(ApiModel):
    plan: Plan
    channels: list[ChannelOut]


class TelegramLinkOut(ApiModel):
    """A person's Telegram: linked or not; a new code (only in the answer that made it) with its t.me link."""

    linked: bool
    username: str | None
    linked_at: datetime | None
    code: str | None  # send it to the bot: /start <code> (the link does it in one tap)
    link: str | None
    code_expires_at: datetime | None
    included: bool  # the account's support plan includes Telegram
    plan_needed: Plan | None
