"""Bad input on every route: a clear 4xx with {"code", "message"}, never a 5xx, and nothing written."""

import base64
import json

import pytest

from devstack.gateway import routes_of
from shared.dal.models import TableItem
from tests.integration.conftest import claims_for
from tools.bench import BODIES

BAD_BODIES = [
    ("malformed json", "{\"email\": ", None),
    ("json list", "[1, 2, 3]", None),
    ("json string", "\"hola\"", None),
    ("json number", "42", None),
    ("json null", "null", None),
    ("wrong types", json.dumps({"email": 5, "password": ["x"], "name": {"a": 1}, "product_id": 7,
                                "billing_cycle": True, "permissions": "all", "phone": 12}), None),
    ("huge", json.dumps({"name": "a" * 200_000}), None),
    ("not utf-8", None, base64.b64encode(b"\xff\xfe\x00garbage").decode()),
    ("form encoded", "a=1&b=2", "form"),
]


def _snapshot():
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


@pytest.fixture
def holder(api):
    body = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
    return claims_for(client_id=api.call("POST", "/clients", body=body).json()["client_id"])


def _concrete(resource: str) -> str:
    return (resource.replace("{client_id}", "01UNKNOWNCLIENT00000000000").replace("{service_id}", "nope")
            .replace("{invoice_id}", "nope").replace("{contact_id}", "nope").replace("{upgrade_id}", "nope")
            .replace("{request_id}", "nope").replace("{server_name}", "srv-nope.paneldecliente.com"))


def _write_routes(stack):
    return [r for r in routes_of(stack) if r.method in ("POST", "PATCH", "PUT")]


def test_every_write_route_refuses_bad_bodies_without_writing(api, stack, holder):
    staff = claims_for(staff=True)
    before = _snapshot()
    seen = 0
    for route in _write_routes(stack):
        for claims in (holder, staff):
            for label, text, special in BAD_BODIES:
                headers = {}
                event_body = text
                if special == "form":
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                response = _call(api, route, claims, event_body, headers, b64=special not in (None, "form"),
                                 raw_b64=special)
                seen += 1
                assert 400 <= response.status < 500, (route.resource, label, response)
                payload = response.json()
                assert payload["code"] and payload["message"], (route.resource, label, payload)
    assert seen >= len(BAD_BODIES) * 2 * 5
    assert _snapshot() == before


def _call(api, route, claims, text, headers, b64=False, raw_b64=None):
    from devstack.gateway import proxy_event
    from tests.integration.conftest import Response

    path = _concrete(route.resource)
    params = route.match(route.method, path)
    event = proxy_event(method=route.method, resource=route.resource, path=path, path_parameters=params,
                        headers={"Content-Type": "application/json", **headers},
                        body=None if b64 else text, claims=None if route.public else claims)
    if b64:
        event["body"], event["isBase64Encoded"] = raw_b64, True
    api.call("GET", "/catalog/products")  # make sure the runtime exists
    return Response(api._runtime.invoke(route.function, event))


VALID_BODIES = BODIES  # a valid body for each write route (tools/bench.py sends the same)


def test_every_protected_route_refuses_missing_or_wrong_identity(api, stack):
    before = _snapshot()
    for route in routes_of(stack):
        if route.public:
            continue
        body = VALID_BODIES.get((route.method, route.resource))
        assert body is not None or route.method in ("GET", "DELETE"), f"add a body for {route.method} {route.resource}"
        for claims, status in (({}, 401), ({"sub": "x", "token_use": "access"}, 401), ({"sub": "x"}, 403)):
            response = api.call(route.method, _concrete(route.resource), claims=claims, body=body)
            assert response.status == status, (route.resource, claims, response)
            assert set(response.json()) >= {"code", "message"}
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PATCH", "/me", {"name": None}, 422, "validation_error"),
        ("PATCH", "/me", {"country": None}, 422, "validation_error"),
        ("PATCH", "/me", {"country": "ZZ"}, 422, "validation_error"),
        ("PATCH", "/me", {"whatsapp_opt_in": None}, 422, "validation_error"),
        ("GET", "/me/services/" + "9" * 3000, None, 404, "service_not_found"),
        ("GET", "/me/invoices/" + "9" * 3000, None, 404, "invoice_not_found"),
    ],
)
def test_values_that_once_crashed_a_handler(api, holder, method, path, body, status, code):
    before = _snapshot()
    response = api.call(method, path, claims=holder, body=body)
    assert (response.status, response.json()["code"]) == (status, code), response
    assert _snapshot() == before


def test_deeply_nested_json_is_a_400(api, holder):
    response = api.call("PATCH", "/me", claims=holder, raw="[" * 20000 + "]" * 20000)
    assert (response.status, response.json()["code"]) == (400, "malformed_json")


def test_staff_inputs_that_once_crashed_a_handler(api, stack, catalog):
    staff = claims_for(staff=True)
    long_id = api.call("POST", f"/staff/clients/{'9' * 3000}/orders", claims=staff,
                       body={"product_id": "hosting-inicial", "billing_cycle": "annually"})
    huge_credentials = api.call("POST", "/staff/clients/01UNKNOWNCLIENT00000000000/orders", claims=staff, body={
        "product_id": "hosting-inicial", "billing_cycle": "annually",
        "credentials": {f"k{i}": "x" * 500 for i in range(10)}})
    assert (long_id.status, long_id.json()["code"]) == (404, "client_not_found")
    assert (huge_credentials.status, huge_credentials.json()["field"]) == (422, "credentials")


def test_every_route_with_an_id_answers_unknown_ids_with_4xx(api, stack, holder):
    for route in routes_of(stack):
        if "{" not in route.resource or route.resource.endswith(("/services", "/payments")) and route.method == "GET":
            continue  # a staff listing under an unknown client/invoice is an empty list
        if route.resource == "/staff/servers/{server_name}":
            continue  # PUT of a server's flags creates them: there is no unknown server
        for claims in (holder, claims_for(staff=True)):
            body = VALID_BODIES.get((route.method, route.resource))
            response = api.call(route.method, _concrete(route.resource), claims=claims, body=body)
            assert response.status in (403, 404), (route.resource, claims, response)
            assert set(response.json()) >= {"code", "message"}


def test_validation_errors_name_the_field_in_spanish(api):
    response = api.call("POST", "/clients", body={"email": "no-es-email", "password": "Segura123", "name": ""})

    assert response.status == 422
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert {e["field"] for e in payload["errors"]} == {"email", "name"}
    assert payload["message"].startswith("El campo '")


def test_unknown_route_inside_a_function_is_a_json_404(api, stack):
    from devstack.gateway import proxy_event
    from tests.integration.conftest import Response

    api.call("GET", "/catalog/products")
    event = proxy_event(method="GET", resource="/catalog/other", path="/catalog/other")
    response = Response(api._runtime.invoke("CatalogFunction", event))
    assert (response.status, response.json()["code"]) == (404, "route_not_found")
