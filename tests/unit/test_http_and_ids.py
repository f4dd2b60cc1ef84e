import json
import time
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from devstack.gateway import proxy_event
from devstack.runtime import LambdaContext
from shared.errors import ConcurrentModification, Conflict, DomainError, InvalidInput, NotFound
from shared.http import MalformedJson, create_app, lambda_handler_for, parse_json, status_for, validation_response
from shared.ids import is_valid_id, new_id
from shared.schemas import ApiModel
from shared.secret_compare import same_secret
from shared.text import ManyLines, OneLine


def test_status_map_follows_the_class_hierarchy():
    class EmailTakenLike(Conflict):
        pass

    assert status_for(EmailTakenLike()) == 409
    assert status_for(ConcurrentModification()) == 409
    assert status_for(NotFound()) == 404
    assert status_for(InvalidInput()) == 422
    assert status_for(DomainError()) == 400


def test_validation_response_names_fields_in_spanish():
    response = validation_response([
        {"type": "missing", "loc": ("body", "email"), "msg": "Field required"},
        {"type": "string_too_short", "loc": ("body", "password"), "msg": "short"},
    ])
    body = json.loads(response.body)
    assert response.status_code == 422
    assert body["message"] == "El campo 'email' es obligatorio."
    assert [e["field"] for e in body["errors"]] == ["email", "password"]


def test_malformed_json_is_a_400():
    response = validation_response([{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"}])
    assert (response.status_code, json.loads(response.body)["code"]) == (400, "malformed_json")


def test_ids_sort_by_time_and_do_not_collide():
    earlier, later = new_id(1_700_000_000_000), new_id(1_700_000_000_001)
    assert earlier < later
    assert len({new_id() for _ in range(10_000)}) == 10_000
    assert is_valid_id(earlier) and not is_valid_id("nope")


@pytest.mark.parametrize(("expected", "given", "same"), [
    ("wa-verify", "wa-verify", True),
    ("wa-verify", b"wa-verify", True),
    ("contraseña", "contraseña", True),
    ("wa-verify", "ñ", False),  # hmac.compare_digest raised TypeError on non-ASCII text
    ("wa-verify", "\ud83d", False),  # half a surrogate pair, as JSON may escape one
    ("wa-verify", "wa-verif", False),
    ("wa-verify", None, False),
    ("", "", False),  # an unset secret matches nothing, not even an empty token
    (None, None, False),
])
def test_secrets_compare_without_raising_whatever_they_are(expected, given, same):
    assert same_secret(expected, given) is same


def test_json_python_cannot_read_is_malformed_json():
    with pytest.raises(MalformedJson) as huge:
        parse_json('{"amount": ' + "9" * 4301 + "}")  # past Python's int-conversion limit: a ValueError
    with pytest.raises(MalformedJson) as broken:
        parse_json('{"name": ')
    assert (status_for(huge.value), huge.value.code) == (400, "malformed_json")
    assert "dígitos" in huge.value.message and broken.value.message == MalformedJson.message
    assert parse_json('{"amount": ' + "9" * 4300 + "}")["amount"] == int("9" * 4300)


ORIGIN = "https://panel.ejemplo.com.ar"


class _Body(ApiModel):
    name: str


@pytest.fixture
def handler(monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGIN", ORIGIN)
    monkeypatch.setenv("MAX_BODY_BYTES", "8192")
    app = create_app()

    @app.post("/echo")
    def echo(body: _Body) -> dict:
        return {"name": body.name}

    handle = lambda_handler_for(app)
    context = LambdaContext("f", 128, "arn:aws:lambda:us-east-1:123456789012:function:f", "r", 10, time.monotonic())

    def call(body, origin=ORIGIN, **headers):
        headers = {"Content-Type": "application/json", **headers, **({"Origin": origin} if origin else {})}
        event = proxy_event(method="POST", resource="/echo", path="/echo", headers=headers, body=body)
        return handle(event, context)

    return call


def _cors_of(answer: dict) -> dict[str, str]:
    headers = {**answer.get("headers", {}), **{k: ",".join(v) for k, v in answer.get("multiValueHeaders", {}).items()}}
    return {k: v for k, v in headers.items() if k.startswith("Access-Control-")}


def test_answers_given_before_the_resolver_carry_its_cors_headers(handler):
    resolved = handler('{"name": "Ana"}')
    refused = {
        413: handler(json.dumps({"name": "a" * 9000})),
        415: handler("name=Ana", **{"Content-Type": "application/x-www-form-urlencoded"}),
        400: handler(b"\xff\xfe garbage"),  # not UTF-8: the event carries it base64-encoded
    }
    assert resolved["statusCode"] == 200 and _cors_of(resolved)["Access-Control-Allow-Origin"] == ORIGIN
    for status, answer in refused.items():
        assert (answer["statusCode"], _cors_of(answer)) == (status, _cors_of(resolved)), answer
    # Another origin gets none, from the resolver or before it.
    assert _cors_of(handler('{"name": "Ana"}', origin="https://otro.example")) == {}
    assert _cors_of(handler(json.dumps({"name": "a" * 9000}), origin="https://otro.example")) == {}


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/vnd.api+json", "text/plain"])
def test_only_application_json_is_read_as_json(handler, content_type):
    answer = handler('{"name": "Ana"}', **{"Content-Type": content_type})
    assert (answer["statusCode"], json.loads(answer["body"])["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"])
def test_application_json_in_any_spelling_reaches_the_handler(handler, content_type):
    answer = handler('{"name": "Ana"}', **{"Content-Type": content_type})
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"name": "Ana"}), answer


def test_an_integer_too_long_for_python_is_a_400_not_a_500(handler):
    answer = handler('{"name": ' + "1" * 5000 + "}")
    assert (answer["statusCode"], json.loads(answer["body"])["code"]) == (400, "malformed_json"), answer


NAME = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), OneLine])
MESSAGE = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), ManyLines])


@pytest.mark.parametrize("text", [
    "Ana\x00", "\x1b[31mAna\x1b[0m", "Ana\tMaría", "Ana\nMaría", "\x7f",
    "Ana \u202eaíraM", "\u2066Ana\u2069", "\u202aAna",
    "\u200b", "\u200b\u200c\u200d\ufeff", " \u00ad ", "\u0301",
])
def test_names_refuse_controls_direction_overrides_and_invisible_text(text):
    with pytest.raises(ValidationError) as refused:
        NAME.validate_python(text)
    assert refused.value.errors()[0]["type"] == "value_error"


def test_names_keep_every_script_and_emoji_in_one_spelling():
    assert NAME.validate_python("  Jose\u0301  ") == "José"  # NFC: the same name as the precomposed one
    for name in ("Ñandú S.R.L.", "محمد", "李小龍", "👩‍💻 Ana", "O'Brien-Zö"):
        assert NAME.validate_python(name) == name


def test_messages_may_span_lines_but_refuse_the_other_controls():
    assert MESSAGE.validate_python("Hola,\r\n\tnecesito más disco.") == "Hola,\r\n\tnecesito más disco."
    for text in ("hola\x00", "hola\x1b[2J", "hola \u202e", "\n\u200b\n"):
        with pytest.raises(ValidationError):
            MESSAGE.validate_python(text)
