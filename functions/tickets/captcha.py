"""Cloudflare Turnstile's server-side check of the widget's token (siteverify), for the public contact form.

The token is checked once, with the visitor's IP and an idempotency key (a retry of our own call gets the
same answer instead of ``timeout-or-duplicate``). Fail closed: when Turnstile cannot be reached, or the
secret is not set, the form answers 503 and nothing is filed — the help centre's other channels stay open.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from shared.errors import InvalidInput, ServiceUnavailable


class CaptchaFailed(InvalidInput):
    code = "captcha_failed"


class CaptchaUnavailable(ServiceUnavailable):
    code = "captcha_unavailable"
    message = ("No pudimos verificar el formulario en este momento. Vuelva a intentarlo en unos minutos o "
               "escríbanos por correo.")


@dataclass(frozen=True)
class Verdict:
    success: bool
    error_codes: tuple[str, ...]
    hostname: str | None = None
    action: str | None = None


class Turnstile:
    def __init__(self, base_url: str, secret: str, timeout_s: float = 5.0):
        self._url = f"{base_url.rstrip('/')}/turnstile/v0/siteverify"
        self._secret, self._timeout = secret, timeout_s

    def verify(self, token: str, remote_ip: str | None, idempotency_key: str) -> Verdict:
        if not self._secret:
            raise CaptchaUnavailable()
        fields = {"secret": self._secret, "response": token, "idempotency_key": idempotency_key}
        if remote_ip:
            fields["remoteip"] = remote_ip
        request = urllib.request.Request(self._url, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured host)
                answer = json.loads(response.read() or b"{}")
        except (OSError, ValueError):
            raise CaptchaUnavailable() from None
        if not isinstance(answer, dict):
            raise CaptchaUnavailable()
        codes = tuple(str(c) for c in answer.get("error-codes") or ())
        if {"missing-input-secret", "invalid-input-secret", "internal-error"} & set(codes):
            raise CaptchaUnavailable()  # ours to fix (or Cloudflare's), not the visitor's
        return Verdict(answer.get("success") is True, codes, answer.get("hostname"), answer.get("action"))


def require_human(turnstile: Turnstile, token: str, remote_ip: str | None, idempotency_key: str,
                  expected_action: str = "contact") -> None:
    verdict = turnstile.verify(token, remote_ip, idempotency_key)
    if not verdict.success or (verdict.action and verdict.action != expected_action):
        message = ("La verificación del formulario venció: vuelva a completarla." if
                   "timeout-or-duplicate" in verdict.error_codes else
                   "No pudimos verificar que el formulario lo envió una persona. Vuelva a completarlo.")
        raise CaptchaFailed(message, code="captcha_failed", field="captcha_token")
