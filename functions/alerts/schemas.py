from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel

AlertKind = Literal["billing", "services", "quotes", "tickets"]
DeliveryStatus = Literal["waiting", "queued", "sending", "sent", "delivered", "read", "failed", "dropped"]


class AlertOut(ApiModel):
    event_type: str
    template: str
    recipient: str  # holder | contact:<contact_id>
    phone: str  # masked: +54 9 11 ****-6789
    status: DeliveryStatus
    error_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    not_before: datetime | None  # held for the quiet hours until then


class KindOut(ApiModel):
    kind: AlertKind
    label: str  # es-AR
    enabled: bool


class AlertSettingsOut(ApiModel):
    whatsapp_opt_in: bool
    phone: str | None
    kinds: list[KindOut]


class UpdateAlertSettings(ApiModel):
    model_config = ConfigDict(extra="forbid")

    whatsapp_opt_in: bool | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    preferences: dict[AlertKind, bool] | None = None
