"""A bounded soak of the local stack (issue 17 §2): every client journey at once over HTTP against `make dev`, then
the invariants over the whole table.

    make dev                                   # in another terminal
    python -m tools.soak --minutes 10          # --workers 4 --url http://127.0.0.1:3000 --aws http://127.0.0.1:4566

Each worker runs journeys until the time is up (or --journeys each): sign up and sign in, order a hosting, pay it
(the provider's signed webhook, through /local/payments), wait for it to be active, open a ticket that staff and the
client answer (every third is left waiting on staff), read the status page and the knowledge base, order a plan
change and pay it, and (one in four, monthly ones) ask for the cancellation at the end of the period; every other
client pays monthly. Meanwhile the test clock moves (--clock-step P5D every --clock-every 20 s): renewal invoices are
issued, two of three are paid and the rest go on to suspension, cancellations take effect at the end of the period,
the SLA sweeps warn and breach the tickets left waiting. Loopback only, bounded in time and in count. It prints
requests per flow, errors, p50/p95/p99 latency, and the invariants (tools/invariants.py):
- every paid invoice has amount paid = its total, and one `invoice.paid` per settling payment;
- per client: what the invoices were paid + the credit = what its payments applied and credited;
- every WHM account of the fake server is recorded on exactly one service, and every active hosting has one;
- no service left half-way (`provisioning` past its claim, `queued` with its invoice paid);
- every alert delivery is one per (event, recipient, channel) — its key — and none was sent twice;
- every ticket not closed is on the SLA sweep's index no later than its running deadlines.
"""

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from itertools import count
from typing import Any

STAFF = "staff@ejemplo.com.ar"
PASSWORD = "Segura123"  # noqa: S105 - the soak's own throwaway accounts on the local stack
WAIT_ACTIVE_S = 30


class Client:
    """HTTP to the stack, timing every request under its flow's name."""

    def __init__(self, base: str, timings: dict[str, list[float]], errors: Counter, lock: threading.Lock):
        self.base, self.timings, self.errors, self.lock = base.rstrip("/"), timings, errors, lock
        self.clients: list[str] = []  # the tokens of the soak's clients, for the renewals as the clock moves

    def call(self, flow: str, method: str, path: str, body: Any = None, token: str | None = None,
             expect: tuple[int, ...] = (200, 201, 204), timeout: float = 30) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        elapsed = time.perf_counter() - started
        with self.lock:
            self.timings[flow].append(elapsed)
            if status not in expect:
                self.errors[f"{flow}: {method} {path.split('?')[0]} → {status}"] += 1
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def token(self, email: str, password: str) -> str:
        status, body = self.call("sign-in", "POST", "/local/token", {"email": email, "password": password})
        if status != 200:
            raise RuntimeError(f"no token for {email}: {status} {body}")
        return body["id_token"]


def _wait(read, done, seconds: float):
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.25)
        value = read()
    return value


