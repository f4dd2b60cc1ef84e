"""The lifecycle sweeps over a large table with little due (run by tools/bench in its own process).

The renewal sweep and the cancellation sweep run over ``--small`` and then ``--large`` services, each
time with 10 due (10 renewal invoices to issue, 10 cancellations to execute): what they read (items from
the sparse index, GetItem/BatchGetItem) must stay at what is due, and their time must not grow with the
table (the large run within 1.2× of the small one). Every run is repeated with 10 fresh due ones and
its median taken.

The time compared is the sweep's own: its wall time less the time the embedded DynamoDB (moto) spent
answering. moto answers a Query on an index by walking every item of the table, and copies the whole
table for each item of a TransactWriteItems (to roll back), so its share grows with the table where
DynamoDB's does not (DynamoDB reads only the index entries in the key range: the items-read column,
moto's ScannedCount, shows that). Both times are printed.
"""

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUE = 10
MAX_ITEMS_READ = 20
MAX_RATIO = 1.2
REPEAT = 5


class ReadCounter:
    """WSGI middleware in front of moto: the items every DynamoDB read returned or scanned."""

    def __init__(self, app):
        self.app, self.items, self.seconds = app, 0, 0.0

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.split(".", 1)[1] if target.startswith("DynamoDB_20120810.") else ""
        started = time.perf_counter()
        body = list(self.app(environ, start_response))
        self.seconds += time.perf_counter() - started
        if operation in ("Query", "Scan", "GetItem", "BatchGetItem"):
            try:
                answer = json.loads(b"".join(body))
            except ValueError:
                return body
            if operation in ("Query", "Scan"):
                self.items += int(answer.get("ScannedCount", 0))
            elif operation == "GetItem":
                self.items += 1 if answer.get("Item") else 0
            else:
                self.items += sum(len(v) for v in answer.get("Responses", {}).values())
        return body


def measure(small: int, large: int) -> list[str]:
    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.runtime import ensure_import_path

    aws = EmbeddedAws().start()
    aws.export()
    counter = ReadCounter(aws._server.app)
    aws._server.app = counter
    try:
        stack = provision(boto3.Session(region_name="us-east-1"))
        for function in stack.functions.values():
            import os

            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ensure_import_path()
        return _run(counter, small, large)
    finally:
        aws.stop()


