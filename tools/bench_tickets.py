"""The tickets' SLA sweep over many open tickets with few due, and the holder's ticket pages (run by tools/bench
in its own process).

The one-minute sweep runs over ``--small`` and then ``--large`` open tickets, 10 of them due each time (their
first response is late: 10 breaches to record): what it reads (the due entries of the sparse by_due index, the
closed days) must stay at what is due, and its time must not grow with the table (the large run within 1.2× of
the small one). Every run is repeated with 10 fresh due tickets (the swept ones are deleted after it, so every
run sees exactly that many open tickets) and its median taken.

The time compared is the sweep's own: its wall time less the time the embedded DynamoDB (moto) spent
answering (tools/bench_lifecycle says why moto's share grows with the table where DynamoDB's does not).

Then, on the large table, the holder's ticket list and one ticket's detail (its conversation: the client's
message, staff's answer, the client's reply and an internal note) through the real handler: one DynamoDB
request each, because the conversation lives under the ticket's key.
"""

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tools.bench_lifecycle import ReadCounter

ROOT = Path(__file__).resolve().parent.parent
DUE = 10
MAX_ITEMS_READ = 20
MAX_RATIO = 1.2
REPEAT = 9  # a sweep takes tens of milliseconds of its own: more runs steady the median on a busy machine
OWNERS = 200  # the accounts the open tickets belong to (the holder's is one of them)
# Tuesday 1 June 2027, 15:00 in Buenos Aires: business hours. The due tickets were opened on Monday at 10:00,
# so their first response (8 business hours, the Standard plan's) was due at 11:00 today: each is one breach,
# its resolution's warning still ahead (Wednesday 00:24). The others were opened within the last hour.
NOW = datetime(2027, 6, 1, 18, 0, tzinfo=UTC)
DUE_OPENED = datetime(2027, 5, 31, 13, 0, tzinfo=UTC)


class RequestCounter(ReadCounter):
    """ReadCounter that also records the DynamoDB operations (what a route or a sweep sends)."""

    def __init__(self, app):
        super().__init__(app)
        self.operations: list[str] = []

    def clear(self) -> None:
        self.items, self.seconds, self.operations = 0, 0.0, []

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_20120810."):
            self.operations.append(target.split(".", 1)[1])
        return super().__call__(environ, start_response)


