"""Put the services that were active before the lifecycle existed on the renewal sweep's index, once.

A service gets its anniversary and its index entry when it becomes active; services activated before
this capability was deployed have neither, so the daily sweep would never renew them. This one-off
migration reads every service (a Scan: an operator's tool, never a request or sweep path), and for each
active or suspended one without an entry records its anniversary (its current period's start) and its
next step. Re-running it changes nothing.

    .venv/bin/python -m tools.backfill_lifecycle [--dry-run]
    (environment: TABLE_NAME, AWS credentials/region; AWS_ENDPOINT_URL for `make dev`)
"""

def backfill(dry_run: bool = False) -> dict[str, int]:
    from shared import lifecycle
    from shared.dal.services import Service
    from shared.dal.table import save_one
    from shared.errors import ConcurrentModification

    policy = lifecycle.LifecyclePolicy.from_env()
    done = {"scheduled": 0, "already": 0, "not_live": 0, "changed_meanwhile": 0}
    for service in Service.scan():  # PynamoDB filters on the discriminator: services only
        if service.status not in ("active", "suspended") or not service.period_end:
            done["not_live"] += 1
            continue
        if service.due_sk and service.anniversary_on:
            done["already"] += 1
            continue
        if not service.anniversary_on:
            lifecycle.started(service)
        lifecycle.schedule(service, policy)
        if not dry_run:
            try:
                save_one(service)
            except ConcurrentModification:  # changed by the system meanwhile, which schedules it itself
                done["changed_meanwhile"] += 1
                continue
        done["scheduled"] += 1
    return done


def main() -> None:
    from tools.one_off import run

    run(__doc__, backfill)


if __name__ == "__main__":
    main()