def _run(counter: ReadCounter, small: int, large: int) -> list[str]:
    from lifecycle import cancellations, renewal_sweep

    from shared import lifecycle
    from shared.calendar import add_months, local_date, local_midnight
    from shared.clock import FixedClock, to_storage
    from shared.dal.accounts import Client
    from shared.dal.lifecycle import Cancellation
    from shared.dal.services import Service
    from shared.dal.table import TableItem
    from shared.ids import new_id

    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    policy = lifecycle.LifecyclePolicy()
    client_id = new_id()
    Client(*Client.key(client_id), client_id=client_id, email="bench@ejemplo.com.ar", name="Bench",
           created_at=to_storage(now), updated_at=to_storage(now)).save()

    def service(ends_in_days: int) -> Service:
        end = local_midnight(local_date(now) + timedelta(days=ends_in_days))
        service_id = new_id()
        item = Service(
            *Service.key(service_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"SERVICE#{service_id}",
            service_id=service_id, client_id=client_id, product_id="hosting-inicial", product_name="Hosting Inicial",
            product_group="Hosting", product_kind="hosting", status="active", billing_cycle="annually",
            currency="ARS", recurring_amount=10000,
            period_start=to_storage(local_midnight(add_months(end.date(), -12))),
            period_end=to_storage(end), activation_state="active", created_at=to_storage(now),
            updated_at=to_storage(now),
        )
        lifecycle.started(item)
        lifecycle.schedule(item, policy)
        return item

    def cancellation(of: Service, due: bool) -> Cancellation:
        at = now - timedelta(minutes=5) if due else now + timedelta(days=30 + hash(of.service_id) % 300)
        item = Cancellation(*Cancellation.key(of.service_id), service_id=of.service_id, client_id=client_id,
                            type="end_of_period", reason="bench", status="pending", effective_at=to_storage(at),
                            renewal_policy="stands", requested_at=to_storage(now), requested_by="bench")
        from shared.dal.lifecycle import CANCELLATION_DUE
        from shared.dal.table import mark_due

        mark_due(item, CANCELLATION_DUE, of.service_id, item.effective_at)
        return item

    def fill(count: int) -> None:
        """Services not due for months (their renewal, their end-of-period cancellation)."""
        with TableItem.batch_write() as batch:
            for index in range(count):
                not_due = service(60 + index % 300)
                batch.save(not_due)
                batch.save(cancellation(not_due, due=False))

    def due_ones(kind: str) -> None:
        with TableItem.batch_write() as batch:
            for _ in range(DUE):
                if kind == "renewal":
                    batch.save(service(10))  # its renewal invoice was due 4 days ago
                    continue
                due = service(200)
                due.cancellation_type = "end_of_period"
                lifecycle.schedule(due, policy)
                batch.save(due)
                batch.save(cancellation(due, due=True))

    repos = renewal_sweep.Repositories(renewal_sweep.lifecycles, renewal_sweep.services, renewal_sweep.billing,
                                       renewal_sweep.accounts, renewal_sweep.plan_changes)

    def timed(sweep) -> tuple[float, float, int, dict]:
        counter.items, counter.seconds = 0, 0.0
        started = time.perf_counter()
        done = sweep()
        wall = time.perf_counter() - started
        return wall - counter.seconds, wall, counter.items, done

    sweeps = {
        "renewal": ("renewal sweep (daily)", lambda: renewal_sweep.run(repos, FixedClock(now), policy)),
        "cancellation": ("cancellation sweep (15 min)", lambda: cancellations.sweep(
            cancellations.lifecycles, cancellations.services, cancellations.billing, cancellations.plan_changes,
            FixedClock(now))),
    }
    results: dict[str, dict[int, tuple[float, float, int, dict]]] = {name: {} for name, _ in sweeps.values()}
    size = 0
    for target in (small, large):
        print(f"lifecycle: filling the table to {target} services", file=sys.stderr)
        fill(target - size)
        size = target
        # The emulated table lives in this process (in Lambda it does not): its items are moved out of the
        # garbage collector's sight, or every collection during the sweep would walk them too.
        gc.collect()
        gc.freeze()
        for kind, (name, sweep) in sweeps.items():
            runs = []
            for _ in range(REPEAT):
                due_ones(kind)
                runs.append(timed(sweep))
            results[name][target] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                                     max(r[2] for r in runs), runs[-1][3])

    lines = [
        f"## Lifecycle sweeps: {small:,} vs {large:,} services, {DUE} due (median of {REPEAT})",
        "",
        "| Sweep | Services | Did | Items read | Sweep's own s | Large / small | Wall s (with moto) | Target | |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for name, by_size in results.items():
        small_s = by_size[small][0]
        for target, (own, wall, items, done) in by_size.items():
            ratio = own / small_s if small_s else 0.0
            did = ", ".join(f"{k} {v}" for k, v in done.items() if v)
            ok = items <= MAX_ITEMS_READ and (target == small or ratio <= MAX_RATIO)
            lines.append(f"| {name} | {target:,} | {did} | {items} | {own:.3f} | {ratio:.2f} | {wall:.2f} "
                         f"| ≤ {MAX_ITEMS_READ} items; own time ≤ {MAX_RATIO}× | {'✅' if ok else '❌'} |")
    lines += ["", "Items read: what the sweep's reads returned or scanned (the sparse index's due entries, the "
              "due items themselves, the clients whose credit pays a renewal at issue)."]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        report = measure(args.small, args.large)
    print("\n".join(report))
