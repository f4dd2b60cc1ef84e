"""Requests schemathesis derives from openapi.json, and inputs that once answered 500, against a stack of their own.

Their own: a generated request is often a valid one (PATCH /me renames the demo holder, PATCH /me/alerts/settings
turns its WhatsApp off), and the shared stack's tests read the demo data as the seed left it.
"""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("generated_requests")]

DEMO, STAFF = "demo@ejemplo.com.ar", "staff@ejemplo.com.ar"


@pytest.mark.parametrize(("user", "paths"), [(DEMO, "^/(me|clients|catalog|webhooks|services)"),
                                             (STAFF, "^/staff")])
def test_generated_requests_never_get_a_server_error(own_stack, user, paths):
    """Schemathesis derives requests (valid and invalid) from openapi.json; none may answer 5xx."""
    import subprocess
    import sys
    from pathlib import Path

    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(schemathesis), "run", f"{own_stack.base}/openapi.json", "--url", own_stack.base,
         "-H", f"Authorization: Bearer {own_stack.token(user)}", "--checks", "not_a_server_error",
         "--include-path-regex", paths, "-n", "15", "--generation-deterministic", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]


HUGE_INTEGER = ('{"name": ' + "1" * 5000 + "}").encode()  # past Python's int-conversion limit (4,300 digits)


def _explicit_cases(operation, token):
    """Inputs that once answered 500, kept as explicit cases beside the generated ones."""
    auth = {"Authorization": f"Bearer {token}"}
    path = {p.name: "01UNKNOWN00000000000000000" for p in operation.path_parameters}
    if operation.body or (operation.method.upper() == "POST" and operation.path.startswith("/webhooks/")):
        yield operation.Case(body=HUGE_INTEGER, media_type="application/json", path_parameters=path, headers=auth)
        for content_type in ("application/merge-patch+json", "application/vnd.api+json"):
            yield operation.Case(body=b'{"name": "Ana"}', media_type="application/json", path_parameters=path,
                                 headers={**auth, "Content-Type": content_type})
    if operation.path == "/webhooks/whatsapp":
        if operation.method.upper() == "GET":
            for token_sent in ("ñ", "\u202e", "😀"):
                yield operation.Case(query={"hub.mode": "subscribe", "hub.verify_token": token_sent,
                                            "hub.challenge": "1158201444"})
        else:
            for signature in ("sha256=ñ", "sha256=" + "é" * 64):
                yield operation.Case(body=b"{}", media_type="application/json",
                                     headers={"X-Hub-Signature-256": signature})


def test_inputs_that_once_crashed_an_operation_stay_fixed(own_stack):
    """Every operation with a JSON body (and the webhooks): an integer Python cannot convert, a "+json"
    content type, a non-ASCII WhatsApp verify token or signature get a 4xx {code, message}, never a 5xx."""
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(f"{own_stack.base}/openapi.json")
    token = own_stack.token(DEMO)  # the body is refused before anyone's rights are looked at
    sent = 0
    for result in schema.get_all_operations():
        for case in _explicit_cases(result.ok(), token):
            response = case.call_and_validate(base_url=own_stack.base, checks=[not_a_server_error])
            assert 400 <= response.status_code < 500, (case.operation.label, response.text)
            assert set(response.json()) >= {"code", "message"}, (case.operation.label, response.text)
            sent += 1
    assert sent >= 3 * 12 + 5
