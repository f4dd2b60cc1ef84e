"""Putting deliveries on the deliveries queue, ten to a SendMessageBatch."""

import json

from shared import config


def send_batch(sqs, delivery_pks: list[str], delays: dict[str, int] | None = None) -> list[str]:
    """Queue up to ten deliveries in one call (``delays``: seconds a delivery waits on the queue before
    the sender sees it, up to SQS's 900); returns the keys SQS did not take."""
    if not delivery_pks:
        return []
    entries = [{"Id": str(i), "MessageBody": json.dumps({"delivery": pk})} for i, pk in enumerate(delivery_pks)]
    for entry, pk in zip(entries, delivery_pks, strict=True):
        if (delays or {}).get(pk):
            entry["DelaySeconds"] = min(delays[pk], 900)
    try:
        answer = sqs.send_message_batch(QueueUrl=config.env(config.DELIVERIES_QUEUE_URL), Entries=entries)
    except Exception:  # noqa: BLE001 - the whole call failed: every key is reported, the caller retries
        return list(delivery_pks)
    return [delivery_pks[int(failed["Id"])] for failed in answer.get("Failed", [])]
