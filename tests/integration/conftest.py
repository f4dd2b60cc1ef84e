import json
import os
import sys
from datetime import UTC, datetime

import boto3
import pytest

from devstack.aws import EmbeddedAws
from devstack.cfn import provision
from devstack.gateway import proxy_event
from devstack.runtime import ensure_import_path

ensure_import_path()

# Every item type registered, so that scans and queries of the whole table can read any item.
import shared.dal.accounts  # noqa: E402, F401
import shared.dal.alerts  # noqa: E402, F401
import shared.dal.billing  # noqa: E402, F401
import shared.dal.catalog  # noqa: E402, F401
import shared.dal.idempotency  # noqa: E402, F401
import shared.dal.lifecycle  # noqa: E402, F401
import shared.dal.mail  # noqa: E402, F401
import shared.dal.outbox  # noqa: E402, F401
import shared.dal.quotes  # noqa: E402, F401
import shared.dal.services  # noqa: E402, F401
import shared.dal.tickets  # noqa: E402, F401
import shared.dal.upgrades  # noqa: E402, F401


@pytest.fixture(scope="session")
def aws():
    embedded = EmbeddedAws().start()
    embedded.export()
    yield embedded
    embedded.stop()


@pytest.fixture
def stack(aws):
    """A clean AWS with the template's resources, and the functions' environment exported."""
    aws.reset()
    # Invoice alerts go at once in tests (the hold itself is tested with its own value).
    created = provision(boto3.Session(region_name="us-east-1"), parameters={"InvoiceAlertHoldSeconds": "0"})
    for function in created.functions.values():
        for key, value in function.environment.items():
            if key != "POWERTOOLS_SERVICE_NAME":
                os.environ[key] = value
    return created


class Repositories:
    """Every context's repository under one name, for tests that arrange and inspect across contexts
    (production code takes only the repositories it uses)."""

    def __init__(self):
        from shared.dal.accounts import Accounts
        from shared.dal.alerts import Alerts
        from shared.dal.billing import Billing
        from shared.dal.catalog import Catalog
        from shared.dal.idempotency import Answers
        from shared.dal.outbox import Outbox
        from shared.dal.services import Services
        from shared.dal.upgrades import Upgrades

        self.accounts, self.alerts, self.billing, self.catalog = Accounts(), Alerts(), Billing(), Catalog()
        self.outbox, self.services, self.upgrades, self.answers = Outbox(), Services(), Upgrades(), Answers()
        self._all = (self.accounts, self.alerts, self.billing, self.catalog, self.outbox, self.services,
                     self.upgrades, self.answers)

    def __getattr__(self, name):
        for repository in self._all:
            if hasattr(repository, name):
                return getattr(repository, name)
        raise AttributeError(name)

    @staticmethod
    def save_with_events(items, events=()):
        from shared.dal.unit_of_work import save_change

        save_change(items, events)


@pytest.fixture
def store(stack):
    return Repositories()


@pytest.fixture
def catalog(store):
    """The demo catalog (devstack/seed.py), written as staff would."""
    from devstack.seed import CATALOG
    from shared.dal.catalog import Product

    for spec in CATALOG:
        store.put_product(Product(*Product.key(spec["product_id"]), **spec))


@pytest.fixture
def kms(stack):
    return boto3.client("kms", region_name="us-east-1")


@pytest.fixture
def logins(stack):
    from shared.logins import CognitoLogins

    return CognitoLogins(boto3.client("cognito-idp", region_name="us-east-1"), stack.refs["UserPool"])


def claims_for(client_id=None, contact_id=None, staff=False, sub="sub-1"):
    """Claims as the API Gateway Cognito authorizer passes them (strings)."""
    claims = {"sub": sub, "token_use": "id", "email": "someone@ejemplo.com.ar"}
    if client_id:
        claims["custom:client_id"] = client_id
    if contact_id:
        claims["custom:contact_id"] = contact_id
    if staff:
        claims["cognito:groups"] = "staff"
    return claims


def fix_ticket_clocks(api, monkeypatch, clock) -> None:
    """The clock of the tickets' two API functions, the clients' and staff's (each module loads on its first call)."""
    api.call("GET", "/me/tickets", claims=claims_for(client_id="0" * 26))
    api.call("GET", "/staff/closed-days", claims=claims_for(staff=True))
    for module in ("tickets.app", "tickets.staff_app"):
        monkeypatch.setattr(sys.modules[module], "clock", clock)


