"""A loopback stand-in for WHM's JSON API v1 (cPanel's server admin API), for `make dev` and the tests.

Answers createacct, accountsummary, listaccts, passwd, suspendacct, unsuspendacct, removeacct,
changepackage, backup_date_list and backup_user_list with WHM's envelope
({"metadata": {"result": 1|0, "reason": ...}, "data": ...}) and checks the
`Authorization: whm <user>:<token>` header. `fail_next(n)` makes the next n calls fail, as a busy or
broken server would.

Backups: createacct records one dated the day of creation and `add_backup(user, date)` adds more. They
outlive removeacct, as on a real server (removing an account leaves its backups), which is what a
retention period relies on. In backup_user_list an account still on the server is "active", one removed
is "inactive", and one on the server with no backup that day is "no_backup".
"""

import threading
from datetime import date
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import LoopbackFake, LoopbackJsonServer


class FakeWhm(LoopbackFake):
    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.accounts: dict[str, dict] = {}
        self.backups: dict[str, set[date]] = {}  # user -> dates of the backups that hold the account
        self.calls: list[tuple[str, dict]] = []
        self._failures, self._failure_status = 0, 200
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

    def fail_next(self, times: int, status: int = 200) -> None:
        """The next ``times`` calls fail: WHM's own failure envelope (200, result 0), or an HTTP ``status`` (5xx: a
        proxy in front of a server that is down)."""
        with self._lock:
            self._failures, self._failure_status = times, status

    def add_backup(self, user: str, day: date) -> None:
        with self._lock:
            self.backups.setdefault(user, set()).add(day)

    def calls_to(self, function: str, user: str | None = None) -> int:
        """How many times `function` was called (for `user`, if given): e.g. removeacct runs once."""
        with self._lock:
            return sum(1 for name, params in self.calls
                       if name == function and user in (None, params.get("user") or params.get("username")))

    def handle(self, function: str, params: dict) -> tuple[int, dict]:
        with self._lock:
            self.calls.append((function, params))
            if self._failures:
                self._failures -= 1
                if self._failure_status >= 500:
                    return self._failure_status, {"error": "Service Unavailable"}
                return 200, {"metadata": {"result": 0, "reason": "Temporary failure: the server is busy"}}
            user = params.get("user") or params.get("username")
            if function == "createacct":
                if user in self.accounts:
                    return 200, _fail(f"Sorry, a user with the name {user} already exists")
                self.accounts[user] = {"domain": params.get("domain"), "plan": params.get("plan"), "suspended": False}
                self.backups.setdefault(user, set()).add(date.today())
                return 200, {"metadata": {"result": 1, "reason": "Account Creation Ok"}, "data": {}}
            if function == "listaccts":
                return self._listaccts(params)
            if function == "backup_date_list":
                days = sorted({day for days in self.backups.values() for day in days})
                return 200, _ok({"backup_set": [day.isoformat() for day in days]})
            if function == "backup_user_list":
                return self._backup_user_list(params.get("restore_point") or "")
            if user not in self.accounts:
                return 200, _fail(f"User {user} does not exist")
            account = self.accounts[user]
            if function == "accountsummary":
                return 200, {"metadata": {"result": 1, "reason": "OK"}, "data": {"acct": [account]}}
            if function in ("suspendacct", "unsuspendacct"):
                account["suspended"] = function == "suspendacct"
            elif function == "removeacct":
                del self.accounts[user]  # its backups stay
            elif function == "changepackage":
                account["plan"] = params.get("pkg")
            elif function != "passwd":
                return 200, _fail(f"Unknown function {function}")
            return 200, {"metadata": {"result": 1, "reason": "OK"}, "data": {}}

    def _listaccts(self, params: dict) -> tuple[int, dict]:
        # Only the search the client makes (by user name, exact); no search lists every account.
        search = params.get("search")
        if search is not None and (params.get("searchtype"), params.get("searchmethod")) != ("user", "exact"):
            return 200, _fail("The fake WHM only searches listaccts by exact user name")
        return 200, _ok({"acct": [{"user": name, **account} for name, account in sorted(self.accounts.items())
                                  if search is None or name == search]})

    def _backup_user_list(self, restore_point: str) -> tuple[int, dict]:
        try:
            day = date.fromisoformat(restore_point[:10])  # WHM takes YYYY-MM-DD (its schema shows ISO times)
        except ValueError:
            return 200, _fail(f"Invalid restore_point: {restore_point!r}")
        users = [{"username": name, "status": "active" if name in self.accounts else "inactive"}
                 for name, days in sorted(self.backups.items()) if day in days]
        users += [{"username": name, "status": "no_backup"} for name in sorted(self.accounts)
                  if day not in self.backups.get(name, set())]
        return 200, _ok({"user": users})


def _ok(data: dict) -> dict:
    return {"metadata": {"result": 1, "reason": "OK"}, "data": data}


def _fail(reason: str) -> dict:
    return {"metadata": {"result": 0, "reason": reason}}