def measure(small: int, large: int) -> list[str]:
    import os

    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.runtime import ENV_OVERRIDES, ensure_import_path

    ENV_OVERRIDES["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    aws = EmbeddedAws().start()
    aws.export()
    counter = RequestCounter(aws._server.app)
    aws._server.app = counter
    try:
        stack = provision(boto3.Session(region_name="us-east-1"))
        for function in stack.functions.values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ensure_import_path()
        return _run(counter, stack, small, large)
    finally:
        aws.stop()


def _operations_text(operations: list[str]) -> str:
    from tools.bench import _operations_text as text

    return text(operations, 0).replace(" (0 items read)", "")


def _run(counter: RequestCounter, stack, small: int, large: int) -> list[str]:
    from tickets import clocks, sla_sweep
    from tickets.clocks import TicketPolicy

    from shared.clock import FixedClock, to_storage
    from shared.dal.accounts import Client
    from shared.dal.table import TableItem
    from shared.dal.tickets import Ticket, TicketMessage, Tickets
    from shared.ids import id_at, new_id
    from shared.sla import Priority, SlaClass, SupportPlan

    policy = TicketPolicy()
    owners = [new_id() for _ in range(OWNERS)]
    holder_id = owners[0]
    Client(*Client.key(holder_id), client_id=holder_id, email="bench@ejemplo.com.ar", name="Bench",
           created_at=to_storage(NOW), updated_at=to_storage(NOW)).save()

    def ticket(opened: datetime, owner: str) -> tuple[Ticket, TicketMessage]:
        """An open ticket and its first message, as opening one writes them (clocks started, on by_due)."""
        made, _ = clocks.new_ticket(
            ticket_id=id_at(opened), client_id=owner, subject="No carga mi sitio", sla_class=SlaClass.ADVICE,
            priority=Priority.P3, plan=SupportPlan.STANDARD, service=None, client=None, opened_by="bench",
            role="holder", contact_id=None, channel="panel", now=opened, closed_days=frozenset(), policy=policy)
        message_id = id_at(opened)
        message = TicketMessage(*TicketMessage.key(made.ticket_id, message_id), ticket_id=made.ticket_id,
                                message_id=message_id, author_role="client", author="bench",
                                author_name="bench@ejemplo.com.ar", body="Da error 500.", created_at=made.created_at)
        return made, message

    written = 0

    def fill(count: int) -> None:
        """Tickets opened within the last hour: their first warning is tomorrow."""
        nonlocal written
        with TableItem.batch_write() as batch:
            for index in range(written, written + count):
                for item in ticket(NOW - timedelta(minutes=index % 60), owners[index % OWNERS]):
                    batch.save(item)
        written += count

    def due_ones() -> list[TableItem]:
        items = [item for index in range(DUE) for item in ticket(DUE_OPENED, owners[(index + 1) % OWNERS])]
        with TableItem.batch_write() as batch:
            for item in items:
                batch.save(item)
        return items

    def remove(items: list[TableItem]) -> None:
        with TableItem.batch_write() as batch:
            for item in items:
                batch.delete(item)

    def timed() -> tuple[float, float, int, list[str], dict]:
        counter.clear()
        started = time.perf_counter()
        done = sla_sweep.run(Tickets(), FixedClock(NOW), policy)
        wall = time.perf_counter() - started
        return wall - counter.seconds, wall, counter.items, list(counter.operations), done

    results: dict[int, tuple[float, float, int, list[str], dict]] = {}
    again: dict[int, dict] = {}  # a second sweep at the same time: each step is taken once, so nothing is left
    for target in (small, large):
        print(f"tickets: filling the table to {target} open tickets", file=sys.stderr)
        fill(target - DUE - written)
        # The emulated table lives in this process (in Lambda it does not): out of the collector's sight.
        gc.collect()
        gc.freeze()
        runs = []
        for _ in range(REPEAT):
            due = due_ones()
            runs.append(timed())
            left = {k: v for k, v in sla_sweep.run(Tickets(), FixedClock(NOW), policy).items() if v}
            again[target] = again.get(target) or left
            remove(due)
        results[target] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                           max(r[2] for r in runs), max((r[3] for r in runs), key=len), runs[-1][4])

    lines = [
        f"## Tickets: SLA sweep over {small:,} vs {large:,} open tickets, {DUE} due (median of {REPEAT})",
        "",
        "| Sweep | Open tickets | Did | Items read | DynamoDB requests | Sweep's own s | Large / small "
        "| Wall s (with moto) | Target | |",
        "|---|---:|---|---:|---|---:|---:|---:|---|---|",
    ]
    small_s = results[small][0]
    for target, (own, wall, items, operations, done) in results.items():
        ratio = own / small_s if small_s else 0.0
        did = ", ".join(f"{k} {v}" for k, v in done.items() if v) or "-"
        if done["failed"] or done["sla_breached"] != DUE:
            did += f"; WRONG: {DUE} breaches expected"
        if again[target]:
            did += f"; WRONG: a second sweep did {again[target]}"
        ok = (items <= MAX_ITEMS_READ and (target == small or ratio <= MAX_RATIO) and not done["failed"]
              and done["sla_breached"] == DUE and not again[target])
        lines.append(f"| SLA sweep (1 min) | {target:,} | {did} | {items} | {len(operations)}: "
                     f"{_operations_text(operations)} | {own:.3f} | {ratio:.2f} | {wall:.2f} "
                     f"| ≤ {MAX_ITEMS_READ} items; own time ≤ {MAX_RATIO}× | {'✅' if ok else '❌'} |")
    lines += ["", "Items read: what the sweep's reads returned or scanned (the due entries of by_due's 8 shards, "
              "then the closed days, one Query of their partition: none here). Its writes: one transaction per "
              "due ticket (the ticket, its event, the breach's figure)."]
    lines += ["", *_holder_pages(counter, stack, holder_id, large)]
    return lines


