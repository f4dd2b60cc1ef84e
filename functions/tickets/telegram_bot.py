"""Telegram's Bot API (core.telegram.org/bots/api): the bot's webhook updates, its secret, and the calls we make.

Every call is ``POST {base}/bot<token>/<method>`` with a JSON body; the answer is ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user", "parameters":
{"retry_after": 5}}``. A file is fetched in two steps: ``getFile`` gives its ``file_path``, then ``GET
{base}/file/bot<token>/<file_path>`` (files up to 20 MB).

The webhook is set once per deploy (tools/telegram_webhook.py: ``setWebhook`` with our URL, a ``secret_token``
and ``allowed_updates: ["message"]``); Telegram then sends that secret in ``X-Telegram-Bot-Api-Secret-Token``
with every update, and retries an update until it gets a 2xx.
"""

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared import config
from shared.aws import json_secret
from shared.clock import to_storage
from shared.secret_compare import same_secret

MAX_TEXT = 4096  # Telegram's limit for one message's text
MAX_FILE_BYTES = 20 * 1024 * 1024  # what getFile serves
OTHER_MEDIA = ("voice", "audio", "video", "video_note", "sticker", "animation")  # named, never fetched


class BotApiFailed(Exception):
    """The call did not do what was asked, or may have. ``kind``: throttled | transient | not_configured (the
    token is refused or missing) | blocked (the person blocked the bot, or deleted their account) |
    permanent (another 4xx: asking again fails the same way) | unknown (the request reached Telegram but its
    answer was lost: a message may have been sent, so it is never sent again)."""

    def __init__(self, kind: str, code: int | None, reason: str, retry_after: int | None = None):
        super().__init__(f"{kind} ({code}): {reason}")
        self.kind, self.code, self.reason, self.retry_after = kind, code, reason, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in ("throttled", "transient", "not_configured")


def classify(error_code: int | None, description: str) -> str:
    if error_code == 429:
        return "throttled"
    if error_code in (401, 404):  # a wrong token answers 401 Unauthorized (or 404 Not Found for a bad path)
        return "not_configured"
    if error_code == 403:  # "bot was blocked by the user", "user is deactivated", "bot can't initiate…"
        return "blocked"
    if error_code is None or error_code >= 500:
        return "transient"
    return "permanent"


@dataclass(frozen=True)
class Media:
    kind: str  # photo | document
    file_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int | None


