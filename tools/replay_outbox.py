"""Republish outbox events of a time range to the alerts queue.

For after an outage: when the relay gave up on a batch (it lands in OutboxRelayFailureQueue and its
alarm fires), the Event items are still in the table (30 days). Consumers dedupe by event id, so
replaying a wider range than needed is harmless.

    .venv/bin/python -m tools.replay_outbox --since 2026-11-25T09:00:00Z --until 2026-11-25T11:00:00Z
    (environment: TABLE_NAME, ALERTS_QUEUE_URL, AWS credentials/region; AWS_ENDPOINT_URL for `make dev`)
"""

import argparse
import json
import os
import sys
from datetime import datetime


def replay(store, sqs, queue_url: str, since: datetime, until: datetime) -> int:
    from shared.events import envelope

    batch: list[dict] = []
    sent = 0

    def flush() -> None:
        nonlocal sent
        if not batch:
            return
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} messages: {answer['Failed'][:3]}")
        sent += len(batch)
        batch.clear()

    for record in store.events_between(since, until):
        body = envelope(record)
        batch.append({
            "Id": str(len(batch)),
            "MessageBody": json.dumps(body, ensure_ascii=False),
            "MessageAttributes": {
                "event_type": {"DataType": "String", "StringValue": body["type"]},
                "event_id": {"DataType": "String", "StringValue": body["id"]},
            },
        })
        if len(batch) == 10:
            flush()
    flush()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", required=True, type=datetime.fromisoformat)
    parser.add_argument("--until", required=True, type=datetime.fromisoformat)
    args = parser.parse_args()
    if args.since.tzinfo is None or args.until.tzinfo is None:
        sys.exit("--since and --until need a time zone (e.g. 2026-11-25T09:00:00Z)")
    sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    import boto3

    from shared import config
    from shared.dal.repositories import Store

    sent = replay(Store(), boto3.client("sqs", region_name=config.region()), config.env(config.ALERTS_QUEUE_URL),
                  args.since, args.until)
    print(f"republished {sent} events from {args.since.isoformat()} to {args.until.isoformat()}")


if __name__ == "__main__":
    main()