def journey(http: Client, staff: str, n: int, run: str) -> None:
    email = f"soak-{run}-{n}@ejemplo.com.ar"
    status, made = http.call("sign-up", "POST", "/clients", {"email": email, "password": PASSWORD,
                                                             "name": f"Cliente Soak {n}", "phone":
                                                             f"+54 9 11 6{n % 1000:03d}-{n % 10000:04d}",
                                                             "whatsapp_opt_in": True})
    if status != 201:
        return
    token = http.token(email, PASSWORD)
    http.call("sign-in", "GET", "/me", token=token)
    # Monthly for every other client: the test clock's steps reach their renewals within the soak.
    cycle = "monthly" if n % 2 else "annually"
    status, order = http.call("order and pay", "POST", "/me/orders", {
        "product_id": "hosting-inicial", "billing_cycle": cycle, "domain": f"soak-{run}-{n}.com.ar"},
        token=token)
    if status != 201:
        return
    service_id, invoice_id = order["service"]["service_id"], order["invoice"]["invoice_id"]
    http.call("order and pay", "POST", "/local/payments", {"invoice_id": invoice_id})
    service = _wait(lambda: http.call("order and pay", "GET", f"/me/services/{service_id}", token=token)[1],
                    lambda s: isinstance(s, dict) and s.get("status") == "active", WAIT_ACTIVE_S)
    if not (isinstance(service, dict) and service.get("status") == "active"):
        with http.lock:
            http.errors["order and pay: the service did not become active in time"] += 1
        return
    status, ticket = http.call("ticket with replies", "POST", "/me/tickets", {
        "subject": "No carga mi sitio", "body": "Da error 500 desde esta mañana."}, token=token)
    if status == 201 and n % 3:  # every third ticket is left waiting on staff: the SLA sweeps warn and breach it
        path = f"/staff/tickets/{ticket['ticket_id']}/replies"
        http.call("ticket with replies", "POST", path, {"body": "Ya lo revisamos: era la caché."}, token=staff)
        http.call("ticket with replies", "POST", f"/me/tickets/{ticket['ticket_id']}/replies",
                  {"body": "Ahora anda, gracias."}, token=token)
    http.call("reads", "GET", "/status")
    http.call("reads", "GET", "/kb/search?q=upgrade")
    http.call("reads", "GET", "/me/invoices", token=token)
    status, upgrade = http.call("plan change", "POST", f"/services/{service_id}/upgrades",
                                {"target": "hosting-avanzado"}, token=token)
    if status == 201 and upgrade.get("invoice"):
        http.call("plan change", "POST", "/local/payments", {"invoice_id": upgrade["invoice"]["invoice_id"]})
    # From here the clock's steps pay (or not) its invoices: only those issued later (renewals), its own are paid.
    with http.lock:
        http.clients.append(token)
    if n % 4 != 1:
        return  # the others renew as the clock moves; a monthly one in four is cancelled, within the soak's clock
    http.call("cancellation", "POST", f"/services/{service_id}/cancellation",
              {"type": "end_of_period", "reason": "Prueba de carga.", "password": PASSWORD}, token=token,
              expect=(200, 201, 409))  # 409: the plan change still being applied


def move_clock(http: Client, step: str, moved: Counter) -> None:
    """One step of make dev's test clock (what came due fires: renewal invoices, suspensions, cancellations at the
    end of the period, SLA warnings and breaches), then two of every three unpaid invoices of the soak's clients are
    paid (the rest go on to suspension)."""
    # A step runs every schedule that came due, each once, before answering: minutes on a big table.
    status, answer = http.call("clock step", "POST", "/local/clock", {"advance": step}, timeout=600)
    if status != 200:
        return
    with http.lock:
        moved["steps"] += 1
        moved["schedules fired"] += len(answer.get("fired") or [])
        tokens = list(http.clients)
    for token in tokens:
        status, invoices = http.call("renewal payments", "GET", "/me/invoices", token=token)
        for invoice in invoices if status == 200 and isinstance(invoices, list) else []:
            if invoice["status"] != "unpaid":
                continue
            with http.lock:
                moved["unpaid seen"] += 1
                pay = moved["unpaid seen"] % 3 != 0
            if pay:
                status, _ = http.call("renewal payments", "POST", "/local/payments",
                                      {"invoice_id": invoice["invoice_id"]})
                with http.lock:
                    moved["paid"] += status == 200


# What the test clock's sweeps did, counted from the outbox at the end.
CLOCK_EVENTS = ("invoice.renewal_created", "service.renewed", "service.suspended", "service.unsuspended",
                "service.cancelled", "ticket.sla_warning", "ticket.sla_breached")