class Api:
    """Calls a function's real lambda_handler with API Gateway proxy events."""

    def __init__(self, stack):
        self.stack = stack
        self._routes = None

    def call(self, method, path, *, body=None, claims=None, headers=None, raw=None):
        from devstack.gateway import routes_of
        from devstack.runtime import Runtime

        if self._routes is None:
            self._routes = routes_of(self.stack)
            self._runtime = Runtime(self.stack)
        route, params = next(
            (r, p) for r in self._routes if (p := r.match(method, path.split("?")[0])) is not None
        )
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        from urllib.parse import parse_qs

        query = parse_qs(path.split("?", 1)[1]) if "?" in path else None
        event = proxy_event(
            method=method, resource=route.resource, path=path.split("?")[0], path_parameters=params, query=query,
            headers={"Content-Type": "application/json", **(headers or {})}, body=data,
            claims=None if route.public else (claims or {}),
        )
        result = self._runtime.invoke(route.function, event)
        return Response(result)


class Response:
    def __init__(self, result):
        self.status = result["statusCode"]
        self.headers = {**(result.get("headers") or {}),
                        **{k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}}
        self.text = result.get("body") or ""

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<{self.status} {self.text[:300]}>"


@pytest.fixture
def api(stack):
    return Api(stack)


@pytest.fixture
def now():
    return datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def signed_up(api, n) -> dict:
    """A new account (its holder's claims), signed up through the API."""
    made = api.call("POST", "/clients", body={"email": f"cuenta{n}@ejemplo.com.ar", "password": "Segura123",
                                              "name": f"Cliente {n}"})
    return claims_for(client_id=made.json()["client_id"], sub=f"cuenta-{n}")


def hosting_on(claims, server, domain, status="active") -> str:
    """A hosting of the account as activation leaves it: its account recorded on ``server``."""
    from shared.clock import to_storage
    from shared.dal.services import Service
    from shared.dal.status import server_member
    from shared.ids import new_id

    client_id, service_id, now = claims["custom:client_id"], new_id(), to_storage(datetime.now(UTC))
    Service(*Service.key(service_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"SERVICE#{service_id}",
            service_id=service_id, client_id=client_id, product_id="hosting-inicial", product_name="Hosting Inicial",
            product_group="Hosting", status=status, billing_cycle="annually", currency="ARS", recurring_amount=10000,
            domain=domain, server=server, activation_mode="instant", activation_state="active", created_at=now,
            updated_at=now).save()
    server_member(server, service_id).save()
    return service_id


@pytest.fixture(scope="session")
def web_host():
    """A hosting server on loopback for the self-diagnostics: the demo zone (devstack.fake_web_host), plus a domain
    whose certificate expired three days ago and one with a self-signed certificate."""
    from devstack.fake_web_host import FakeWebHost, demo_zone

    zone = {**demo_zone(["ns1.paneldecliente.com", "ns2.paneldecliente.com"]),
            "vencido.com.ar": {"A": ["127.0.0.1"], "NS": ["ns1.paneldecliente.com.", "ns2.paneldecliente.com."],
                               "MX": ["10 mail.demo-pyme.com.ar."]},
            "casero.com.ar": {"A": ["127.0.0.1"], "NS": ["ns1.paneldecliente.com.", "ns2.paneldecliente.com."]}}
    host = FakeWebHost(zone, {"sitio-roto.com.ar": 500}).start()
    host.certificate("vencido.com.ar", days=-3)
    host.certificate("casero.com.ar", self_signed=True)
    yield host
    host.stop()


@pytest.fixture
def probing(web_host, stack, monkeypatch):
    """The diagnostics function asks and connects to ``web_host`` (and trusts its CA), as on make dev."""
    from devstack.fake_web_host import diagnostics_env
    from devstack.runtime import ENV_OVERRIDES

    for key, value in diagnostics_env(web_host).items():
        monkeypatch.setitem(ENV_OVERRIDES, key, value)
        monkeypatch.setenv(key, value)
    return web_host
