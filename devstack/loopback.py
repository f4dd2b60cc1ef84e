"""What the loopback fakes of third parties (Mercado Pago, Stripe, WHM, WhatsApp) share: a threaded HTTP server
that answers from a callback, and small helpers for the answers (JSON, HTML pages a person can click, redirects).

An answer is either (status, JSON body) — what the API fakes return — or (status, headers, body bytes), for an
HTML page, a redirect (Location) or JSON with extra headers. GET and POST reach the callback; PUT, PATCH and
DELETE answer 405 (JSON) without it. An exception in the callback answers 500 (JSON) instead of a dropped
connection.

Every fake can also be made to fail, for the fault suite (tests/integration/test_faults.py): ``inject`` makes the
next calls answer a 5xx without doing anything, hang without answering (the client's timeout ends the call), or do
what was asked and answer only after the client has given up ("late": the provider acted, the caller cannot know).
"""

import html
import json
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from devstack.aws import SHUTDOWN_POLL_S

JsonAnswer = tuple[int, dict]
RawAnswer = tuple[int, dict[str, str], bytes]
# (method, path with query, headers, body) -> (status, JSON body) | (status, headers, body bytes)
Answer = Callable[[str, str, dict[str, str], bytes], JsonAnswer | RawAnswer]


def json_answer(status: int, payload: dict, headers: dict[str, str] | None = None) -> RawAnswer:
    """JSON with headers of its own (an API's answer that also sets, say, Idempotent-Replayed)."""
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def html_answer(status: int, title: str, body_html: str) -> RawAnswer:
    """A small Spanish page; `body_html` is already escaped (see `escape`)."""
    page = f"""<!doctype html>
<html lang="es-AR">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ width: 100%; border-collapse: collapse; margin: 1rem 0; }}
td, th {{ padding: .4rem; border-bottom: 1px solid #ddd; text-align: left; }}
td.amount, th.amount {{ text-align: right; white-space: nowrap; }}
button {{ font-size: 1.1rem; padding: .6rem 2rem; cursor: pointer; }}
.note {{ color: #666; font-size: .9rem; }}
.error {{ color: #a00; }}
</style></head>
<body>
<h1>{escape(title)}</h1>
{body_html}
</body></html>
"""
    return status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, page.encode()


def redirect_answer(location: str, status: int = 303) -> RawAnswer:
    return status, {"Location": location, "Content-Length": "0"}, b""


def escape(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def es_ar_number(value: Decimal | int | float, decimals: int = 2) -> str:
    """1234.5 -> "1.234,50" (Argentine grouping and decimal comma)."""
    text = f"{Decimal(str(value)):,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


@dataclass
class ProviderFault:
    """The next ``times`` calls (whose path contains ``path``) fail: ``status`` (answer ``http_status`` without
    doing anything), ``stall`` (no answer for ``seconds``, then the connection closes) or ``late`` (do it, answer
    after ``seconds``)."""

    kind: str
    times: int = 1
    http_status: int = 503
    seconds: float = 0.0
    path: str = ""
    injected: int = 0


class LoopbackJsonServer:
    def __init__(self, name: str, answer: Answer, host: str = "127.0.0.1", port: int = 0):
        faults: list[ProviderFault] = []
        faults_lock = threading.Lock()
        self.faults, self._faults_lock = faults, faults_lock

        def take_fault(path: str) -> ProviderFault | None:
            with faults_lock:
                fault = next((f for f in faults if f.injected < f.times and f.path in path), None)
                if fault is not None:
                    fault.injected += 1
                return fault

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = take_fault(self.path)
                if fault is not None and fault.kind == "stall":
                    time.sleep(fault.seconds)
                    self.close_connection = True
                    return
                if fault is not None and fault.kind == "status":
                    data = json.dumps({"error": "unavailable", "message": "fault injected",
                                       "status": fault.http_status}).encode()
                    self._send(fault.http_status, {"Content-Type": "application/json"}, data)
                    return
                try:
                    answered = answer(self.command, self.path, dict(self.headers.items()), body)
                    if len(answered) == 2:
                        status, payload = answered
                        headers, data = {"Content-Type": "application/json"}, json.dumps(payload).encode()
                    else:
                        status, headers, data = answered
                        data = data.encode() if isinstance(data, str) else bytes(data)
                except Exception as error:  # a fake's bug answers 500, as a broken provider would
                    status, headers = 500, {"Content-Type": "application/json"}
                    data = json.dumps({"error": "internal_error", "message": f"{type(error).__name__}: {error}",
                                       "status": 500}).encode()
                if fault is not None and fault.kind == "late":
                    time.sleep(fault.seconds)
                try:
                    self._send(status, headers, data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away

            def _not_allowed(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                data = json.dumps({"error": "method_not_allowed", "message": f"{self.command} not allowed",
                                   "status": 405}).encode()
                self._send(405, {"Content-Type": "application/json", "Allow": "GET, POST, PUT"}, data)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 (http.server's naming)
            do_PATCH = do_DELETE = _not_allowed  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                                        name=name, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


class LoopbackFake:
    """What every loopback fake shares: its server (``self._server``, made by the fake), its address, start
    and stop."""

    _server: LoopbackJsonServer

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def inject(self, kind: str, *, times: int = 1, http_status: int = 503, seconds: float = 0.0,
               path: str = "") -> ProviderFault:
        """The next ``times`` calls fail as ``kind`` says (ProviderFault); returns it, to count what was injected."""
        fault = ProviderFault(kind, times, http_status, seconds, path)
        with self._server._faults_lock:
            self._server.faults.append(fault)
        return fault

    def stop(self) -> None:
        self._server.stop()


def delivery_outcome(send: Callable[[], int]) -> tuple[int | None, str | None]:
    """(HTTP status, error) of a fake's outgoing call (a provider notifying our webhook): recorded, never raised,
    so a page that sends it still answers."""
    try:
        return send(), None
    except urllib.error.HTTPError as error:
        return error.code, f"respondió {error.code}"
    except (OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"
