"""Embedded AWS: moto's server in this process, on loopback.

moto applies a request's changes without a lock, so two concurrent conditional writes could both
pass their checks. Real DynamoDB serialises writes to an item; we get the same guarantee by handling
one AWS request at a time (moto answers in microseconds, so this costs the local stack nothing).
"""

import os
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class _Serialised:
    def __init__(self, app):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            # Materialise the body inside the lock: moto may build it lazily.
            return list(self._app(environ, start_response))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # pollers call moto many times a second
        pass


class EmbeddedAws:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(
            host, port, _Serialised(DomainDispatcherApplication(create_backend_app)), threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmbeddedAws":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def environment(self) -> dict[str, str]:
        """What a process needs so that boto3 and PynamoDB talk to this AWS."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def export(self) -> None:
        os.environ.update(self.environment())

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).read()
