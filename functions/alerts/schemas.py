from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel

AlertKind = Literal["billing", "services", "quotes", "tickets"]
Channel = Literal["whatsapp", "email"]
DeliveryStatus = Literal["waiting", "queued", "sending", "sent", "delivered", "read", "failed", "dropped"]


class AlertOut(ApiModel):
    event_type: str
    template: str
    recipient: str  # holder | contact:<contact_id>
    channel: Channel
    phone: str | None  # WhatsApp, masked: +5491*****6789
    email: str | None  # email, masked: j***@example.com
    status: DeliveryStatus
    error_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    not_before: datetime | None  # held for the quiet hours until then


class KindOut(ApiModel):
    kind: AlertKind
    label: str  # es-AR
    enabled: bool  # by WhatsApp
    email_enabled: bool  # by email
    # The channels this kind has alerts on (some emails are not alerts: an invoice with its PDF, the answer to
    # a ticket always go by email).
    channels: list[Channel]


class AlertSettingsOut(ApiModel):
    whatsapp_opt_in: bool
    phone: str | None
    email: str  # where the email alerts go: the address the person signs in with
    kinds: list[KindOut]


class UpdateAlertSettings(ApiModel):
    model_config = ConfigDict(extra="forbid")

    whatsapp_opt_in: bool | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    preferences: dict[AlertKind, bool] | None = None  # by WhatsApp
    email_preferences: dict[AlertKind, bool] | None = None  # by email