def _holder_pages(counter: RequestCounter, stack, holder_id: str, open_tickets: int) -> list[str]:
    """The holder opens a ticket, staff answer and note, the holder replies (the real handlers), then the two
    pages are read: the list (by_owner) and the detail (the ticket's partition)."""
    from devstack.gateway import proxy_event, routes_of
    from devstack.runtime import Runtime

    holder = {"sub": "bench-holder", "token_use": "id", "email": "bench@ejemplo.com.ar",
              "custom:client_id": holder_id}
    staff = {"sub": "bench-staff", "token_use": "id", "email": "staff@ejemplo.com.ar", "cognito:groups": "staff"}
    runtime = Runtime(stack)
    routes = {(r.method, r.resource): r for r in routes_of(stack)}

    def call(method: str, resource: str, path: str, claims: dict, body: dict | None = None):
        route = routes[(method, resource)]
        event = proxy_event(method=method, resource=resource, path=path, path_parameters=route.match(method, path),
                            headers={"Content-Type": "application/json"},
                            body=None if body is None else json.dumps(body), claims=claims)
        counter.clear()
        result = runtime.invoke(route.function, event)
        status, answer = int(result["statusCode"]), json.loads(result.get("body") or "null")
        return status, answer, list(counter.operations), counter.items

    before = len(call("GET", "/me/tickets", "/me/tickets", holder)[1] or [])
    status, opened, _, _ = call("POST", "/me/tickets", "/me/tickets", holder,
                                {"subject": "No carga mi sitio", "body": "Da error 500."})
    if status != 201:
        raise RuntimeError(f"could not open the holder's ticket: {status} {opened}")
    ticket_id = opened["ticket_id"]
    for method, resource, claims, body in (
            ("POST", "/staff/tickets/{ticket_id}/replies", staff, {"body": "¿Desde cuándo pasa?"}),
            ("POST", "/staff/tickets/{ticket_id}/notes", staff, {"body": "Revisar los logs del servidor."}),
            ("POST", "/me/tickets/{ticket_id}/replies", holder, {"body": "Desde esta mañana."})):
        status, answer, _, _ = call(method, resource, resource.format(ticket_id=ticket_id), claims, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {resource}: {status} {answer}")

    rows = []
    status, answer, operations, items = call("GET", "/me/tickets", "/me/tickets", holder)
    listed = isinstance(answer, list) and len(answer) == before + 1 and ticket_id in {t["ticket_id"] for t in answer}
    rows.append(("`/me/tickets`", f"the account's {before + 1} tickets", status, operations, items,
                 None if listed else f"listed {len(answer) if isinstance(answer, list) else answer!r}"))
    path = f"/me/tickets/{ticket_id}"
    status, answer, operations, items = call("GET", "/me/tickets/{ticket_id}", path, holder)
    messages = answer.get("messages", []) if isinstance(answer, dict) else []
    shown = len(messages) == 3 and "notes" not in answer
    rows.append(("`/me/tickets/{ticket_id}`", "3 messages and an internal note (not shown)", status, operations,
                 items, None if shown else f"{len(messages)} messages, notes {'notes' in (answer or {})}"))
    lines = [
        f"## Tickets: the holder's ticket pages (a table of {open_tickets:,} open tickets)",
        "",
        "| Route | Method | Role | Reads | Status | DynamoDB requests | Operations | Target | |",
        "|---|---|---|---|---:|---:|---|---|---|",
    ]
    for route, reads, status, operations, items, wrong in rows:
        ok = status == 200 and len(operations) == 1 and wrong is None
        text = f"{_operations_text(operations)} ({items} items read)" + (f"; WRONG ANSWER: {wrong}" if wrong else "")
        lines.append(f"| {route} | GET | holder | {reads} | {status} | {len(operations)} | {text} | 1 "
                     f"| {'✅' if ok else '❌'} |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        report = measure(args.small, args.large)
    print("\n".join(report))
