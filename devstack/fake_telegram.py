"""A loopback stand-in for Telegram's Bot API, for `make dev`, the tests and the bench.

The bot's side answers as api.telegram.org does: ``POST /bot<token>/<method>`` with a JSON body, ``{"ok": true,
"result": …}`` or ``{"ok": false, "error_code", "description", "parameters"?: {"retry_after"}}``; a wrong token
answers 401 Unauthorized. It knows sendMessage (recorded in ``sent``; a chat in ``blocked`` answers 403 "Forbidden:
bot was blocked by the user"), setWebhook/getWebhookInfo/deleteWebhook, getMe, getFile and ``GET
/file/bot<token>/<file_path>``. ``fail_next(code, description, retry_after)`` makes the next calls fail.

The people's side: ``write(user_id, text, …)`` sends the update Telegram would send for a private message to the
webhook set with setWebhook, with its secret token in X-Telegram-Bot-Api-Secret-Token; ``photo``/``document``
attach a file the bot can then getFile; ``redeliver(update_id)`` sends one again, as Telegram's retries do.
"""

import itertools
import json
import threading
import time
import urllib.request
from urllib.parse import unquote, urlsplit

from devstack.loopback import LoopbackFake, LoopbackJsonServer, delivery_outcome


class FakeTelegram(LoopbackFake):
    def __init__(self, token: str, username: str = "PaneldeclienteBot", host: str = "127.0.0.1", port: int = 0):
        self.token, self.username = token, username
        self.webhook_url, self.secret_token, self.allowed_updates = "", "", None
        self.sent: list[dict] = []  # what the bot sent: chat_id, text, message_id
        self.blocked: set[int] = set()
        self.updates: dict[int, bytes] = {}  # update id -> the body sent
        self.deliveries: list[dict] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file id -> (file path, content)
        self._errors: list[tuple[int, str, int | None]] = []
        self.refused: list[tuple[str, int]] = []  # (method, error code) of each call answered with fail_next's error
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(700000001)
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer("fake-telegram", self._answer, host, port)

    def fail_next(self, code: int, description: str, times: int = 1, retry_after: int | None = None) -> None:
        with self._lock:
            self._errors.extend([(code, description, retry_after)] * times)

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self._errors.clear()
            self.blocked.clear()

    # --- the people's side ----------------------------------------------------------------------------

    def add_file(self, content: bytes, extension: str) -> str:
        with self._lock:
            number = next(self._ids)
        file_id = f"AgACAgFAKE{number:06d}"
        self.files[file_id] = (f"{'photos' if extension == 'jpg' else 'documents'}/file_{number}.{extension}", content)
        return file_id

    def write(self, user_id: int, text: str | None, first_name: str = "Cliente", username: str | None = None, *,
              photo: bytes | None = None, document: tuple[str, str, bytes] | None = None,
              ) -> tuple[int, int | None, str | None]:
        """A person's private message to the bot: (update id, the webhook's HTTP status, error)."""
        update_id, _ = self.compose(user_id, text, first_name, username, photo=photo, document=document)
        return (update_id, *self.redeliver(update_id))

    def compose(self, user_id: int, text: str | None, first_name: str = "Cliente", username: str | None = None, *,
                photo: bytes | None = None, document: tuple[str, str, bytes] | None = None) -> tuple[int, bytes]:
        """The update Telegram would send for a person's private message (kept for redelivery), unsent."""
        update_id = next(self._update_ids)
        sender = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "es",
                  **({"username": username} if username else {})}
        message: dict = {"message_id": next(self._ids), "from": sender, "date": int(time.time()),
                         "chat": {"id": user_id, "type": "private", "first_name": first_name}}
        if photo is not None:
            file_id = self.add_file(photo, "jpg")
            message["photo"] = [{"file_id": file_id + "s", "file_unique_id": "s", "width": 90, "height": 90,
                                 "file_size": 1000},
                                {"file_id": file_id, "file_unique_id": file_id[-8:], "width": 800, "height": 600,
                                 "file_size": len(photo)}]
        if document is not None:
            name, mime, content = document
            message["document"] = {"file_name": name, "mime_type": mime, "file_id": self.add_file(
                content, name.rsplit(".", 1)[-1]), "file_unique_id": f"u{len(self.files)}", "file_size": len(content)}
        if text is not None:
            message["caption" if photo is not None or document is not None else "text"] = text
        body = json.dumps({"update_id": update_id, "message": message}).encode()
        with self._lock:
            self.updates[update_id] = body
        return update_id, body

    def redeliver(self, update_id: int) -> tuple[int | None, str | None]:
        body = self.updates[update_id]

        def post() -> int:
            request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers={
                "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": self.secret_token})
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own loopback API)
                return response.status

        status, error = delivery_outcome(post) if self.webhook_url else (None, "no webhook set (setWebhook)")
        with self._lock:
            self.deliveries.append({"update_id": update_id, "status": status, "error": error})
        return status, error

    # --- the Bot API ----------------------------------------------------------------------------------

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes):
        path = urlsplit(path).path
        file_prefix = f"/file/bot{self.token}/"
        if method == "GET" and path.startswith(file_prefix):
            wanted = unquote(path[len(file_prefix):])
            found = next((content for file_path, content in self.files.values() if file_path == wanted), None)
            if found is None:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            return 200, {"Content-Type": "application/octet-stream"}, found
        prefix, _, bot_method = path.lstrip("/").partition("/")
        if prefix != f"bot{self.token}":
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"}
        with self._lock:
            if self._errors:
                code, description, retry_after = self._errors.pop(0)
                self.refused.append((bot_method, code))
                return code, {"ok": False, "error_code": code, "description": description,
                              **({"parameters": {"retry_after": retry_after}} if retry_after else {})}
            return self._method(bot_method, params)

    def _method(self, name: str, params: dict):
        if name == "getMe":
            return 200, {"ok": True, "result": {"id": 7000000001, "is_bot": True, "first_name": "Paneldecliente",
                                                "username": self.username}}
        if name == "setWebhook":
            self.webhook_url, self.secret_token = str(params.get("url") or ""), str(params.get("secret_token") or "")
            self.allowed_updates = params.get("allowed_updates")
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if name == "deleteWebhook":
            self.webhook_url = ""
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if name == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": self.webhook_url, "has_custom_certificate": False,
                                                "pending_update_count": 0, "allowed_updates": self.allowed_updates}}
        if name == "getFile":
            found = self.files.get(str(params.get("file_id") or ""))
            if found is None:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            return 200, {"ok": True, "result": {"file_id": params["file_id"], "file_unique_id": "u",
                                                "file_size": len(found[1]), "file_path": found[0]}}
        if name == "sendMessage":
            chat_id, text = params.get("chat_id"), params.get("text")
            if not isinstance(chat_id, int) or not isinstance(text, str) or not text.strip():
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            if len(text) > 4096:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
            if chat_id in self.blocked:
                return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            message_id = next(self._ids)
            self.sent.append({"chat_id": chat_id, "text": text, "message_id": message_id})
            return 200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()), "text": text,
                                                "chat": {"id": chat_id, "type": "private"},
                                                "from": {"id": 7000000001, "is_bot": True, "username": self.username}}}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
