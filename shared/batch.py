"""SQS consumers' partial batch responses (Powertools BatchProcessor): only the records whose handler
raised come back to the queue (and reach its DLQ after maxReceiveCount); the others are consumed."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def process_sqs(event: dict, record_handler: Callable[[SQSRecord], Any], context: Any) -> dict:
    if not event.get("Records"):  # Lambda never sends an empty batch; a replayed or hand-made one may be
        return {"batchItemFailures": []}
    # A whole batch failing is reported like any other failure (not raised): the messages each come back
    # after their own visibility timeout, which a retry's backoff may have set.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
