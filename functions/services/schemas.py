"""Response models of the services API: a service's page (manual, its data, what its credentials allow) and the
credentials' reveal, audit and rotation (docs/service-access.md)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from shared.schemas import ApiModel, ServiceSummary
from shared.text import OneLine

Rotation = Literal["requested", "rotating"]


class ServiceFact(ApiModel):
    key: str  # the manual's placeholder: dominio, servidor, panel_url …
    label: str
    value: str | None  # None until the service has it (a hosting being created has no server yet)


class CredentialsAccess(ApiModel):
    """What the caller can do with the service's credentials; their values only come from the reveal."""

    available: bool  # the service has credentials
    may_reveal: bool  # the holder, a contact with `manage_services` (within its scope)
    may_rotate: bool  # the holder, on a service whose server account we manage
    rotation: Rotation | None
    rotated_at: datetime | None


class StatusNotice(ApiModel):
    """An incident or maintenance of the status page that touches the service's server (or the whole platform)."""

    kind: Literal["incident", "maintenance"]
    id: str
    title: str
    status: str  # the incident's (investigating … monitoring) or the maintenance's (scheduled, in_progress)
    impact: Literal["none", "minor", "major", "critical"] | None  # incidents only
    starts_at: datetime  # an incident's opening; a maintenance's window
    ends_at: datetime | None
    updated_at: datetime


class MyService(ServiceSummary):
    status_notices: list[StatusNotice]  # what is happening on its server ("Estado del Servicio"), newest first


class ServiceDetail(MyService):
    period_start: datetime | None
    manual: str | None  # the product's manual with this service's data filled in
    facts: list[ServiceFact]  # "debajo del mismo MANUAL … todos los datos necesarios para usar el servicio"
    credentials: CredentialsAccess


class Credential(ApiModel):
    name: str
    value: str


class RevealedCredentials(ApiModel):
    credentials: list[Credential]
    revealed_at: datetime  # recorded before they were decrypted; the holder sees it in the reveals


class CredentialRevealOut(ApiModel):
    revealed_at: datetime
    role: Literal["holder", "contact"]
    # True: a person of the account that held the service before a transfer (who they were is not shown)
    previous_holder: bool = False
    contact_id: str | None = None
    name: str | None = None
    email: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    still_has_access: bool  # False: the person was removed, lost `manage_services` or the service, or was of the
    # account that held the service before a transfer


class CredentialRevealsOut(ApiModel):
    reveals: list[CredentialRevealOut]  # newest first, the newest 100
    rotation_advised: bool  # someone who saw them since the last change no longer has access: change them
    rotation: Rotation | None
    rotated_at: datetime | None


class RotationOut(ApiModel):
    rotation: Rotation
    requested_at: datetime


class DownloadUpload(ApiModel):
    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine]
    content_type: Annotated[str, StringConstraints(max_length=100)]
    size: Annotated[int, Field(ge=1)]  # bytes: S3 refuses a larger file


class UploadForm(ApiModel):
    download_id: str
    url: str
    fields: dict[str, str]  # the form's fields, then the file as "file"
    expires_at: datetime
    max_bytes: int


class DownloadPublish(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=150), OneLine]


class DownloadOut(ApiModel):
    download_id: str
    title: str
    filename: str
    content_type: str
    size: int
    published_at: datetime


class DownloadLink(ApiModel):
    url: str  # a presigned GET: anyone holding it downloads the file until expires_at
    expires_at: datetime
    filename: str
    size: int
