"""AWS clients created on first use.

boto3 builds a client from its service model (tens of milliseconds). A function that needs a client
only on some paths (KMS for credentials, Cognito for sign-ups) should not make every cold start pay.
"""

from typing import Any

from shared import config


class LazyClient:
    def __init__(self, service: str):
        self._service = service
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(self._service, region_name=config.region())
        return getattr(self._client, name)
