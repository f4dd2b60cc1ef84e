"""API Gateway (REST, proxy integration) + Cognito user pool authorizer, emulated on loopback.

Routes come from the functions' ``Api`` events in template.yaml. A request to a protected route must
carry a Cognito ID token (``Authorization: <token>`` or ``Bearer <token>``) that verifies against the
pool's JWKS; its claims reach the handler in ``requestContext.authorizer.claims``, as strings, the way
API Gateway passes them. Refusals use the template's GatewayResponses bodies.
"""

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from devstack.cfn import ACCOUNT_ID, Resolver, Stack, load_template

API_ID = "localapi"


@dataclass
class Route:
    method: str
    resource: str
    function: str
    public: bool
    pattern: re.Pattern

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method, "ANY"):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else found.groupdict()


def _pattern(resource: str) -> re.Pattern:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", resource):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


def routes_of(stack: Stack) -> list[Route]:
    routes = []
    for function in stack.functions.values():
        for _, props in function.events_of("Api"):
            auth = (props.get("Auth") or {}).get("Authorizer")
            routes.append(
                Route(
                    method=props["Method"].upper(),
                    resource=props["Path"],
                    function=function.logical_id,
                    public=auth == "NONE",
                    pattern=_pattern(props["Path"]),
                )
            )
    # Literal segments win over parameters, as in API Gateway.
    routes.sort(key=lambda r: (r.resource.count("{"), -len(r.resource)))
    return routes


def _unquote(value: str) -> str:
    # API Gateway header mappings are quoted literals: "'https://example.com'".
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def api_settings(stack: Stack) -> tuple[dict[str, tuple[int, dict[str, str], str]], dict[str, str]]:
    """The API's GatewayResponses (status, headers, body) and its CORS preflight headers."""
    template = load_template()
    api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api")
    props = Resolver(template, stack).resolve(api["Properties"])
    responses = {}
    for name, spec in props.get("GatewayResponses", {}).items():
        headers = {k: _unquote(v) for k, v in (spec.get("ResponseParameters") or {}).get("Headers", {}).items()}
        headers["Content-Type"] = "application/json"
        responses[name] = (int(spec.get("StatusCode", 500)), headers, spec["ResponseTemplates"]["application/json"])
    cors = props.get("Cors") or {}
    preflight = {
        "Access-Control-Allow-Origin": _unquote(cors.get("AllowOrigin", "'*'")),
        "Access-Control-Allow-Headers": _unquote(cors.get("AllowHeaders", "'*'")),
        "Access-Control-Allow-Methods": _unquote(cors.get("AllowMethods", "'*'")),
    }
    return responses, preflight


def proxy_event(
    *,
    method: str,
    resource: str,
    path: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    claims: dict[str, str] | None = None,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda receives it."""
    headers = dict(headers or {})
    is_b64 = False
    text: str | None
    if body is None or body == b"":
        text = None
    elif isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode("ascii"), True
    else:
        text = body
    query = query or {}
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "domainName": "127.0.0.1",
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_b64,
    }


def claims_as_api_gateway_passes_them(claims: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in claims.items():
        out[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


class CognitoAuthorizer:
    def __init__(self, aws_endpoint: str, region: str, user_pool_id: str, app_client_id: str):
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.audience = app_client_id
        self._jwks = jwt.PyJWKClient(f"{aws_endpoint}/{user_pool_id}/.well-known/jwks.json")

    def verify(self, header: str | None) -> dict[str, Any] | None:
        if not header:
            return None
        token = header[7:] if header.lower().startswith("bearer ") else header
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
            # exp on real time, not SystemClock: Cognito issues tokens on real time; a clock move would expire them.
            claims = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "token_use"]},
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("token_use") == "id" else None


class Gateway:
    def __init__(self, stack: Stack, runtime, authorizer: CognitoAuthorizer, extra_routes=None):
        self.stack = stack
        self.runtime = runtime
        self.authorizer = authorizer
        self.routes = routes_of(stack)
        self.responses, self.preflight = api_settings(stack)
        # Local-only routes (tokens, schedules, Swagger): (method, path prefix) -> callable(request)
        self.extra_routes = extra_routes or {}

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def refusal(self, name: str) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = self.responses[name]
        return status, headers, body.encode("utf-8")

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        for (extra_method, prefix), action in self.extra_routes.items():
            if method == extra_method and (path == prefix or path.startswith(prefix + "/")):
                return action(path, headers, body)
        if method == "OPTIONS" and any(r.pattern.fullmatch(path) for r in self.routes):
            return 200, dict(self.preflight), b"{}"  # SAM's Cors: a mock integration answers preflights
        found = self.find(method, path)
        if found is None:
            return self.refusal("MISSING_AUTHENTICATION_TOKEN")
        route, params = found
        claims = None
        if not route.public:
            verified = self.authorizer.verify(headers.get("Authorization") or headers.get("authorization"))
            if verified is None:
                return self.refusal("UNAUTHORIZED")
            claims = claims_as_api_gateway_passes_them(verified)
        event = proxy_event(
            method=method, resource=route.resource, path=path, path_parameters=params,
            query=parse_qs(parts.query, keep_blank_values=True), headers=headers, body=body, claims=claims,
        )
        try:
            result = self.runtime.invoke(route.function, event)
        except Exception:  # the function crashed: API Gateway answers 502
            import traceback

            traceback.print_exc()
            _, headers, body = self.responses["DEFAULT_5XX"]
            return 502, headers, body.encode()
        out_headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[key] = ",".join(values)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        return int(result["statusCode"]), out_headers, data

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, data = gateway.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def __getattr__(self, name):
                # Every method (even made-up ones) reaches the gateway, which answers an undeclared
                # one as API Gateway does (404), instead of http.server's HTML 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, fmt, *args):  # quiet: the stack prints its own summary
                pass

        return _Server((host, port), Handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 resets bursts of concurrent clients


def json_response(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()
