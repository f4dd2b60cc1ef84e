"""A file someone sent to our WhatsApp number, fetched from the Cloud API: ``GET {graph}/{media-id}`` with the
access token answers ``{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}``; the ``url``
(valid for five minutes) is then fetched with the same token. (developers.facebook.com/docs/whatsapp/cloud-api/
reference/media#download-media)"""

import hashlib
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tickets.attachments import MAX_BYTES
from tickets.chat_apps import Media, MediaUnavailable

TIMEOUT_S = 10.0


class _Refused(urllib.request.HTTPRedirectHandler):
    """The token goes to the URL Meta named and nowhere else: urllib would carry the header along a redirect."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Refused)


def _same_origin(url: str, base: str) -> bool:
    """Plain http only to the configured Graph host itself (a loopback fake locally)."""
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


class WhatsAppMedia:
    def __init__(self, graph_url: str, access_token: str):
        self._graph, self._token = graph_url.rstrip("/"), access_token

    def __call__(self, media: dict[str, Any]) -> Media:
        media_id = str(media.get("id") or "")
        if not media_id.isdigit() or not self._token:
            raise MediaUnavailable("sin id de archivo" if self._token else "la API de WhatsApp no está configurada")
        try:
            described = json.loads(self._get(f"{self._graph}/{media_id}", 64 * 1024) or b"{}")
        except ValueError:
            described = None
        if not isinstance(described, dict):
            raise MediaUnavailable("WhatsApp no describió el archivo")
        url, size = described.get("url"), described.get("file_size")
        if not isinstance(url, str) or not (url.startswith("https://") or _same_origin(url, self._graph)):
            raise MediaUnavailable("WhatsApp no dio la dirección del archivo")
        if isinstance(size, int) and size > MAX_BYTES:
            raise MediaUnavailable(f"pesa {size // (1024 * 1024)} MB, más que el máximo del panel")
        content = self._get(url, MAX_BYTES)
        expected = described.get("sha256")
        if isinstance(expected, str) and expected and hashlib.sha256(content).hexdigest() != expected.lower():
            raise MediaUnavailable("el archivo llegó incompleto")
        content_type = str(described.get("mime_type") or media.get("mime_type") or "application/octet-stream")
        return Media(content, content_type, media.get("filename"))

    def _get(self, url: str, max_bytes: int) -> bytes:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._token}"})
        try:
            with _NO_REDIRECTS.open(request, timeout=TIMEOUT_S) as response:
                content = response.read(max_bytes + 1)
        except urllib.error.HTTPError as error:
            raise MediaUnavailable(f"WhatsApp respondió {error.code}") from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise MediaUnavailable(f"sin conexión con WhatsApp ({type(error).__name__})") from None
        if len(content) > max_bytes:
            raise MediaUnavailable("supera el máximo del panel")
        return content
