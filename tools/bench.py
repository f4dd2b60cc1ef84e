"""`make bench`: cold starts and DynamoDB requests per endpoint, printed as a Markdown report.

1. Cold start: each function's handler module is imported in a fresh interpreter, next to a baseline
   interpreter that only creates a boto3 DynamoDB client (what any Python Lambda pays anyway).
2. DynamoDB requests: every API route is called once through its real handler against the embedded
   AWS with the demo data, and the DynamoDB API calls that reach the server are counted.

Progress goes to stderr, the report to stdout. Figures are printed, never asserted: timings depend on
the machine; the targets beside them say what to look at.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLD_TARGET = 1.5  # × baseline
HEAVY_MODULES = (
    "pydantic",
    "pynamodb",
    "aws_lambda_powertools.event_handler",
    "boto3",
    "holidays",
    "phonenumbers",
    "email_validator",
)
BASELINE = "baseline"

# Runs in the fresh interpreter. perf_counter brackets the import only: process spawn and interpreter
# start-up are the same for every function and would drown the differences.
_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
{work}
elapsed = time.perf_counter() - started
loaded = len(sys.modules)
heavy = [name for name in {heavy!r} if name in sys.modules]
import json
print(json.dumps({{"ms": elapsed * 1000, "modules": loaded, "heavy": heavy}}))
"""

# Valid bodies for the write routes, keyed like the template's Api events. A write route missing here
# is sent without a body: its 4xx shows in the report instead of being skipped silently.
BODIES = {
    ("POST", "/clients"): {"email": "bench-alta@ejemplo.com.ar", "password": "Segura123", "name": "Bench Alta"},
    ("PATCH", "/me"): {"company": "X"},
    ("POST", "/me/contacts"): {
        "email": "bench-contacto@ejemplo.com.ar",
        "name": "Bench Contacto",
        "permissions": ["invoices"],
    },
    ("POST", "/staff/clients"): {"email": "bench-staff-alta@ejemplo.com.ar", "name": "Bench Staff Alta"},
    ("POST", "/staff/clients/{client_id}/orders"): {"product_id": "hosting-avanzado", "billing_cycle": "annually"},
    ("PATCH", "/me/contacts/{contact_id}"): {"permissions": ["invoices", "tickets"]},
    ("POST", "/staff/services/{service_id}/activation"): {"action": "requirements_met"},
    ("POST", "/services/{service_id}/upgrades"): {"target": "hosting-avanzado"},
    ("POST", "/services/{service_id}/upgrades/{upgrade_id}/cancel"): {},
    ("POST", "/services/{service_id}/upgrade-requests"): {"message": "Necesito más espacio en disco."},
    ("POST", "/staff/upgrade-requests/{request_id}/resolve"): {"outcome": "done"},
    ("POST", "/staff/upgrades/{upgrade_id}/complete"): {},
    ("PUT", "/staff/servers/{server_name}"): {"upgrades_enabled": True},
    ("PATCH", "/me/alerts/settings"): {"preferences": {"billing": True}},
}


# Plan changes read more than one item by nature: the service, its product and the product's targets
# (one BatchGetItem), the server's flags; ordering also checks the renewal invoice, then writes once.
READ_LIMITS = {"/services/{service_id}/upgrade-options": 4, "/services/{service_id}/upgrades": 2}
WRITE_LIMITS = {"/services/{service_id}/upgrades": 6, "/services/{service_id}/upgrades/{upgrade_id}/cancel": 4,
                "/services/{service_id}/upgrade-requests": 3,
                # The change and its service (staff name only the change), then one write.
                "/staff/upgrades/{upgrade_id}/complete": 3}


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


# ---------------------------------------------------------------------------------------- cold start


def _functions(template: dict) -> dict[str, tuple[str, dict[str, str]]]:
    """logical id -> (handler module, environment with every variable resolved to a dummy string)."""
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    out = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        variables = {**glob, **props.get("Environment", {}).get("Variables", {})}
        # Refs and GetAtts have no value outside a deployment; nothing connects at import, any string does.
        env = {k: v if isinstance(v, str) else f"bench-{k.lower()}" for k, v in variables.items()}
        out[logical_id] = (props["Handler"].rsplit(".", 1)[0], env)
    return out


