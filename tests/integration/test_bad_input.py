"""Bad input on every route: a clear 4xx with {"code", "message"}, never a 5xx, and nothing written."""

import base64
import json

import pytest

from devstack.gateway import routes_of
from shared.dal.table import TableItem
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
        ("GET", "/me/services/" + "9" * 3000, None, 404, "not_found"),
        ("GET", "/me/invoices/" + "9" * 3000, None, 404, "not_found"),
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
    assert (long_id.status, long_id.json()["code"]) == (404, "not_found")
    assert (huge_credentials.status, huge_credentials.json()["field"]) == (422, "credentials")


def test_every_route_with_an_id_answers_unknown_ids_with_4xx(api, stack, holder):
    for route in routes_of(stack):
        staff_listing = route.resource.endswith(("/services", "/payments", "/quotes")) and route.method == "GET"
        if "{" not in route.resource or staff_listing:
            continue  # a staff listing under an unknown client/invoice is an empty list
        if (route.method, route.resource) in (("PUT", "/staff/servers/{server_name}"),
                                              ("PUT", "/staff/status/components/{component_id}")):
            continue  # a PUT of a server's flags or of a status component creates it: there is no unknown one
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


HUGE_INTEGER = '{"name": ' + "1" * 5000 + "}"  # past Python's int-conversion limit (4,300 digits)


@pytest.mark.parametrize(("content_type", "body", "status", "code"), [
    ("application/json", HUGE_INTEGER, 400, "malformed_json"),
    ("application/merge-patch+json", '{"name": "Ana"}', 415, "unsupported_media_type"),
    ("application/vnd.api+json", '{"name": "Ana"}', 415, "unsupported_media_type"),
])
def test_every_json_route_answers_what_python_or_the_resolver_cannot_read_with_a_4xx(
        api, stack, holder, content_type, body, status, code):
    from tools.openapi import OPENAPI_FILE

    # The routes that read a JSON body: the API's (a request body in openapi.json) and the webhooks.
    paths = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))["paths"]
    with_body = {(method.upper(), path) for path, ops in paths.items() for method, op in ops.items()
                 if "requestBody" in op}
    routes = [r for r in _write_routes(stack) if (r.method, r.resource) in with_body
              or r.resource.startswith("/webhooks/")]
    assert {("POST", "/clients"), ("POST", "/webhooks/stripe")} <= {(r.method, r.resource) for r in routes}
    before = _snapshot()
    for route in routes:
        for claims in (holder, claims_for(staff=True)):
            response = _call(api, route, claims, body, {"Content-Type": content_type})
            expected = (status, code)
            if route.resource.startswith("/webhooks/") and status == 400:
                # unsigned: the signature (Telegram's secret token) is checked before the body
                expected = (401, "invalid_secret_token" if route.resource == "/webhooks/telegram"
                            else "invalid_signature")
            assert (response.status, response.json()["code"]) == expected, (route.resource, response)
            assert response.json()["message"]
    assert _snapshot() == before


