"""The status page (run by tools/bench in its own process): `GET /status` and `GET /status/feed` through the real
handler, on the demo's page and on a page at its cap (what the document keeps: the active incidents, 50 resolved
incidents and 50 completed maintenance of the last 90 days, five updates each), with the document's size — the
"one GetItem of a small item" claim of docs/status-page.md, measured."""

import time
from datetime import UTC, datetime, timedelta

from tools.bench_kb import ms, on_embedded_stack, p95

ROUNDS = 200


def _full_document(components: dict, now: datetime) -> dict:
    from shared.clock import to_storage
    from shared.ids import id_at

    def updates(statuses: list[str], at: datetime) -> list[dict]:
        return [{"status": s, "message": "Novedad del equipo técnico sobre el problema y lo que sigue. " * 3,
                 "at": to_storage(at + timedelta(minutes=10 * n))} for n, s in enumerate(statuses)]

    incidents, maintenances = [], []
    for n in range(55):  # 5 active, 50 resolved
        at = now - timedelta(days=n + 1)
        done = n >= 5
        incidents.append({"incident_id": id_at(at), "title": f"Demoras en el servidor número {n}", "impact": "major",
                          "status": "resolved" if done else "monitoring", "component_ids": [sorted(components)[0]],
                          "created_at": to_storage(at), "updated_at": to_storage(at + timedelta(hours=1)),
                          "resolved_at": to_storage(at + timedelta(hours=1)) if done else None,
                          "updates": updates(["investigating", "identified", "monitoring", "monitoring",
                                              "resolved" if done else "monitoring"], at)})
    for n in range(50):
        at = now - timedelta(days=n + 1)
        maintenances.append({"maintenance_id": id_at(at), "title": f"Actualización programada {n}",
                             "message": "Actualizamos el sistema operativo; los sitios pueden no responder.",
                             "status": "completed", "component_ids": [sorted(components)[0]],
                             "starts_at": to_storage(at), "ends_at": to_storage(at + timedelta(hours=2)),
                             "created_at": to_storage(at - timedelta(days=3)),
                             "updated_at": to_storage(at + timedelta(hours=2)),
                             "completed_at": to_storage(at + timedelta(hours=2)),
                             "updates": updates(["in_progress", "completed"], at)})
    return {"components": components, "incidents": incidents, "maintenances": maintenances}


def _run(stack) -> list[str]:
    import json

    from devstack.gateway import proxy_event
    from devstack.runtime import Runtime
    from devstack.seed import STATUS_COMPONENTS, seed_status_page
    from shared.dal.status import StatusPage

    now = datetime.now(UTC)
    runtime = Runtime(stack)

    def latencies(path: str) -> list[float]:
        timings = []
        for _ in range(ROUNDS):
            event = proxy_event(method="GET", resource=path, path=path, query=None, headers={}, body=None,
                                claims=None)
            started = time.perf_counter()
            answer = runtime.invoke("StatusFunction", event)
            timings.append(time.perf_counter() - started)
            assert answer["statusCode"] == 200, answer
        return timings

    rows = []
    seed_status_page(now)
    pages = [("the demo's page: 5 components, nothing happening", None),
             ("at its cap: 5 active and 50 resolved incidents, 50 completed maintenance",
              _full_document(STATUS_COMPONENTS, now))]
    for label, document in pages:
        if document is not None:
            stored = StatusPage.get(*StatusPage.key())
            stored.document = document
            stored.save()
        size = len(json.dumps(StatusPage.get(*StatusPage.key()).document, ensure_ascii=False).encode())
        latencies("/status")  # warm: the handler's imports are the cold start's, not a read's
        page, feed = latencies("/status"), latencies("/status/feed")
        rows.append(f"| {label} | {size / 1024:.0f} KB | {ms(page)} | {p95(page)} | {ms(feed)} | {p95(feed)} |")
    return [
        "## Status page",
        "",
        f"`GET /status` and `GET /status/feed` through the real handler (one GetItem of the page's document each), "
        f"{ROUNDS} calls each.",
        "",
        "| page | document | `/status` median | p95 | `/status/feed` median | p95 |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]


if __name__ == "__main__":
    print("\n".join(on_embedded_stack(_run)))