class BotApi:
    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0):
        if not token:
            raise BotApiFailed("not_configured", None, "el token del bot no está configurado")
        self._base, self._token, self._timeout = base_url.rstrip("/"), token, timeout_s

    def send_message(self, chat_id: str, text: str) -> str:
        """The sent message's id."""
        result = self.call("sendMessage", {"chat_id": int(chat_id), "text": text[:MAX_TEXT],
                                           "link_preview_options": {"is_disabled": True}})
        if not isinstance(result, dict) or "message_id" not in result:
            raise BotApiFailed("unknown", None, "Telegram respondió sin id de mensaje")
        return str(result["message_id"])

    def set_webhook(self, url: str, secret_token: str) -> bool:
        return bool(self.call("setWebhook", {"url": url, "secret_token": secret_token,
                                             "allowed_updates": ["message"], "max_connections": 40}))

    def download(self, file_id: str, max_bytes: int) -> bytes:
        """A file someone sent the bot, at most ``max_bytes`` (BotApiFailed ``permanent`` when larger)."""
        found = self.call("getFile", {"file_id": file_id})
        path = found.get("file_path") if isinstance(found, dict) else None
        size = found.get("file_size") if isinstance(found, dict) else None
        if not isinstance(path, str) or not path:
            raise BotApiFailed("permanent", None, "Telegram no dio la ruta del archivo")
        if isinstance(size, int) and size > max_bytes:
            raise BotApiFailed("permanent", None, f"el archivo pesa {size} bytes")
        url = f"{self._base}/file/bot{self._token}/{urllib.request.quote(path)}"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:  # noqa: S310 (configured host)
                content = response.read(max_bytes + 1)
        except urllib.error.HTTPError as error:
            raise BotApiFailed(classify(error.code, ""), error.code, f"HTTP {error.code} al bajar el archivo") from None
        except (OSError, http.client.HTTPException) as error:
            raise BotApiFailed("transient", None, f"sin conexión al bajar el archivo: {error}"[:300]) from None
        if len(content) > max_bytes:
            raise BotApiFailed("permanent", None, "el archivo supera el máximo")
        return content

    def call(self, method: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"{self._base}/bot{self._token}/{method}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured host)
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise _failure(error.code, error.read()) from None
        except urllib.error.URLError as error:
            # urllib wraps only what fails while connecting and writing the request: nothing reached Telegram.
            raise BotApiFailed("transient", None, f"sin conexión con Telegram: {error.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise BotApiFailed("unknown", None, f"respuesta perdida ({type(error).__name__})") from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise _failure(200, json.dumps(answer).encode())
        return answer.get("result")


def _failure(http_status: int, raw: bytes) -> BotApiFailed:
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    code = answer.get("error_code") if isinstance(answer.get("error_code"), int) else http_status
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after") if isinstance(parameters.get("retry_after"), int) else None
    description = str(answer.get("description") or f"HTTP {http_status}")[:300]
    return BotApiFailed(classify(code, description), code, description, retry_after)


class TelegramFiles:
    """A file someone sent the bot, as the tickets keep it (tickets.chat_apps.MediaShelf's fetch)."""

    def __init__(self, bot: "BotApi"):
        self._bot = bot

    def __call__(self, media: dict[str, Any]):
        from tickets.attachments import MAX_BYTES
        from tickets.chat_apps import Media, MediaUnavailable

        try:
            content = self._bot.download(str(media.get("file_id") or ""), MAX_BYTES)
        except BotApiFailed as failure:
            raise MediaUnavailable(failure.reason) from None
        return Media(content, str(media.get("mime_type") or "application/octet-stream"), media.get("file_name"))


def telegram_secrets() -> dict[str, str]:
    """The bot's token and the webhook's secret, from one Secrets Manager secret (JSON), cached for five minutes
    so that a rotation takes effect without a deploy. Never logged."""
    values = json_secret(config.TELEGRAM_SECRETS_ID)
    return {field: str(values.get(field, "")) for field in ("bot_token", "webhook_secret")}


def valid_secret(header: str | None, expected: str) -> bool:
    """X-Telegram-Bot-Api-Secret-Token: the secret_token given to setWebhook (1–256 of A-Z a-z 0-9 _ -). An
    empty configured secret accepts nothing."""
    return bool(expected) and bool(header) and same_secret(expected, header)


def message_of(update: Any) -> dict[str, Any] | None:
    """What a person wrote to the bot in a private chat, as the tickets capability files it; None for anything
    else (edits, groups, channels, other bots, malformed updates): acknowledged, never an error."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender, chat = message.get("from"), message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    if sender.get("is_bot") is True or not isinstance(sender.get("id"), int) or not isinstance(chat.get("id"), int):
        return None
    text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
    name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip()
    try:
        sent_at = to_storage(datetime.fromtimestamp(int(message.get("date") or 0), UTC))
    except (ValueError, OverflowError, OSError, TypeError):
        sent_at = None
    return {"update_id": update["update_id"], "message_id": message.get("message_id"), "user_id": str(sender["id"]),
            "chat_id": str(chat["id"]), "name": name[:120], "username": str(sender.get("username") or "")[:64] or None,
            "text": str(text or "")[:MAX_TEXT], "sent_at": sent_at, "media": _media(message),
            "other_media": next((kind for kind in OTHER_MEDIA if isinstance(message.get(kind), dict)), None)}


def _media(message: dict[str, Any]) -> dict[str, Any] | None:
    photo, document = message.get("photo"), message.get("document")
    if isinstance(photo, list) and photo and all(isinstance(p, dict) for p in photo):
        largest = photo[-1]  # Telegram lists a photo's sizes smallest first
        found = Media("photo", str(largest.get("file_id") or ""), None, "image/jpeg", _int(largest.get("file_size")))
    elif isinstance(document, dict):
        found = Media("document", str(document.get("file_id") or ""),
                      str(document.get("file_name") or "")[:200] or None,
                      str(document.get("mime_type") or "")[:100] or None, _int(document.get("file_size")))
    else:
        return None
    if not found.file_id:
        return None
    return {"kind": found.kind, "file_id": found.file_id[:300], "file_name": found.file_name,
            "mime_type": found.mime_type, "file_size": found.file_size}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