@pytest.fixture
def signing(stack):
    """The webhooks' secrets, as the template's secrets hold them in the local stack."""
    import boto3

    from devstack.stack import LOCAL_PAYMENT_SECRETS, LOCAL_TELEGRAM_SECRETS, LOCAL_WHATSAPP_SECRETS

    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.put_secret_value(SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
    secrets.put_secret_value(SecretId=stack.refs["WhatsAppSecrets"], SecretString=json.dumps(LOCAL_WHATSAPP_SECRETS))
    secrets.put_secret_value(SecretId=stack.refs["TelegramSecrets"], SecretString=json.dumps(LOCAL_TELEGRAM_SECRETS))
    return {**LOCAL_PAYMENT_SECRETS, **{f"whatsapp_{k}": v for k, v in LOCAL_WHATSAPP_SECRETS.items()},
            "telegram_webhook_secret": LOCAL_TELEGRAM_SECRETS["webhook_secret"]}


def _signed_webhook(api, signing, provider, body, at=None):
    import hashlib
    import hmac
    import time

    from devstack.fake_stripe import sign

    at = int(time.time()) if at is None else at
    if provider == "stripe":
        headers = {"Stripe-Signature": sign(signing["stripe_webhook_secret"], body.encode(), at=at)}
        return api.call("POST", "/webhooks/stripe", raw=body, headers=headers)
    if provider == "mercadopago":
        manifest = f"id:123;request-id:r-1;ts:{at};"  # Mercado Pago signs the query's data.id, not the body
        v1 = hmac.new(signing["mercadopago_webhook_secret"].encode(), manifest.encode(), hashlib.sha256).hexdigest()
        headers = {"x-signature": f"ts={at},v1={v1}", "x-request-id": "r-1"}
        return api.call("POST", "/webhooks/mercadopago?data.id=123&type=payment", raw=body, headers=headers)
    if provider == "telegram":
        headers = {"X-Telegram-Bot-Api-Secret-Token": signing["telegram_webhook_secret"]}
        return api.call("POST", "/webhooks/telegram", raw=body, headers=headers)
    digest = hmac.new(signing["whatsapp_app_secret"].encode(), body.encode(), hashlib.sha256).hexdigest()
    return api.call("POST", "/webhooks/whatsapp", raw=body, headers={"X-Hub-Signature-256": f"sha256={digest}"})


@pytest.mark.parametrize("token", ["ñ", "\u202e", "😀" * 50, "local-telegram-secret\x00"])
def test_a_non_ascii_or_near_telegram_secret_token_is_refused_not_a_crash(api, signing, token):
    response = api.call("POST", "/webhooks/telegram", raw='{"update_id": 1}',
                        headers={"X-Telegram-Bot-Api-Secret-Token": token})
    assert (response.status, response.json()["code"]) == (401, "invalid_secret_token")


@pytest.mark.parametrize("update", [
    '{"update_id": 1, "message": {"message_id": 1, "from": {"id": "1"}, "chat": {"id": 1, "type": "private"}}}',
    '{"update_id": 2, "message": {"from": {"id": 5, "is_bot": false}, "chat": {"id": 5, "type": "private"}, '
    '"photo": [1, 2], "date": "ayer"}}',
    '{"update_id": 3, "message": {"from": {"id": 6}, "chat": {"id": 6, "type": "private"}, "document": {}, '
    '"date": 99999999999999999999}}',
    '{"update_id": 4.5, "message": {}}', '{"update_id": true}', '[]'])
def test_odd_telegram_updates_are_acknowledged_or_recorded_never_a_crash(api, signing, update):
    response = _signed_webhook(api, signing, "telegram", update)
    assert response.status == 200, response


@pytest.mark.parametrize("provider", ["stripe", "mercadopago", "whatsapp", "telegram"])
@pytest.mark.parametrize("body", [HUGE_INTEGER, '{"id": ', "[" * 20000 + "]" * 20000])
def test_signed_webhooks_answer_bodies_they_cannot_read_with_400_like_the_api(api, signing, provider, body):
    response = _signed_webhook(api, signing, provider, body)
    assert (response.status, response.json()["code"]) == (400, "malformed_json"), response


@pytest.mark.parametrize("provider", ["stripe", "mercadopago"])
def test_a_signature_dated_in_the_future_is_told_apart_from_a_stale_one(api, signing, provider):
    import time

    future = _signed_webhook(api, signing, provider, '{"id": "evt_1"}', at=int(time.time()) + 3600)
    stale = _signed_webhook(api, signing, provider, '{"id": "evt_1"}', at=int(time.time()) - 3600)
    assert (future.status, future.json()["code"]) == (401, "signature_from_future")
    assert future.json()["message"] == "La firma de la notificación tiene una fecha futura."
    assert (stale.status, stale.json()["code"]) == (401, "stale_signature")


@pytest.mark.parametrize("token", ["ñ", "wa-verify-ñ", "\u202e", "😀" * 50])
def test_a_non_ascii_whatsapp_verify_token_is_refused_not_a_crash(api, signing, token):
    from urllib.parse import quote

    response = api.call("GET", f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={quote(token)}"
                               "&hub.challenge=1158201444")
    assert (response.status, response.json()["code"]) == (403, "invalid_verify_token")


@pytest.mark.parametrize("signature", ["sha256=ñ", "sha256=" + "é" * 64, "sha256=\u202e", "sha256="])
def test_a_non_ascii_whatsapp_signature_is_refused_not_a_crash(api, signing, signature):
    response = api.call("POST", "/webhooks/whatsapp", raw="{}", headers={"X-Hub-Signature-256": signature})
    assert (response.status, response.json()["code"]) == (401, "invalid_signature")


# Every free-text field other people read, in every request model (shared/text.py).
FREE_TEXT = [
    ("POST", "/clients", "name"), ("POST", "/clients", "company"),
    ("PATCH", "/me", "name"), ("PATCH", "/me", "company"),
    ("POST", "/me/contacts", "name"), ("PATCH", "/me/contacts/{contact_id}", "name"),
    ("POST", "/staff/clients", "name"), ("POST", "/staff/clients", "company"),
    ("POST", "/staff/clients", "account_executive"),
    ("POST", "/services/{service_id}/upgrade-requests", "message"),
    ("POST", "/staff/upgrade-requests/{request_id}/resolve", "note"),
    ("PUT", "/staff/servers/{server_name}", "note"),
]
HOSTILE_TEXT = ["Ana\x00", "\x1b[31mAna\x1b[0m", "Ana \u202eaíraM", "\u2066Ana\u2069", "\u200b\u200d", "\ufeff"]


@pytest.mark.parametrize(("method", "resource", "field"), FREE_TEXT)
def test_free_text_refuses_controls_direction_overrides_and_invisible_names(api, holder, method, resource, field):
    claims = claims_for(staff=True) if resource.startswith("/staff/") else holder
    before = _snapshot()
    for text in HOSTILE_TEXT:
        body = {**VALID_BODIES[(method, resource)], field: text}
        response = api.call(method, _concrete(resource), claims=claims, body=body)
        assert (response.status, response.json()["code"], response.json()["field"]) == (
            422, "validation_error", field), (resource, text, response)
        assert response.json()["message"].startswith(f"El campo '{field}' "), response
    assert _snapshot() == before


def test_credential_names_and_values_refuse_hostile_text_too(api):
    staff = claims_for(staff=True)
    for credentials in ({"usuario\x1b[2J": "x"}, {"usuario": "\u202eclave"}, {"\u200b": "x"}, {"clave": "a\x00b"}):
        response = api.call("POST", "/staff/clients/01UNKNOWNCLIENT00000000000/orders", claims=staff, body={
            "product_id": "hosting-inicial", "billing_cycle": "annually", "credentials": credentials})
        assert (response.status, response.json()["code"]) == (422, "validation_error"), (credentials, response)


def test_names_are_stored_in_one_spelling(api):
    created = api.call("POST", "/clients", body={"email": "jose@ejemplo.com.ar", "password": "Segura123",
                                                 "name": "Jose\u0301 Pe\u0301rez"})
    me = api.call("GET", "/me", claims=claims_for(client_id=created.json()["client_id"]))
    assert me.json()["account"]["name"] == "José Pérez"  # NFC: the precomposed letters
