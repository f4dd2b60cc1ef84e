"""Response model of a service's self-diagnostics."""

from datetime import datetime
from typing import Any, Literal

from shared.schemas import ApiModel


class CheckOut(ApiModel):
    check: Literal["delegation", "website_address", "mail", "certificate", "website"]
    status: Literal["ok", "warning", "fail", "skipped"]
    title: str
    explanation: str  # es-AR, for the client
    article: str | None  # the knowledge base article that fixes it (GET /kb/articles/{slug})
    details: dict[str, Any]  # what was found: records, addresses, the certificate's issuer and expiry, the status


class DiagnosticsOut(ApiModel):
    service_id: str
    domain: str
    status: Literal["ok", "warning", "fail"]  # the worst of the checks
    checks: list[CheckOut]
    checked_at: datetime
    cached: bool  # a result of the last few minutes, not a new run
