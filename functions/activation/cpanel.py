"""cPanel & WHM provisioning module, over WHM's JSON API v1 (https://api.docs.cpanel.net/whm/).

GET https://<host>:2087/json-api/<function>?api.version=1&… with `Authorization: whm <user>:<API token>`.
Every answer has metadata.result (1 ok, 0 failed) and metadata.reason.
"""

import json
import secrets
import string
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date


class ProvisioningError(Exception):
    """The module could not do it (the message says why, for staff); `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    domain: str


class WhmApi:
    def __init__(self, base_url: str, api_token: str, user: str = "root", timeout_s: float = 20.0):
        self._base = base_url.rstrip("/")
        self._auth = f"whm {user}:{api_token}"
        self._timeout = timeout_s

    @property
    def host(self) -> str | None:
        """The server's host name, recorded on the services it holds (plan changes check its flags)."""
        return urllib.parse.urlparse(self._base).hostname

    def call(self, function: str, **params: str) -> dict:
        # POSTed as a form: a password in a query string would land in the server's access log.
        form = urllib.parse.urlencode({"api.version": "1", **params}).encode()
        request = urllib.request.Request(f"{self._base}/json-api/{function}", data=form, method="POST",
                                         headers={"Authorization": self._auth,
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured host)
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ProvisioningError(f"WHM respondió HTTP {error.code} a {function}",
                                    permanent=error.code in (401, 403)) from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise ProvisioningError(f"WHM no respondió a {function}: {error}") from error
        metadata = answer.get("metadata") or {}
        if int(metadata.get("result", 0)) != 1:
            raise ProvisioningError(f"WHM {function}: {metadata.get('reason') or 'sin motivo'}")
        return answer.get("data") or {}

    def account_domain(self, username: str) -> str | None:
        """The main domain of an existing account, or None when there is no such account."""
        try:
            data = self.call("accountsummary", user=username)
        except ProvisioningError:
            return None
        accounts = data.get("acct") or [{}]
        return accounts[0].get("domain") or ""


def username_for(domain: str, service_id: str) -> str:
    """cPanel usernames: up to 16 lower-case letters/digits, starting with a letter; stable per service
    (so a retry finds the account it may already have created)."""
    letters = "".join(ch for ch in domain.split(".")[0].lower() if ch.isalnum())
    if not letters or not letters[0].isalpha():
        letters = "c" + letters
    return (letters[:10] + service_id[-6:].lower())[:16]


def new_password() -> str:
    alphabet = string.ascii_letters + string.digits + "!#%+-_"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def create(api: WhmApi, *, service_id: str, domain: str | None, plan: str, contact_email: str) -> Account:
    if not domain:
        raise ProvisioningError("El servicio no tiene dominio: cPanel lo necesita para crear la cuenta.",
                                permanent=True)
    username = username_for(domain, service_id)
    password = new_password()
    existing_domain = api.account_domain(username)
    if existing_domain is not None:
        if existing_domain != domain:
            raise ProvisioningError(f"Ya existe la cuenta {username} con otro dominio ({existing_domain}).",
                                    permanent=True)
        # A previous attempt created it and then failed to record it: set a known password and go on.
        api.call("passwd", user=username, password=password)
    else:
        api.call("createacct", username=username, domain=domain, plan=plan, password=password,
                 contactemail=contact_email)
    return Account(username=username, password=password, domain=domain)


def suspend(api: WhmApi, username: str, reason: str) -> None:
    api.call("suspendacct", user=username, reason=reason)


def unsuspend(api: WhmApi, username: str) -> None:
    api.call("unsuspendacct", user=username)


def account_exists(api: WhmApi, username: str) -> bool:
    """Whether the server holds this account; a failure to ask raises (unlike `account_domain`, which reads
    any error as "no account": that is harmless before createacct, but would make a termination during an
    outage look done)."""
    # listaccts answers result=1 with an empty list when nothing matches, so "absent" is told apart from
    # "WHM failed" without reading error messages, whose wording changes between versions.
    data = api.call("listaccts", searchtype="user", searchmethod="exact", search=username)
    return any(account.get("user") == username for account in data.get("acct") or [])


def terminate(api: WhmApi, username: str) -> None:
    """Remove the account; an account already gone counts as removed, so a redelivered command (or a retry
    after a removal whose answer was lost) ends instead of failing until it dead-letters, and removeacct
    runs at most once per account. Its backups stay on the server: WHM does not delete them with it."""
    if not account_exists(api, username):
        return
    try:
        api.call("removeacct", username=username)
    except ProvisioningError:
        # Removed meanwhile (another delivery, or this very call timing out after it worked): done. If WHM
        # cannot even be asked, the original error is the one staff need to see.
        try:
            gone = not account_exists(api, username)
        except ProvisioningError:
            gone = False
        if not gone:
            raise


def last_backup_on(api: WhmApi, username: str) -> date | None:
    """The date of the newest backup (on the server `api` reaches) that holds this account, or None when no
    backup does; WHM errors raise ProvisioningError. Works for removed accounts too: their backups remain.

    backup_date_list gives data.backup_set, the dates with a backup (local, or on remote destinations when
    local backups are off); backup_user_list(restore_point=<date>) gives data.user, one
    {username, status} per account in that date's set, status "active", "inactive" or "no_backup".
    """
    dates = set()
    for raw in api.call("backup_date_list").get("backup_set") or []:
        try:
            # Servers answer "YYYY-MM-DD"; the published schema shows "YYYY-MM-DDT00:00:00.000Z".
            dates.add(date.fromisoformat(str(raw)[:10]))
        except ValueError as error:
            # A misread date could hide the newest backup: better to stop than to answer wrongly.
            raise ProvisioningError(f"WHM backup_date_list: fecha ilegible {raw!r}") from error
    for day in sorted(dates, reverse=True):  # newest first: usually the first set asked holds the account
        users = api.call("backup_user_list", restore_point=day.isoformat()).get("user") or []
        # "no_backup" lists an account that this set has no backup of; "inactive" is one no longer on the
        # server (terminated), whose backup is still there, which is what retention needs.
        if any(u.get("username") == username and u.get("status") != "no_backup" for u in users):
            return day
    return None


def change_password(api: WhmApi, username: str, password: str) -> None:
    """WHM ``passwd``: the account's new password (cPanel, FTP main account, webmail of the main user). Setting the
    same password twice is harmless, which a retry relies on."""
    api.call("passwd", user=username, password=password)


def change_package(api: WhmApi, username: str, plan: str) -> None:
    api.call("changepackage", user=username, pkg=plan)
