"""Republish the outbox events of a time range, each to its queue (the relay's routing table).

For after an outage: when the relay gave up on a batch (it lands in OutboxRelayFailureQueue and its
alarm fires), the Event items are still in the table (30 days). Consumers dedupe by event id, so
replaying a wider range than needed is harmless.

    .venv/bin/python -m tools.replay_outbox --since 2026-11-25T09:00:00Z --until 2026-11-25T11:00:00Z
    (environment: TABLE_NAME, every queue variable the relay has — ALERTS_QUEUE_URL, PROVISIONING_QUEUE_URL,
    CANCELLATIONS_QUEUE_URL, MAIL_QUEUE_URL, TICKETS_QUEUE_URL, KB_INDEX_QUEUE_URL, FEATURE_NOTICES_QUEUE_URL,
    STATUS_NOTICES_QUEUE_URL
    (shared/events.py: QUEUE_OF, ALSO_TO) —, AWS credentials/region; AWS_ENDPOINT_URL for `make dev`)
"""

import argparse
import os
import sys
from datetime import datetime


def replay(outbox, sqs, queue_urls: dict[str, tuple[str, ...]], since: datetime, until: datetime) -> int:
    """``queue_urls``: as outbox.relay.queue_urls() gives them. Returns how many events were sent."""
    from outbox.relay import send

    from shared.events import envelope

    by_queue: dict[str, list] = {}
    for record in outbox.events_between(since, until):
        body = envelope(record)
        for url in queue_urls.get(body["type"], queue_urls["*"]):
            by_queue.setdefault(url, []).append((body["id"], body))
    sent = 0
    for url, pending in by_queue.items():
        failed = send(sqs, url, pending)
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} events: {failed[:3]}")
        sent += len(pending)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", required=True, type=datetime.fromisoformat)
    parser.add_argument("--until", required=True, type=datetime.fromisoformat)
    args = parser.parse_args()
    if args.since.tzinfo is None or args.until.tzinfo is None:
        sys.exit("--since and --until need a time zone (e.g. 2026-11-25T09:00:00Z)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [root, os.path.join(root, "functions")]
    import boto3
    from outbox.relay import queue_urls

    from shared import config
    from shared.dal.outbox import Outbox

    sent = replay(Outbox(), boto3.client("sqs", region_name=config.region()), queue_urls(), args.since, args.until)
    print(f"republished {sent} events from {args.since.isoformat()} to {args.until.isoformat()}")


if __name__ == "__main__":
    main()
