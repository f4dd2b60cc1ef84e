"""A loopback stand-in for WHM's JSON API v1 (cPanel's server admin API), for `make dev` and the tests.

Answers createacct, accountsummary, passwd, suspendacct, unsuspendacct, removeacct and changepackage
with WHM's envelope ({"metadata": {"result": 1|0, "reason": ...}, "data": ...}) and checks the
`Authorization: whm <user>:<token>` header. `fail_next(n)` makes the next n calls fail, as a busy or
broken server would.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeWhm:
    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.accounts: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self._failures = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                self._serve(urlsplit(self.path).query)

            def do_POST(self):  # noqa: N802 (WHM takes the same parameters as a form)
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length).decode())

            def _serve(self, query: str):
                function = urlsplit(self.path).path.removeprefix("/json-api/")
                params = {k: v[-1] for k, v in parse_qs(query).items()}
                if self.headers.get("Authorization") != f"whm root:{fake.token}":
                    return self._send(403, {"metadata": {"result": 0, "reason": "Access denied"}})
                status, body = fake.handle(function, params)
                return self._send(status, body)

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-whm", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeWhm":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def fail_next(self, times: int) -> None:
        with self._lock:
            self._failures = times

    def handle(self, function: str, params: dict) -> tuple[int, dict]:
        with self._lock:
            self.calls.append((function, params))
            if self._failures:
                self._failures -= 1
                return 200, {"metadata": {"result": 0, "reason": "Temporary failure: the server is busy"}}
            user = params.get("user") or params.get("username")
            if function == "createacct":
                if user in self.accounts:
                    return 200, _fail(f"Sorry, a user with the name {user} already exists")
                self.accounts[user] = {"domain": params.get("domain"), "plan": params.get("plan"), "suspended": False}
                return 200, {"metadata": {"result": 1, "reason": "Account Creation Ok"}, "data": {}}
            if user not in self.accounts:
                return 200, _fail(f"User {user} does not exist")
            account = self.accounts[user]
            if function == "accountsummary":
                return 200, {"metadata": {"result": 1, "reason": "OK"}, "data": {"acct": [account]}}
            if function in ("suspendacct", "unsuspendacct"):
                account["suspended"] = function == "suspendacct"
            elif function == "removeacct":
                del self.accounts[user]
            elif function == "changepackage":
                account["plan"] = params.get("pkg")
            elif function != "passwd":
                return 200, _fail(f"Unknown function {function}")
            return 200, {"metadata": {"result": 1, "reason": "OK"}, "data": {}}


def _fail(reason: str) -> dict:
    return {"metadata": {"result": 0, "reason": reason}}
