"""A loopback stand-in for the WhatsApp Cloud API (Meta Graph API), for `make dev`, the tests and the bench.

POST /<version>/<phone-number-id>/messages with `Authorization: Bearer <token>` answers as Meta does:
{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid…"}]}, or an error
envelope {"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}. It records what
was "sent". `fail_next(code, times)` makes the next calls fail with a Graph error code; numbers in
`registered_without_nine` answer 131030 to their 549… form, like Argentine accounts registered as 54….
"""

import hashlib
import itertools
import json
import threading
from urllib.parse import urlsplit

from devstack.loopback import LoopbackFake, LoopbackJsonServer

THROTTLING = {4, 80007, 130429, 131056}
SERVER_SIDE = {1, 2, 131000, 131016}


def http_status_for(code: int) -> int:
    if code == 190:
        return 401
    if code in THROTTLING:
        return 429
    return 500 if code in SERVER_SIDE else 400


class FakeWhatsApp(LoopbackFake):
    def __init__(self, token: str, phone_number_id: str, host: str = "127.0.0.1", port: int = 0):
        self.token, self.phone_number_id = token, phone_number_id
        self.sent: list[dict] = []  # what went out: to, template, language, parameters, id
        self.attempts = 0
        self.registered_without_nine: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (content, mime type): what people sent us
        self._errors: list[tuple[int, int]] = []  # (code, http status) for the next calls
        self._answers: list[tuple[int, dict]] = []  # raw answers for the next calls (after recording them)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer("fake-whatsapp", self._answer, host, port)

    @property
    def url(self) -> str:
        """The API base, with its version (what WHATSAPP_API_URL holds)."""
        return f"{self._server.url}/v21.0"

    def fail_next(self, code: int, times: int = 1, http_status: int | None = None) -> None:
        with self._lock:
            self._errors.extend([(code, http_status or http_status_for(code))] * times)

    def answer_next(self, status: int, payload: dict) -> None:
        """Accept the next message but answer this instead (a garbled or truncated answer)."""
        with self._lock:
            self._answers.append((status, payload))

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self._errors.clear()
            self.attempts = 0

    def add_media(self, content: bytes, mime_type: str) -> str:
        """A file a person sent (an image, a document): its media id, as a message's ``image.id`` names it."""
        with self._lock:
            media_id = f"{next(self._ids) + 900000000000000}"
            self.media[media_id] = (content, mime_type)
        return media_id

    def _media(self, path: str, headers: dict[str, str]):
        """``GET /<version>/<media-id>`` describes a file (its URL, valid five minutes); ``GET /media/<id>`` is
        the file itself. Both want the access token."""
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, _error(190, "Error validating access token: Session has expired.", "OAuthException")
        media_id = path.rstrip("/").rsplit("/", 1)[-1]
        if media_id not in self.media:
            return 404, _error(100, "Unsupported get request. Object does not exist.", "GraphMethodException")
        content, mime_type = self.media[media_id]
        if path.startswith("/media/"):
            return 200, {"Content-Type": mime_type}, content
        return 200, {"messaging_product": "whatsapp", "url": f"{self._server.url}/media/{media_id}",
                     "mime_type": mime_type, "sha256": hashlib.sha256(content).hexdigest(),
                     "file_size": len(content), "id": media_id}

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes):
        if method == "GET":
            return self._media(urlsplit(path).path, headers)
        with self._lock:
            self.attempts += 1
            if method != "POST" or urlsplit(path).path.rstrip("/") != f"/v21.0/{self.phone_number_id}/messages":
                return 400, _error(100, "Unsupported post request. Object does not exist.", "GraphMethodException")
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 401, _error(190, "Error validating access token: Session has expired.", "OAuthException")
            if self._errors:
                code, status = self._errors.pop(0)
                return status, _error(code, f"Simulated error {code}")
            try:
                message = json.loads(body)
                to = str(message["to"])
                if message.get("type") == "text":  # a free-form message (inside the 24-hour window)
                    text, template, parameters = str(message["text"]["body"]), None, []
                else:
                    text, template = None, message["template"]
                    parameters = [p["text"] for p in template["components"][0]["parameters"]]
            except (ValueError, KeyError, IndexError, TypeError):
                return 400, _error(100, "Invalid parameter")
            if to in self.registered_without_nine:
                return 400, _error(131030, "Recipient phone number not in allowed list")
            message_id = f"wamid.FAKE{next(self._ids):010d}"
            self.sent.append({"id": message_id, "to": to, "template": template["name"] if template else None,
                              "language": template["language"]["code"] if template else None,
                              "parameters": parameters, "text": text})
            if self._answers:
                return self._answers.pop(0)
            return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                         "messages": [{"id": message_id}]}


def _error(code: int, message: str, kind: str = "OAuthException") -> dict:
    return {"error": {"message": message, "type": kind, "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": message}, "fbtrace_id": "AFakeTrace"}}


def incoming_message(sender: str, text: str, name: str, phone_number_id: str, wamid: str, at: int,
                     media: tuple[str, str, str] | None = None) -> dict:
    """The webhook notification Meta sends when a person writes to the business number (``messages[]``);
    ``media`` (kind, media id, mime type): an image or document, with ``text`` as its caption."""
    message: dict = {"from": sender, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": text}}
    if media is not None:
        kind, media_id, mime_type = media
        message = {"from": sender, "id": wamid, "timestamp": str(at), "type": kind,
                   kind: {"id": media_id, "mime_type": mime_type, **({"caption": text} if text else {})}}
    return {"object": "whatsapp_business_account", "entry": [{"id": "LOCAL-WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491140000000", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
            "messages": [message],
        }}]}]}
