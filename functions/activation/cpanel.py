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


def terminate(api: WhmApi, username: str) -> None:
    api.call("removeacct", username=username)


def change_package(api: WhmApi, username: str, plan: str) -> None:
    api.call("changepackage", user=username, pkg=plan)
