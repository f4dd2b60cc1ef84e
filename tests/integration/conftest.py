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
    created = provision(boto3.Session(region_name="us-east-1"))
    for function in created.functions.values():
        for key, value in function.environment.items():
            if key != "POWERTOOLS_SERVICE_NAME":
                os.environ[key] = value
    return created


@pytest.fixture
def store(stack):
    from shared.dal.repositories import Store

    return Store()


@pytest.fixture
def catalog(store):
    """The demo catalog (devstack/seed.py), written as staff would."""
    from devstack.seed import CATALOG
    from shared.dal.models import Product

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
        self.headers = result.get("headers") or {}
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
