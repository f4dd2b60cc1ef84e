import json
import os
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
