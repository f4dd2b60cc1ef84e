"""Cloudflare Turnstile's siteverify, on loopback (developers.cloudflare.com/turnstile/get-started/server-side-
validation): ``POST /turnstile/v0/siteverify`` with ``secret``, ``response`` (the widget's token), optional
``remoteip`` and ``idempotency_key``, form-encoded or JSON; answers ``{"success", "error-codes",
"challenge_ts", "hostname", "action", "cdata"}``.

As Cloudflare's: a token is good once and for 300 seconds (then ``timeout-or-duplicate``), unless the same
``idempotency_key`` asks again; an unknown token is ``invalid-input-response``, a wrong secret
``invalid-input-secret``. Tokens come from ``issue()`` (what the widget would hand the page) — make dev
serves one at ``GET /local/turnstile-token``.
"""

import json
import secrets
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import LoopbackFake, LoopbackJsonServer

TOKEN_LIFETIME_S = 300


class FakeTurnstile(LoopbackFake):
    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0):
        self.secret = secret
        self.calls = 0
        self._tokens: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer("fake-turnstile", self._answer, host, port)

    def issue(self, hostname: str = "localhost", action: str = "contact") -> str:
        token = "0." + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = {"issued": time.monotonic(), "hostname": hostname, "action": action,
                                   "spent_by": None, "answer": None}
        return token

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        if method != "POST" or urlsplit(path).path != "/turnstile/v0/siteverify":
            return 404, {"success": False, "error-codes": ["bad-request"]}
        if "json" in headers.get("Content-Type", ""):
            try:
                fields = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            except (ValueError, AttributeError):
                return 400, {"success": False, "error-codes": ["bad-request"]}
        else:
            fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self._lock:
            self.calls += 1
            return 200, self._verdict(fields)

    def _verdict(self, fields: dict[str, str]) -> dict:
        if not fields.get("secret"):
            return {"success": False, "error-codes": ["missing-input-secret"]}
        if not secrets.compare_digest(fields["secret"], self.secret):
            return {"success": False, "error-codes": ["invalid-input-secret"]}
        token = fields.get("response")
        if not token:
            return {"success": False, "error-codes": ["missing-input-response"]}
        found = self._tokens.get(token)
        if found is None:
            return {"success": False, "error-codes": ["invalid-input-response"]}
        key = fields.get("idempotency_key")
        if found["spent_by"] is not None:
            if key and found["spent_by"] == key:
                return found["answer"]
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        if time.monotonic() - found["issued"] > TOKEN_LIFETIME_S:
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        answer = {"success": True, "error-codes": [], "hostname": found["hostname"], "action": found["action"],
                  "cdata": "", "challenge_ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        found["spent_by"], found["answer"] = key or "-", answer
        return answer
