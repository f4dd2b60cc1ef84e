"""HTTP edge shared by every API function: the resolver, the one error→status map, identity.

Every error leaves as JSON ``{"code": ..., "message": ...}`` with a Spanish (es-AR) message;
validation errors also carry ``field``. An unexpected exception is logged and answered 500 — which
is always a bug to fix, never an expected answer.
"""

import base64
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
    ResponseValidationError,
)
from pynamodb.exceptions import PynamoDBException

from shared import config
from shared.auth import ACCOUNT_HEADER, Identity, acting_on, identity_from_claims
from shared.errors import (
    ConcurrentModification,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyAttempts,
    Unauthenticated,
    UnsupportedMediaType,
)
from shared.schemas import ApiModel

logger = Logger()

# The one exception -> HTTP status map of the suite. Subclasses inherit their parent's status
# (looked up along the MRO), so a new error class needs an entry only for a new status.
STATUS_BY_ERROR: dict[type[DomainError], HTTPStatus] = {
    DomainError: HTTPStatus.BAD_REQUEST,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    ConcurrentModification: HTTPStatus.CONFLICT,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    ServiceUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    TooManyAttempts: HTTPStatus.TOO_MANY_REQUESTS,
}

COGNITO_SCHEME_ES = "ID token de Cognito (en `make dev`: POST /local/token)."
# OpenAPI security requirement of routes behind the Cognito authorizer.
SECURED: list[dict[str, list[str]]] = [{"cognito": []}]


class ErrorOut(ApiModel):
    code: str
    message: str  # es-AR, for people
    field: str | None = None  # the offending field, for validation errors


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"model": ErrorOut}}}


# The error answers every route may give, documented once (see `answers`).
ERRORS = {
    400: _error("JSON mal formado o solicitud inválida"),
    401: _error("Falta el token o no es válido"),
    403: _error("Sin permiso para esta acción"),
    404: _error("No existe (o es de otra cuenta)"),
    409: _error("Conflicto: email ya registrado, o modificación concurrente"),
    413: _error("Cuerpo demasiado grande"),
    415: _error("El cuerpo no es JSON"),
    422: _error("Datos inválidos: `field` dice cuál"),
}


def answers(status: int = 200, description: str = "OK") -> dict:
    """OpenAPI responses of a route: its success (schema from the return annotation) and the errors."""
    success: dict = {"description": description}
    if status == HTTPStatus.NO_CONTENT:
        success["content"] = {}
    return {status: success, **ERRORS}


DEFAULT_MAX_BODY_BYTES = 64 * 1024


class MalformedJson(DomainError):
    code = "malformed_json"
    message = "El cuerpo de la solicitud no es un JSON válido."


