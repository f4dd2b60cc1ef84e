"""Tawk.to, on loopback: what its webhook sends when a chat ends (``chat:transcript_created``), signed as
Tawk.to signs it — X-Tawk-Signature, the hex HMAC-SHA1 of the raw body with the webhook's secret key — with an
X-Hook-Event-Id that stays the same when it delivers the event again (it retries for 12 hours).

``POST <fake>/transcripts`` with ``{"name", "email", "lines": [["v" | "a", "text"], ...]}`` ends a chat now
(make dev routes ``POST /local/chats`` here); ``POST <fake>/transcripts/<event id>/redeliver`` sends an event
again, as a retry would. What each delivery answered is kept in ``deliveries``.
"""

import hashlib
import hmac
import itertools
import json
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from devstack.loopback import LoopbackFake, LoopbackJsonServer, delivery_outcome


class FakeTawkTo(LoopbackFake):
    def __init__(self, secret: str, webhook_url: str = "", host: str = "127.0.0.1", port: int = 0):
        self.secret, self.webhook_url = secret, webhook_url
        self.sent: dict[str, bytes] = {}  # event id -> the body sent
        self.deliveries: list[dict] = []
        self._chats = itertools.count(1)
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer("fake-tawkto", self._answer, host, port)

    def transcript(self, name: str, email: str, lines: list[tuple[str, str]], agent: str = "Soporte",
                   started: datetime | None = None) -> dict:
        started = started or datetime.now(UTC)
        chat_id = f"{uuid.uuid4()}"
        messages = []
        for n, (who, text) in enumerate(lines):
            sender = {"t": who, **({"n": agent} if who == "a" else {})}
            at = (started + timedelta(minutes=2 * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            messages.append({"sender": sender, "type": "msg", "msg": text, "time": at})
        return {"event": "chat:transcript_created", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "property": {"id": "58ca8453b8a7e060cd3b1ecb", "name": "Paneldecliente"},
                "chat": {"id": chat_id, "visitor": {"name": name, "email": email, "city": "buenos aires",
                                                     "country": "AR"}, "messages": messages}}

    def end_chat(self, payload: dict) -> tuple[str, int | None, str | None]:
        event_id = str(uuid.uuid4())
        body = json.dumps(payload).encode()
        with self._lock:
            self.sent[event_id] = body
        return (event_id, *self.deliver(event_id))

    def deliver(self, event_id: str) -> tuple[int | None, str | None]:
        body = self.sent[event_id]
        signature = hmac.new(self.secret.encode(), body, hashlib.sha1).hexdigest()

        def post() -> int:
            request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers={
                "Content-Type": "application/json", "X-Tawk-Signature": signature, "X-Hook-Event-Id": event_id})
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own loopback API)
                return response.status

        status, error = delivery_outcome(post)
        with self._lock:
            self.deliveries.append({"event_id": event_id, "status": status, "error": error})
        return status, error

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        parts = urlsplit(path).path.strip("/").split("/")
        if method == "POST" and parts == ["transcripts"]:
            try:
                data = json.loads(body or b"{}")
                lines = [(str(who), str(text)) for who, text in data["lines"]]
            except (ValueError, KeyError, TypeError):
                return 400, {"error": "send {\"name\", \"email\", \"lines\": [[\"v\", \"Hola\"], [\"a\", \"...\"]]}"}
            event_id, status, error = self.end_chat(self.transcript(str(data.get("name") or "Visitante"),
                                                                    str(data.get("email") or ""), lines))
            return 200, {"event_id": event_id, "webhook_status": status, "error": error}
        if method == "POST" and len(parts) == 3 and parts[0] == "transcripts" and parts[2] == "redeliver":
            if parts[1] not in self.sent:
                return 404, {"error": "unknown event"}
            status, error = self.deliver(parts[1])
            return 200, {"event_id": parts[1], "webhook_status": status, "error": error}
        return 404, {"error": "not found"}
