"""WhatsApp Cloud API (Meta Graph API): template messages, error classes, webhook signatures.

POST {base}/{phone-number-id}/messages with `Authorization: Bearer <token>` and
{"messaging_product": "whatsapp", "to": "549…", "type": "template", "template": {"name", "language",
"components": [{"type": "body", "parameters": [{"type": "text", "text": …}]}]}}.
A success answers {"contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid…"}]}; a failure
{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"}, "fbtrace_id"}}.
"""

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from shared.secret_compare import same_secret

# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
THROTTLED = {4, 80007, 130429, 131048, 131056}
TRANSIENT = {1, 2, 131000, 131016}
TOKEN_EXPIRED = 190
NOT_IN_ALLOWED_LIST = 131030  # Argentine numbers registered without the 9: retried once as 54…
PERMANENT = {100, 131008, 131009, 131021, 131026, 131042, 131047, 131050, 131051, 131052, 131053,
             132000, 132001, 132005, 132007, 132012, 132015, 132016, 133010}


@dataclass(frozen=True)
class Sent:
    message_id: str
    wa_id: str | None


class SendFailed(Exception):
    """The message did not go out, or may have. ``kind``: throttled | transient | token_expired |
    not_configured | permanent | not_in_allowed_list | unknown (the request reached the API but its answer
    was lost: it may have been sent, so it is never sent again)."""

    def __init__(self, kind: str, code: int | None, reason: str, http_status: int | None = None):
        super().__init__(f"{kind} ({code}): {reason}")
        self.kind, self.code, self.reason, self.http_status = kind, code, reason, http_status

    @property
    def retryable(self) -> bool:
        return self.kind in ("throttled", "transient", "token_expired", "not_configured")


def classify(http_status: int | None, code: int | None) -> str:
    if code == TOKEN_EXPIRED:
        return "token_expired"
    if http_status == 429 or code in THROTTLED:
        return "throttled"
    if code == NOT_IN_ALLOWED_LIST:
        return "not_in_allowed_list"
    if code in PERMANENT:
        return "permanent"
    if code in TRANSIENT or http_status is None or http_status >= 500:
        return "transient"
    return "permanent"  # another 4xx: sending it again would fail the same way


def wire_number(e164: str) -> str:
    """The API takes the number without the +."""
    return e164.lstrip("+")


def without_mobile_nine(e164: str) -> str | None:
    """+54 9 11 … -> 54 11 …: the form some Argentine WhatsApp accounts are registered with."""
    return "54" + e164[4:] if e164.startswith("+549") else None


class WhatsAppApi:
    def __init__(self, base_url: str, phone_number_id: str, access_token: str, timeout_s: float = 5.0):
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._token = access_token
        self._timeout = timeout_s

    def send_text(self, to: str, text: str) -> Sent:
        """A free-form message: only inside the 24-hour window since the person last wrote (else 131047)."""
        return self._post({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                           "type": "text", "text": {"preview_url": False, "body": text[:4096]}})

    def send_template(self, to: str, template: str, language: str, parameters: list[str]) -> Sent:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": template,
                "language": {"code": language},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}],
            },
        }
        return self._post(body)

    def _post(self, body: dict) -> Sent:
        request = urllib.request.Request(self._url, data=json.dumps(body).encode(), method="POST", headers={
            "Authorization": f"Bearer {self._token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured host)
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise _failure(error.code, error.read()) from None
        except urllib.error.URLError as error:
            # urllib wraps only what fails while connecting and writing the request: nothing was sent.
            raise SendFailed("transient", None, f"sin conexión con la API: {error.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            # The request was written but its answer was lost or garbled: it may have been sent.
            raise SendFailed("unknown", None, f"respuesta perdida ({type(error).__name__}): {error}"[:300]) from None
        messages = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict) \
                or not messages[0].get("id"):
            raise SendFailed("unknown", None, "la API respondió sin id de mensaje")
        contacts = answer.get("contacts") if isinstance(answer.get("contacts"), list) else []
        wa_id = contacts[0].get("wa_id") if contacts and isinstance(contacts[0], dict) else None
        return Sent(str(messages[0]["id"]), wa_id)


def _failure(http_status: int, raw: bytes) -> SendFailed:
    try:
        error = json.loads(raw or b"{}").get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    code = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    reason = str(details or error.get("message") or f"HTTP {http_status}")[:300]
    return SendFailed(classify(http_status, code), code, reason, http_status)


def valid_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body with the app secret."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return same_secret(expected, header[len("sha256="):].strip().lower())
