"""AWS clients created on first use.

boto3 builds a client from its service model (tens of milliseconds). A function that needs a client
only on some paths (KMS for credentials, Cognito for sign-ups) should not make every cold start pay.
"""

import weakref
from typing import Any

from shared import config, snapstart

# Imported on first use below; with SnapStart, before the snapshot (shared/snapstart.py).
snapstart.prime("boto3", "aws_lambda_powertools.utilities.parameters")


def json_secret(setting: str) -> dict:
    """The JSON secret whose id is in the environment variable ``setting``, cached for five minutes so that a
    rotation takes effect without a deploy. Never logged."""
    # Imported on first read: Powertools' parameters import boto3 and, through it, multiprocessing (about 50 ms
    # of a cold start that a webhook would otherwise pay before reading its request).
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(config.env(setting), transform="json", max_age=300) or {}


class LazyClient:
    _made: "weakref.WeakSet[LazyClient]" = weakref.WeakSet()

    def __init__(self, service: str, **options: Any):
        """``options``: botocore Config settings, e.g. ``signature_version="s3v4"``."""
        self._service = service
        self._options = options
        self._client: Any = None
        LazyClient._made.add(self)

    @classmethod
    def forget_all(cls) -> None:
        """Every client made so far is dropped; the next call makes a new one (after a SnapStart restore)."""
        for lazy in list(cls._made):
            lazy._client = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(self._service, region_name=config.region(),
                                        config=Config(**self._options) if self._options else None)
        return getattr(self._client, name)


def delay_redelivery(sqs: Any, queue_url: str, record: dict, seconds: int) -> bool:
    """Bring an SQS message that failed back after ``seconds`` (a retry with backoff), instead of after the
    queue's visibility timeout. Returns False if that could not be done: the queue's own timeout then
    brings it back, later."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"],
                                      VisibilityTimeout=seconds)
    except Exception:  # noqa: BLE001 - a retry a little later is no reason to fail the batch
        return False
    return True