def invariants(aws: str, table: str, whm: dict) -> tuple[list[tuple[str, int]], Counter]:
    """(invariant, violations) over the whole table (tools/invariants.py), and the clock's events by type."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from tools import invariants as checks

    ddb = boto3.client("dynamodb", endpoint_url=aws, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # noqa: S106 - moto's fixed local credentials
    plain = TypeDeserializer()
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):  # a test-only walk of the whole table
        items += [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    # The soak's own clients (the demo data's invoices were written paid, without a provider's payment).
    ours = {i["client_id"] for i in items
            if i.get("entity") == "Client" and str(i.get("email", "")).startswith("soak-")}
    found = checks.check(items, clients=ours, whm=whm["accounts"])
    for name, violations in found.items():
        for violation in violations[:5]:
            print(f"  {name}: {violation}", file=sys.stderr)
    events = Counter(i["type"] for i in items if i.get("entity") == "Event" and i.get("type") in CLOCK_EVENTS)
    return [(name, len(violations)) for name, violations in found.items()], events


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--journeys", type=int, default=500, help="at most this many per worker")
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--aws", default="http://127.0.0.1:4566")
    parser.add_argument("--table", default="paneldecliente-local-Table")
    parser.add_argument("--clock-step", default="P5D", help="how far each step moves the test clock (ISO 8601)")
    parser.add_argument("--clock-every", type=float, default=20, help="seconds between steps (0: the clock stays)")
    args = parser.parse_args(argv)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    lock = threading.Lock()
    http = Client(args.url, timings, errors, lock)
    staff = http.token(STAFF, "Demo1234")
    run, serial = str(int(time.time()))[-6:], count(1)
    deadline = time.monotonic() + args.minutes * 60
    journeys = Counter()

    def worker() -> None:
        for _ in range(args.journeys):
            if time.monotonic() >= deadline:
                return
            try:
                journey(http, staff, next(serial), run)
                with lock:
                    journeys["done"] += 1
            except Exception as error:  # noqa: BLE001 - counted and reported, the soak goes on
                with lock:
                    errors[f"journey crashed: {type(error).__name__}: {str(error)[:80]}"] += 1

    moved: Counter = Counter()
    stop = threading.Event()

    def clock() -> None:
        while not stop.wait(args.clock_every):
            try:
                move_clock(http, args.clock_step, moved)
            except Exception as error:  # noqa: BLE001 - counted and reported, the soak goes on
                with lock:
                    errors[f"clock step crashed: {type(error).__name__}: {str(error)[:80]}"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    if args.clock_every > 0:
        threads.append(threading.Thread(target=clock, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads[: args.workers]:
        thread.join()
    stop.set()
    for thread in threads[args.workers:]:
        thread.join()
    elapsed = time.monotonic() - started
    time.sleep(3)  # what the last payments set off (alerts, emails) settles
    whm = json.loads(urllib.request.urlopen(f"{args.url}/local/whm", timeout=10).read())
    checks, clock_events = invariants(args.aws, args.table, whm)
    print(f"## Soak of the local stack: {journeys['done']} journeys by {args.workers} workers in {elapsed:.0f} s")
    print()
    if moved["steps"]:
        print(f"Test clock: {moved['steps']} steps of {args.clock_step} ({moved['schedules fired']} scheduled runs "
              f"fired by them); {moved['unpaid seen']} unpaid invoices seen after a step, {moved['paid']} paid. "
              "What the sweeps did: " + ", ".join(f"{clock_events[kind]} × {kind}" for kind in CLOCK_EVENTS) + ".")
        print()
    print("| flow | requests | errors | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for flow, values in sorted(timings.items()):
        wrong = sum(n for key, n in errors.items() if key.startswith(f"{flow}:"))
        print(f"| {flow} | {len(values)} | {wrong} | {statistics.median(values) * 1000:.0f} | {_ms(values, 0.95)} "
              f"| {_ms(values, 0.99)} |")
    print()
    for key, n in sorted(errors.items()):
        print(f"- {n} × {key}")
    print()
    print("| invariant | violations |")
    print("| --- | ---: |")
    for name, violations in checks:
        print(f"| {name} | {violations} |")
    return 0 if not any(v for _, v in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
