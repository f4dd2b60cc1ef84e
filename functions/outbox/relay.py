"""DynamoDB stream -> SQS. Publishes every new outbox EventRecord to its queues (shared.events.queue_variables).

At-least-once: a record whose publish failed (to any of its queues) is reported in batchItemFailures, and
Lambda resumes the shard from the earliest failed sequence number (later records may be sent again, to
every queue; consumers dedupe by event id). The event source's filter passes only INSERTs of Event items;
the check here keeps the relay correct if the filter is ever widened.
"""

import json
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer

from shared import config
from shared.aws import LazyClient
from shared.events import ALSO_TO, DEFAULT_QUEUE, QUEUE_OF, envelope_from_stream_image, queue_variables

logger = Logger()
# Created on first use: a test process that imports the module before it points boto3 at its AWS gets
# a client for that AWS, not for the real one.
sqs = LazyClient("sqs")
_deserializer = TypeDeserializer()
SQS_BATCH = 10


def _image(record: dict[str, Any]) -> dict[str, Any]:
    raw = record.get("dynamodb", {}).get("NewImage") or {}
    return {key: _deserializer.deserialize(value) for key, value in raw.items()}


def queue_urls() -> dict[str, tuple[str, ...]]:
    """Event type -> the URLs of its queues, "*" for every other event."""
    urls = {"*": (config.env(DEFAULT_QUEUE),)}
    for event_type in {*QUEUE_OF, *ALSO_TO}:
        urls[event_type] = tuple(config.env(variable) for variable in queue_variables(event_type))
    return urls


def publish(sqs_client: Any, queue_urls: dict[str, tuple[str, ...]], records: list[dict[str, Any]]) -> list[str]:
    """Send the outbox events among ``records`` to their queues (``queue_urls()``); returns the sequence
    numbers that failed."""
    by_queue: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        image = _image(record)
        if image.get("entity") != "Event":
            continue
        envelope = envelope_from_stream_image(image)
        for url in queue_urls.get(envelope["type"], queue_urls["*"]):
            by_queue.setdefault(url, []).append((record["dynamodb"]["SequenceNumber"], envelope))
    failed: set[str] = set()
    for url, pending in by_queue.items():
        failed.update(send(sqs_client, url, pending))
    return sorted(failed, key=int)


def message_entry(index: int, envelope: dict[str, Any]) -> dict[str, Any]:
    """One SendMessageBatch entry of an event envelope (the relay's and tools/replay_outbox.py's)."""
    return {
        "Id": str(index),
        "MessageBody": json.dumps(envelope, ensure_ascii=False),
        "MessageAttributes": {
            "event_type": {"DataType": "String", "StringValue": envelope["type"]},
            "event_id": {"DataType": "String", "StringValue": envelope["id"]},
        },
    }


def send(sqs_client: Any, queue_url: str, pending: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """(key, envelope) pairs to one queue, ten to a batch; returns the keys that failed."""
    failed: list[str] = []
    for start in range(0, len(pending), SQS_BATCH):
        chunk = pending[start : start + SQS_BATCH]
        entries = [message_entry(index, env) for index, (_, env) in enumerate(chunk)]
        try:
            answer = sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            failed.extend(chunk[int(f["Id"])][0] for f in answer.get("Failed", []))
        except Exception:
            logger.exception("send_message_batch failed", extra={"events": [e["id"] for _, e in chunk]})
            failed.extend(seq for seq, _ in chunk)
    return failed


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    failed = publish(sqs, queue_urls(), event.get("Records", []))
    if failed:
        logger.warning("events not published; the shard will retry", extra={"failed": len(failed)})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in sorted(failed, key=int)]}
