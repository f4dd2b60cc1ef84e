"""A loopback stand-in for WHM's JSON API v1 (cPanel's server admin API), for `make dev` and the tests.

Answers createacct, accountsummary, passwd, suspendacct, unsuspendacct, removeacct and changepackage
with WHM's envelope ({"metadata": {"result": 1|0, "reason": ...}, "data": ...}) and checks the
`Authorization: whm <user>:<token>` header. `fail_next(n)` makes the next n calls fail, as a busy or
broken server would.
"""

import threading
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import LoopbackJsonServer


class FakeWhm:
    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.accounts: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self._failures = 0
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer("fake-whm", self._answer, host, port)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        parts = urlsplit(path)
        # WHM takes the same parameters in the query string (GET) or as a form (POST).
        query = body.decode() if method == "POST" else parts.query
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if headers.get("Authorization") != f"whm root:{self.token}":
            return 403, {"metadata": {"result": 0, "reason": "Access denied"}}
        return self.handle(parts.path.removeprefix("/json-api/"), params)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> "FakeWhm":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

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
