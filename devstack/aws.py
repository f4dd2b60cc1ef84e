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


# How often a server's loop checks for a stop (socketserver's default, 0.5 s, is what each stop waits).
SHUTDOWN_POLL_S = 0.05


class _Serialised:
    def __init__(self, app):
        self._app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the body inside the lock: moto may build it lazily.
            return list(self._app(environ, start_response))


class _CognitoAsConfigured:
    """What real Cognito refuses and moto lets through, refused here too, so that the local port is no way around
    the pool's settings (a login must never be given another account's ids): ``SignUp`` on a pool that allows
    admin creation only (the template's ``AllowAdminCreateUserOnly``), and ``UpdateUserAttributes`` of an
    attribute the token's app client may not write (its ``WriteAttributes``: ``custom:client_id`` and
    ``custom:contact_id`` are set by the backend alone, with the admin API)."""

    TARGET = "AWSCognitoIdentityProviderService."

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target in (self.TARGET + "SignUp", self.TARGET + "UpdateUserAttributes"):
            import io
            import json

            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                request = {}
            refusal = self._refusal(target.removeprefix(self.TARGET), request if isinstance(request, dict) else {})
            if refusal is not None:
                payload = json.dumps({"__type": "NotAuthorizedException", "message": refusal}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                                   ("x-amzn-ErrorType", "NotAuthorizedException"),
                                                   ("Content-Length", str(len(payload)))])
                return [payload]
        return self._app(environ, start_response)

    @staticmethod
    def _pools():
        from moto.cognitoidp.models import cognitoidp_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        regions = {os.environ.get("AWS_DEFAULT_REGION") or "us-east-1", "us-east-1"}
        backends = cognitoidp_backends[DEFAULT_ACCOUNT_ID]
        return [pool for region in regions for pool in backends[region].user_pools.values()]

    def _refusal(self, operation: str, request: dict) -> str | None:
        for pool in self._pools():
            if operation == "SignUp" and request.get("ClientId") in pool.clients:
                admin_only = (pool.extended_config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly")
                return "SignUp is not permitted for this user pool" if admin_only else None
            if operation == "UpdateUserAttributes" and request.get("AccessToken") in pool.access_tokens:
                client_id, _ = pool.access_tokens[request["AccessToken"]]
                client = pool.clients.get(client_id)
                allowed = set((client.extended_config.get("WriteAttributes") if client else None) or [])
                names = {a.get("Name") for a in request.get("UserAttributes") or [] if isinstance(a, dict)}
                if client is not None and client.extended_config.get("WriteAttributes") is not None \
                        and names - allowed:
                    return "A client attempted to write unauthorized attribute"
                return None
        return None


def _checked_then_written(backend, transact_items: list[dict]) -> None:
    """TransactWriteItems as DynamoDB runs it: every condition checked first, then every write applied.
    moto instead writes as it goes and, to roll back, deep-copies the whole table once per item of the
    transaction: a cost that grows with the table (minutes per sweep over 10,000 services) where
    DynamoDB's grows with the transaction. Transactions with an Update (ours have none) keep moto's way."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    if any(len(item) > 1 for item in transact_items):
        raise TransactWriteSingleOpException
    if any("Update" in item or not set(item) <= {"ConditionCheck", "Put", "Delete"} for item in transact_items):
        return _MOTO_TRANSACT_WRITE(backend, transact_items)
    seen: set[tuple[str, str]] = set()
    keyed = []
    errors: list[tuple] = []
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        identity = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        keyed.append((op_type, op, key))
        failed = None
        if op.get("ConditionExpression") is not None:
            current = backend.get_item(op["TableName"], key)
            condition = get_filter_expression(op["ConditionExpression"], op.get("ExpressionAttributeNames"),
                                              op.get("ExpressionAttributeValues"))
            if not condition.expr(current):
                old = (current.to_json()["Attributes"]
                       if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None)
                failed = ("ConditionalCheckFailed", ConditionalCheckFailed().message, old)
        errors.append(failed or (None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in keyed:  # every check passed: the writes cannot fail on a condition any more
        if op_type == "Put":
            backend.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            backend.delete_item(op["TableName"], key)


def _install_fast_transactions() -> None:
    global _MOTO_TRANSACT_WRITE
    from moto.dynamodb.models import DynamoDBBackend

    if DynamoDBBackend.transact_write_items is not _checked_then_written:
        _MOTO_TRANSACT_WRITE = DynamoDBBackend.transact_write_items
        DynamoDBBackend.transact_write_items = _checked_then_written


_MOTO_TRANSACT_WRITE = None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # pollers call moto many times a second
        pass


class EmbeddedAws:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        _install_fast_transactions()
        self._app = _Serialised(_CognitoAsConfigured(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            host, port, self._app, threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                                        name="moto", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmbeddedAws":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()  # werkzeug's serve_forever closes the socket when it returns
            self._thread.join(timeout=2)

    def environment(self) -> dict[str, str]:
        """What a process needs so that boto3 and PynamoDB talk to this AWS."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def export(self) -> None:
        os.environ.update(self.environment())

    def read_stream(self, stream_arn: str, after_sequence: int | None, limit: int) -> list[dict]:
        """Records of a table's stream after a sequence number (None: from the trim horizon).

        Read from the live table under the request lock rather than through GetShardIterator +
        GetRecords: moto rolls back a cancelled transaction by swapping in a copy of the table, and an
        iterator taken before the swap would still show the cancelled writes. Lambda's own event
        source mapping reads the shard directly too.
        """
        import copy

        with self._app.lock:
            shard = _stream_shard(stream_arn)
            # A record's sequence number is its position plus the shard's first one (moto's StreamShard.add):
            # only the records asked for are converted. Converting the whole stream at every poll (four times a
            # second per poller, idle) kept a core busy, and blocked every other AWS call, once it had grown.
            first = 0 if after_sequence is None else max(0, after_sequence - shard.starting_sequence_number + 1)
            records = [r.to_json() for r in shard.items[first:first + limit]]
            if after_sequence is not None:  # the arithmetic, checked
                records = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) > after_sequence]
            return copy.deepcopy(records)

    def last_sequence(self, stream_arn: str) -> int | None:
        """The sequence number of a table's stream's last record (None: no record yet), converting none."""
        with self._app.lock:
            shard = _stream_shard(stream_arn)
            return shard.starting_sequence_number + len(shard.items) - 1 if shard.items else None

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).read()


def _stream_shard(stream_arn: str):
    """moto's shard of a table's stream, from the stream's ARN (the caller holds the request lock)."""
    from moto.dynamodb.models import dynamodb_backends

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    return dynamodb_backends[account][region].get_table(resource.split("/")[1]).stream_shard