def parse_json(text: str) -> Any:
    """A request body's JSON: the resolver's deserializer, and what the webhooks (which verify the raw body
    first) parse with. Refused with 400 also for an integer past Python's int-conversion limit (4,300
    digits), which json.loads reports as a plain ValueError; nesting too deep is the RecursionError handler's."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise MalformedJson() from None
    except ValueError:
        raise MalformedJson("El cuerpo de la solicitud tiene un número con demasiados dígitos.") from None


def status_for(error: DomainError) -> HTTPStatus:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return HTTPStatus.BAD_REQUEST


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False),
    )


_PYDANTIC_MESSAGES_ES = {
    "missing": "es obligatorio",
    "string_too_short": "es demasiado corto",
    "string_too_long": "es demasiado largo",
    "string_type": "debe ser texto",
    "int_type": "debe ser un número entero",
    "int_parsing": "debe ser un número entero",
    "bool_type": "debe ser verdadero o falso",
    "bool_parsing": "debe ser verdadero o falso",
    "enum": "no es uno de los valores permitidos",
    "literal_error": "no es uno de los valores permitidos",
    "extra_forbidden": "no se admite",
    "greater_than": "es demasiado bajo",
    "greater_than_equal": "es demasiado bajo",
    "less_than_equal": "es demasiado grande",
    "value_error": "no es válido",
    "model_attributes_type": "debe ser un objeto JSON",
    "dict_type": "debe ser un objeto JSON",
    "list_type": "debe ser una lista",
    "string_pattern_mismatch": "no tiene el formato esperado",
}


_BODY_ES = {
    "missing": "es obligatorio",
    "model_attributes_type": "debe ser un objeto JSON",
    "dict_type": "debe ser un objeto JSON",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "phone") -> "phone"; ("query", "limit") -> "limit"; ("body",) -> "body"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def validation_response(errors: list[dict[str, Any]]) -> Response:
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            HTTPStatus.BAD_REQUEST, "malformed_json", "El cuerpo de la solicitud no es un JSON válido."
        )
    details = []
    for error in errors:
        field = _field_name(tuple(error.get("loc", ())))
        text = _PYDANTIC_MESSAGES_ES.get(error.get("type", ""), "no es válido")
        # Our own validators raise ValueError with a Spanish sentence: prefer it.
        ctx_error = (error.get("ctx") or {}).get("error")
        if error.get("type") == "value_error" and ctx_error:
            text = str(ctx_error)
        if field == "body":  # the body as a whole, not a field of it
            details.append(
                {"field": field, "message": f"El cuerpo de la solicitud {_BODY_ES.get(error.get('type'), text)}."}
            )
        else:
            details.append({"field": field, "message": f"El campo '{field}' {text}."})
    first = details[0] if details else {"field": "body", "message": "La solicitud no es válida."}
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "validation_error",
        first["message"],
        field=first["field"],
        errors=details,
    )


def security_schemes() -> dict:
    # Imported only when documenting the API: building Powertools' OpenAPI models costs ~120 ms,
    # which a Lambda cold start should not pay.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {"cognito": HTTPBearer(description=COGNITO_SCHEME_ES, bearerFormat="JWT")}


def openapi_schema(app: APIGatewayRestResolver):
    """The OpenAPI document of one function's resolver (for tools/openapi.py and the template tests)."""
    app.configure_openapi(title="Paneldecliente API", security_schemes=security_schemes())
    return app.get_openapi_schema()


def _cors() -> CORSConfig | None:
    # The client area's frontend calls from its own origin: answers carry the CORS headers for it.
    origin = config.env(config.ALLOWED_ORIGIN, "")
    headers = ["Authorization", "Content-Type", ACCOUNT_HEADER]
    return CORSConfig(allow_origin=origin, allow_headers=headers) if origin else None


def create_app() -> APIGatewayRestResolver:
    from shared.snapstart import register_with_runtime

    register_with_runtime()  # SnapStart: what is re-created after a restore (shared/snapstart.py)
    app = APIGatewayRestResolver(enable_validation=True, cors=_cors(), json_body_deserializer=parse_json)

    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return error_response(status_for(error), error.code, error.message, field=error.field)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        return validation_response(list(error.errors()))

    @app.exception_handler(ResponseValidationError)
    def _response_error(error: ResponseValidationError) -> Response:
        logger.error("response failed its own schema", extra={"errors": str(error.errors())[:2000]})
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", _INTERNAL_ES)

    @app.exception_handler(RecursionError)
    def _too_deep(error: RecursionError) -> Response:
        return error_response(
            HTTPStatus.BAD_REQUEST, "malformed_json", "El cuerpo de la solicitud tiene demasiados niveles anidados."
        )

    @app.exception_handler(PynamoDBException)
    def _dynamodb(error: PynamoDBException) -> Response:
        if error.cause_response_code in _THROTTLED:
            logger.warning("DynamoDB throttled", extra={"code": error.cause_response_code})
            unavailable = ServiceUnavailable()
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, unavailable.code, unavailable.message)
        return _unexpected(error)

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", _INTERNAL_ES)

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "La ruta solicitada no existe.")

    return app


_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_INTERNAL_ES = "Ocurrió un error inesperado. Ya fue registrado; vuelva a intentarlo en unos minutos."