def _probe(work: str, env: dict[str, str]) -> dict:
    code = _PROBE.format(paths=[str(ROOT), str(ROOT / "functions")], work=work, heavy=HEAVY_MODULES)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"probe failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_starts(repeat: int) -> list[str]:
    from devstack.aws import FAKE_CREDENTIALS
    from devstack.cfn import load_template

    base_env = {
        "PATH": os.environ.get("PATH", ""),
        **FAKE_CREDENTIALS,
        "TABLE_NAME": "bench-table",
        # As in Lambda: no ~/.aws files for botocore to find and parse.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    functions = _functions(load_template())
    targets = {BASELINE: ('import boto3; boto3.client("dynamodb", region_name="us-east-1")', base_env)}
    for logical_id, (module, env) in functions.items():
        # The handler's import plus its DynamoDB client (when it has one), like the baseline's one client:
        # PynamoDB creates its botocore client on first use, which a cold invocation pays before answering.
        work = (
            f"__import__({module!r})\nif 'pynamodb' in sys.modules:\n"
            "    from shared.dal.models import TableItem; TableItem._get_connection().connection.client"
        )
        targets[logical_id] = (work, {**base_env, **env})
    names = list(targets)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    # Round 0 is a warm-up, discarded: it writes the .pyc files and fills the page cache, so that every
    # measured round starts from the same state. Baseline and functions share each round (rotated) so
    # that a noisy moment of the machine hits them alike.
    for round_no in range(repeat + 1):
        print(f"cold start: round {round_no}/{repeat}", file=sys.stderr)
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            result = _probe(*targets[name])
            if round_no:
                samples[name].append(result)

    def stats(name: str) -> tuple[float, str]:
        """Median ms, and the min–max range: a ratio near the target within the range is a toss-up."""
        ms = [s["ms"] for s in samples[name]]
        return statistics.median(ms), f"{min(ms):.0f}–{max(ms):.0f}"

    baseline_ms, baseline_range = stats(BASELINE)
    baseline_modules = samples[BASELINE][-1]["modules"]
    lines = [
        f"## Cold start: handler import in a fresh interpreter (median of {repeat})",
        "",
        f'Baseline: `import boto3; boto3.client("dynamodb")` = {baseline_ms:.0f} ms (range {baseline_range}), '
        f"{baseline_modules} modules loaded.",
        "",
        "Ratio: the median of the per-round ratios (function ÷ baseline measured in the same round), which",
        "cancels most of the machine's drift between rounds.",
        "",
        "| Function | Handler module | Median ms | Range ms | Baseline ms | Ratio | Target | | Modules vs baseline "
        "| Heavy imports |",
        "|---|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for name in names[1:]:
        (ms, ms_range), last = stats(name), samples[name][-1]
        ratio = statistics.median(f["ms"] / b["ms"] for f, b in zip(samples[name], samples[BASELINE], strict=True))
        lines.append(
            f"| {name} | `{functions[name][0]}` | {ms:.0f} | {ms_range} | {baseline_ms:.0f} | {ratio:.2f}× "
            f"| ≤ {COLD_TARGET}× | {mark(ratio <= COLD_TARGET)} | {last['modules'] - baseline_modules:+d} "
            f"| {', '.join(last['heavy']) or '-'} |"
        )
    return lines


# ------------------------------------------------------------------------------ DynamoDB requests


class DynamoDbCounter:
    """WSGI middleware in front of moto: records every DynamoDB API call that reaches the server.

    Counting at the server sees every client of the process: boto3's and PynamoDB's, which builds its
    own botocore session (a hook on boto3's default session would miss it).
    """

    def __init__(self, app):
        self.app = app
        self.operations: list[str] = []

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_20120810."):  # not DynamoDBStreams_…, not other services
            self.operations.append(target.split(".", 1)[1])
        return self.app(environ, start_response)


def dynamodb_requests() -> list[str]:
    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.gateway import proxy_event, routes_of
    from devstack.runtime import Runtime, ensure_import_path

    print("dynamodb: starting the embedded AWS and seeding", file=sys.stderr)
    aws = EmbeddedAws().start()
    aws.export()
    counter = DynamoDbCounter(aws._server.app)
    aws._server.app = counter  # werkzeug reads server.app on each request
    try:
        session = boto3.Session(region_name="us-east-1")
        stack = provision(session)
        # Like tests/integration/conftest.py. Before the first import of shared.dal.models: the table name
        # is read at import.
        for function in stack.functions.values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ensure_import_path()
        from devstack.seed import seed
        from shared.dal.models import EmailMarker
        from shared.dal.repositories import Store
        from shared.logins import CognitoLogins

        store = Store()
        seed(store, CognitoLogins(session.client("cognito-idp"), stack.refs["UserPool"]), session.client("kms"))
        client_id = EmailMarker.get(*EmailMarker.key("demo@ejemplo.com.ar")).client_id
        services = store.list_services(client_id)
        ids = {
            "client_id": client_id,
            "service_id": services[0].service_id,
            "invoice_id": store.list_invoices(client_id)[0].invoice_id,
            "contact_id": store.list_contacts(client_id)[0].contact_id,
            "server_name": "srv12.paneldecliente.com",
            # Set from the answers of the routes that create them (they sort before the routes that use them).
            "upgrade_id": "none",
            "request_id": "none",
        }
        # The staff activation step needs a manual service waiting for its requirements (the demo VPS).
        vps = next(s for s in services if s.activation_mode == "manual")
        vps.activation_state = "awaiting_requirements"
        vps.save()

        # The counter must see PynamoDB's calls as well as boto3's, or a zero would read as a success.
        counter.operations.clear()
        store.get_client(client_id)
        session.client("dynamodb").describe_table(TableName=stack.refs["Table"])
        if counter.operations != ["GetItem", "DescribeTable"]:
            raise RuntimeError(f"the DynamoDB counter is blind: saw {counter.operations}")

        claims = {
            "holder": {
                "sub": "bench-holder",
                "token_use": "id",
                "email": "demo@ejemplo.com.ar",
                "custom:client_id": client_id,
            },
            "staff": {
                "sub": "bench-staff",
                "token_use": "id",
                "email": "staff@ejemplo.com.ar",
                "cognito:groups": "staff",
            },
        }
        runtime = Runtime(stack)
        rows = []
        # Deletions last (they remove what other routes read); webhooks are left out: they only verify a
        # signature and queue (no DynamoDB request), and the settlement is measured by the latency bench.
        measured = [r for r in routes_of(stack) if not r.resource.startswith("/webhooks/")]
        for route in sorted(measured, key=lambda r: (r.method == "DELETE", r.resource, r.method)):
            role = "public" if route.public else "staff" if route.resource.startswith("/staff/") else "holder"
            path = route.resource.format(
                **{**ids, "service_id": vps.service_id} if "/activation" in route.resource else ids
            )
            body = BODIES.get((route.method, route.resource))
            event = proxy_event(
                method=route.method,
                resource=route.resource,
                path=path,
                path_parameters=route.match(route.method, path),
                headers={"Content-Type": "application/json"},
                body=None if body is None else json.dumps(body),
                claims=None if route.public else claims[role],
            )
            if route.resource == "/staff/upgrades/{upgrade_id}/complete":
                # Only a change whose server command is still pending can be completed by hand.
                from shared.dal.models import Upgrade

                stuck = Upgrade.get(*Upgrade.key(ids["upgrade_id"]))
                stuck.status = "applying"
                stuck.save()
            counter.operations.clear()
            result = runtime.invoke(route.function, event)
            status = int(result["statusCode"])
            rows.append((route, role, status, list(counter.operations)))
            answer = json.loads(result.get("body") or "null")
            if isinstance(answer, dict) and "upgrade" in answer:
                ids["upgrade_id"] = answer["upgrade"]["upgrade_id"]
            if isinstance(answer, dict) and "request_id" in answer:
                ids["request_id"] = answer["request_id"]
    finally:
        aws.stop()

    lines = [
        "## DynamoDB requests per endpoint (one call each, demo data)",
        "",
        "| Route | Method | Role | Status | DynamoDB requests | Operations | Target | |",
        "|---|---|---|---:|---:|---|---|---|",
    ]
    for route, role, status, operations in rows:
        limit = READ_LIMITS.get(route.resource, 1) if route.method == "GET" else WRITE_LIMITS.get(route.resource, 2)
        target = "1" if limit == 1 else f"≤ {limit}"
        ok = 200 <= status < 300 and len(operations) <= limit
        lines.append(
            f"| `{route.resource}` | {route.method} | {role} | {status} | {len(operations)} "
            f"| {', '.join(operations) or '-'} | {target} | {mark(ok)} |"
        )
    return lines


def _own_process(module: str, title: str) -> list[str]:
    # Its own process: it runs its own embedded AWS, which would share state with ours.
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    if result.returncode != 0:
        return [f"## {title}", "", f"❌ failed: {result.stdout[-500:]}{result.stderr[-1500:]}"]
    return result.stdout.strip().splitlines()


def activation_latency() -> list[str]:
    return _own_process("tools.bench_activation", "Payment webhook → service ACTIVE")


def whatsapp_fan_out() -> list[str]:
    return _own_process("tools.bench_alerts", "WhatsApp alerts: 1000 events x 3 recipients")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="measured cold-start rounds (default 7)")
    args = parser.parse_args()
    started = time.monotonic()
    # Cold starts first: the embedded AWS's threads would otherwise share the CPU with the probes.
    report = ["# Benchmarks", "", *cold_starts(args.repeat), "", *dynamodb_requests(), "", *activation_latency(), "",
              *whatsapp_fan_out(), ""]
    report.append(f"_Python {sys.version.split()[0]}, measured in {time.monotonic() - started:.0f} s._")
    print("\n".join(report))


if __name__ == "__main__":
    main()
