"""Record where every existing service lives (a ServerMember marker per service with a server), once, after the
deploy that brings the status page's alerts; afterwards activation writes them with each server account
(functions/activation/server_accounts.py). Without them, the clients of services made before would see an incident
on their services but never be alerted of it.

    python -m tools.backfill_server_members --dry-run     # counts
    python -m tools.backfill_server_members

A one-off Scan of the services (not a request or sweep path); idempotent: a marker holds only the service's id, so
writing it again changes nothing.
"""

from tools.one_off import run


def backfill(dry_run: bool) -> dict[str, int]:
    from shared.dal.services import Service
    from shared.dal.status import server_member

    counts = {"services": 0, "on_a_server": 0, "written": 0}
    markers = []
    for service in Service.scan(Service.server.exists()):  # PynamoDB filters on the discriminator too
        counts["services"] += 1
        if service.server:
            counts["on_a_server"] += 1
            markers.append(server_member(service.server, service.service_id))
    if not dry_run:
        with Service.batch_write() as batch:  # 25 per BatchWriteItem, unprocessed ones retried by PynamoDB
            for marker in markers:
                batch.save(marker)
        counts["written"] = len(markers)
    return counts


if __name__ == "__main__":
    run(__doc__, backfill)