def _body_bytes(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8"))


def lambda_handler_for(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of an API function: the body's size, type and encoding, then the resolver."""
    from shared import init_phase

    limit = int(config.env(config.MAX_BODY_BYTES, str(DEFAULT_MAX_BODY_BYTES)))
    init_phase.end()  # the handler module's last statement: its init is done (shared/init_phase.py)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict, context: Any) -> dict:
        init_phase.end()  # a no-op, unless code after lambda_handler_for kept the init going: it is over now
        if _body_bytes(event) > limit:
            return _proxy_error(
                event,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                PayloadTooLarge.code,
                f"El cuerpo de la solicitud supera el máximo de {limit // 1024} KiB.",
            )
        headers = event.get("headers") or {}
        content_type = _header(headers, "content-type")
        if event.get("body") and content_type:
            # JSON is application/json, or no content type at all (many HTTP clients omit it); not "+json"
            # types, whose own rules (merge-patch, …) the handlers do not follow (docs/decisions.md).
            if content_type.split(";")[0].strip().lower() != "application/json":
                unsupported = UnsupportedMediaType()
                return _proxy_error(event, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, unsupported.code, unsupported.message)
            # Media types are case-insensitive, but the resolver compares them as written.
            plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            event = {**event, "headers": {**plain, "Content-Type": "application/json"}}
        if event.get("isBase64Encoded") and event.get("body"):
            # Browsers and API Gateway binary types may base64 the JSON; validation wants the text.
            try:
                event = {**event, "body": base64.b64decode(event["body"]).decode("utf-8"), "isBase64Encoded": False}
            except (ValueError, UnicodeDecodeError):
                return _proxy_error(
                    event, HTTPStatus.BAD_REQUEST, "malformed_body", "El cuerpo de la solicitud no es texto UTF-8."
                )
        if event.get("body") and _has_lone_surrogates(event["body"]):
            return _proxy_error(
                event,
                HTTPStatus.BAD_REQUEST,
                "malformed_body",
                "El cuerpo de la solicitud tiene caracteres Unicode inválidos.",
            )
        return app.resolve(event, context)

    return handler


def _has_lone_surrogates(body: str) -> bool:
    """JSON may escape half a UTF-16 pair ("\\ud83d"); such a string cannot be stored or sent anywhere."""
    if "\\u" not in body.lower():
        return False
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False  # malformed or absurdly nested JSON: the resolver answers it
    return False


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _proxy_error(event: dict[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    """An API Gateway proxy result, for answers given before the resolver runs: with the CORS headers the
    resolver would add, or the browser hides the answer from the page."""
    headers = {"Content-Type": content_types.APPLICATION_JSON}
    cors = _cors()
    origin = cors.allowed_origin(_header(event.get("headers") or {}, "origin")) if cors else None
    if origin is not None:
        headers.update(cors.to_dict(origin))
    return {
        "statusCode": int(status),
        "headers": headers,
        "body": json.dumps({"code": code, "message": message}, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def current_identity(app: APIGatewayRestResolver, *, acting: bool = True) -> Identity:
    """Who calls, acting on the account its ``X-Account-Id`` names (shared.auth.acting_on); ``acting=False``: the
    login's own account whatever the header says (what belongs to the login, not to an account: its email, the
    list of its accounts)."""
    event = app.current_event
    sent = [v for k, values in (event.multi_value_headers or {}).items() if k.lower() == "authorization"
            for v in values or []]
    if len(sent) > 1:  # which one did the authorizer verify? Refused rather than guessed.
        raise Unauthenticated()
    identity = identity_from_claims(event.request_context.authorizer.claims, event.headers.get("Authorization"))
    named = [v for k, values in (event.multi_value_headers or {}).items() if k.lower() == ACCOUNT_HEADER.lower()
             for v in values or []]
    if len(named) > 1 and len(set(named)) > 1:
        raise InvalidInput(f"Envíe un solo {ACCOUNT_HEADER}.", code="account_header", field=ACCOUNT_HEADER)
    if not acting or not named or not named[0].strip():
        return identity
    return acting_on(identity, named[0].strip(), _membership)


def _membership(email: str, client_id: str) -> "tuple[str | None, str] | None":
    from shared.dal.accounts import Accounts  # only requests naming another account read it

    found = Accounts().membership(email, client_id)
    return None if found is None else (found.login_sub, found.contact_id)
