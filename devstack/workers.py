"""Event sources of the template, driven locally: SQS queues, the table's stream, schedules.

They follow Lambda's event-source rules: SQS batches with partial-batch responses (failed messages
stay on the queue and come back after the visibility timeout; moto's redrive policy moves them to
the DLQ after maxReceiveCount), stream batches retried from the earliest failure up to
MaximumRetryAttempts and then sent to the OnFailure destination, schedules fired on their rate/cron.
"""

import hashlib
import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.cfn import ACCOUNT_ID, Function, Stack
from shared.clock import SystemClock, shift_system_clock


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge/Lambda filter patterns: the subset the template uses (lists of exact values, nesting)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return pattern == value


def _passes(filters: list[dict[str, Any]] | None, record: dict[str, Any]) -> bool:
    if not filters:
        return True
    return any(matches(json.loads(f["Pattern"]), record) for f in filters)


class Activity:
    """Something ran (a function was invoked: a request, a worker, a schedule): what an idle poller waits for.

    Every write of the stack comes from an invocation in this process, so an idle poller need not ask its queue or
    stream four times a second: it sleeps until the next invocation ends, or ``IDLE_WAIT_S`` at most (a message
    whose visibility timeout ran out, or a delayed one, becomes visible with no invocation). Twelve pollers asking
    four times a second kept a fifth of a core busy in an idle stack, and the end-to-end tests run several."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.generation = 0

    def stir(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait_after(self, seen: int, timeout: float) -> None:
        """Until something ran after generation ``seen`` (read before the poll that found nothing), or timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen, timeout)


ACTIVITY = Activity()
IDLE_WAIT_S = 2.0


class Poller(threading.Thread):
    interval = 0.05
    idle_after = 20  # polls with nothing to do (a second) before waiting for activity instead
    waits_for_activity = True

    def __init__(self, name: str):
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Ask the poller to stop: it does at once when idle, after the batch in hand otherwise."""
        self._stop_event.set()
        ACTIVITY.stir()  # wakes it if it waits for activity

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        idle = 0
        while not self._stop_event.is_set():
            seen = ACTIVITY.generation
            try:
                busy = self.poll_once()
            except Exception as error:  # keep the local stack alive; say what happened
                print(f"[{self.name}] {type(error).__name__}: {error}")
                busy = False
            idle = 0 if busy else idle + 1
            if busy:
                continue
            if idle < self.idle_after or not self.waits_for_activity:
                self._stop_event.wait(self.interval)
            else:
                ACTIVITY.wait_after(seen, IDLE_WAIT_S)

    def poll_once(self) -> bool:
        raise NotImplementedError


class SqsPoller(Poller):
    def __init__(self, session, runtime, function: Function, props: dict[str, Any], stack: Stack):
        super().__init__(f"sqs:{function.logical_id}")
        self.sqs = session.client("sqs")
        self.runtime = runtime
        self.function = function
        self.queue_arn = props["Queue"]
        self.queue_url = next(
            stack.refs[lid] for lid, attrs in stack.attrs.items() if attrs.get("Arn") == self.queue_arn
        )
        self.batch_size = min(int(props.get("BatchSize", 10)), 10)
        self.partial = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        self.region = stack.region

    def poll_once(self) -> bool:
        # Short polls, always: the embedded AWS answers one request at a time, so a long poll (a queue's
        # ReceiveMessageWaitTimeSeconds) would hold every other AWS call, and the stack's stop, for up to 20 s.
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return False
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self.runtime.invoke(self.function.logical_id, event)
        except Exception as error:
            print(f"[{self.name}] batch failed: {type(error).__name__}: {error}")
            return True  # nothing deleted: every message comes back after the visibility timeout
        failed: set[str] = set()
        if self.partial and isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return True

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            key: {
                "stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"],
            }
            for key, value in (message.get("MessageAttributes") or {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 (SQS's own checksum)
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


class StreamPoller(Poller):
    def __init__(self, session, runtime, function: Function, props: dict[str, Any], stack: Stack, aws):
        super().__init__(f"stream:{function.logical_id}")
        self.sqs = session.client("sqs")
        self.aws = aws
        self.runtime = runtime
        self.function = function
        self.stream_arn = props["Stream"]
        self.batch_size = int(props.get("BatchSize", 100))
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.partial = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        self.filters = (props.get("FilterCriteria") or {}).get("Filters")
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        self.on_failure_url = None
        if destination:
            self.on_failure_url = next(
                stack.refs[lid] for lid, attrs in stack.attrs.items() if attrs.get("Arn") == destination
            )
        # The checkpoint: the last sequence number done (None = start at the trim horizon).
        self.checkpoint: int | None = None
        if props.get("StartingPosition", "LATEST") == "LATEST":
            self.checkpoint = self.aws.last_sequence(self.stream_arn)
        self.attempts = 0

    def poll_once(self) -> bool:
        records = self.aws.read_stream(self.stream_arn, self.checkpoint, self.batch_size)
        if not records:
            return False
        for record in records:
            record.setdefault("eventSourceARN", self.stream_arn)
        chosen = [r for r in records if _passes(self.filters, r)]
        failed_from: str | None = None
        if chosen:
            try:
                result = self.runtime.invoke(self.function.logical_id, {"Records": _jsonable(chosen)})
                if self.partial and isinstance(result, dict) and result.get("batchItemFailures"):
                    failed_from = min((f["itemIdentifier"] for f in result["batchItemFailures"]), key=int)
            except Exception as error:
                print(f"[{self.name}] batch failed: {type(error).__name__}: {error}")
                failed_from = chosen[0]["dynamodb"]["SequenceNumber"]
        if failed_from is not None:
            self.attempts += 1
            if self.max_retries < 0 or self.attempts <= self.max_retries:
                # Resume the shard at the first failure (what Lambda checkpoints for streams).
                self.checkpoint = int(failed_from) - 1
                self._stop_event.wait(min(0.05 * 2**self.attempts, 1.0))  # the backoff; a stop cuts it short
                return True
            self._send_to_on_failure(chosen)
        self.attempts = 0
        self.checkpoint = int(records[-1]["dynamodb"]["SequenceNumber"])
        return True

    def _send_to_on_failure(self, records: list[dict[str, Any]]) -> None:
        if not self.on_failure_url:
            return
        first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
        self.sqs.send_message(
            QueueUrl=self.on_failure_url,
            MessageBody=json.dumps({
                "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": self.attempts},
                "DDBStreamBatchInfo": {
                    "shardId": "shardId-local", "startSequenceNumber": first, "endSequenceNumber": last,
                    "streamArn": self.stream_arn, "batchSize": len(records),
                },
            }),
        )


def _jsonable(value: Any) -> Any:
    """Stream records through boto3 carry datetimes and bytes; Lambda receives JSON."""
    import base64
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- schedules ---------------------------------------------------------------------------------------

_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def next_fire(expression: str, after: datetime) -> datetime:
    """Next time an EventBridge ``rate(...)`` or ``cron(...)`` expression fires after ``after`` (UTC)."""
    expression = expression.strip()
    if expression.startswith("rate(") and expression.endswith(")"):
        amount, unit = expression[5:-1].split()
        return after + timedelta(seconds=int(amount) * _RATE_UNITS[unit])
    if expression.startswith("cron(") and expression.endswith(")"):
        from croniter import croniter

        minute, hour, dom, month, dow, _year = expression[5:-1].split()
        dow = "*" if dow == "?" else _aws_dow(dow)
        dom = "*" if dom == "?" else dom
        return croniter(f"{minute} {hour} {dom} {month} {dow}", after).get_next(datetime)
    raise ValueError(f"unsupported schedule expression: {expression}")


def _aws_dow(field: str) -> str:
    # EventBridge numbers days 1-7 from Sunday; cron 0-6 from Sunday. Names need no change.
    return "".join(str(int(ch) - 1) if ch.isdigit() else ch for ch in field)


def scheduled_event(rule_name: str, region: str, at: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class Scheduler(Poller):
    """The template's schedules, on SystemClock's time, so that make dev's test clock (``advance``) moves
    them too. One lock runs every catch-up: the poll thread and ``POST /local/clock`` never fire one
    schedule twice for the same due time."""

    interval = 1.0
    waits_for_activity = False  # what it fires is due by the clock, not by anything that ran

    def __init__(self, runtime, stack: Stack):
        super().__init__("schedules")
        self.runtime = runtime
        self.stack = stack
        self.clock = SystemClock()
        self.lock = threading.RLock()  # re-entrant: advance moves the clock and catches up under it
        now = self.clock.now()
        self.schedules: dict[str, tuple[str, str, datetime]] = {}
        for function in stack.functions.values():
            for name, props in function.events_of("Schedule"):
                if props.get("Enabled", True) in (False, "false"):
                    continue
                key = f"{function.logical_id}.{name}"
                self.schedules[key] = (function.logical_id, props["Schedule"], next_fire(props["Schedule"], now))

    def fire(self, key: str) -> Any:
        """Run a schedule now (``make fire``, ``POST /local/schedules/<Function.Event>``)."""
        if key not in self.schedules:
            # Accept the function name alone when it has one schedule.
            matches_ = [k for k in self.schedules if k.split(".")[0] == key]
            if len(matches_) != 1:
                raise KeyError(key)
            key = matches_[0]
        function, _, _ = self.schedules[key]
        return self.runtime.invoke(function, scheduled_event(key, self.stack.region, self.clock.now()))

    def catch_up(self) -> list[dict[str, Any]]:
        """Fire every schedule due by now, each once however many times it came due (as a test clock does),
        earliest due first, and schedule each again from now. One failing does not keep the rest from running."""
        fired: list[dict[str, Any]] = []
        with self.lock:
            now = self.clock.now()
            due = sorted((at, key) for key, (_, _, at) in self.schedules.items() if at <= now)
            for _, key in due:
                if self.stopping:
                    break
                function, expression, _ = self.schedules[key]
                self.schedules[key] = (function, expression, next_fire(expression, now))
                try:
                    result = self.runtime.invoke(function, scheduled_event(key, self.stack.region, now))
                except Exception as error:
                    print(f"[{self.name}] {key} failed: {type(error).__name__}: {error}")
                    fired.append({"schedule": key, "error": f"{type(error).__name__}: {error}"})
                else:
                    fired.append({"schedule": key, "result": result})
        return fired

    def advance(self, *, to: datetime | None = None,
                by: timedelta | None = None) -> tuple[datetime, list[dict[str, Any]]]:
        """make dev's test clock: move SystemClock (the whole process's) forward, to ``to`` or ``by`` a
        duration, and fire what came due, as ``catch_up``; returns the time moved to and what fired. Under
        the lock, so that the poll thread cannot fire those first, and two moves cannot both start from the
        same now."""
        with self.lock:
            now = self.clock.now()
            move = by if to is None else to - now
            if move is None:
                raise ClockInputError("Indique a qué hora (\"now\") o cuánto (\"advance\") avanzar el reloj.")
            if move < timedelta(0):
                raise ClockBackwards(now + move, now)
            if move > MAX_CLOCK_MOVE:
                raise ClockInputError("El reloj de prueba avanza como máximo 5 años por vez.")
            shift_system_clock(move)
            return now + move, self.catch_up()

    def poll_once(self) -> bool:
        self.catch_up()
        return False


# --- make dev's test clock (POST /local/clock) ------------------------------------------------------------

MAX_CLOCK_MOVE = timedelta(days=5 * 365 + 2)  # five years, leap days included

_DURATION = re.compile(r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
                       r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?")
_DURATION_HELP = "use semanas, días, horas, minutos o segundos, por ejemplo P14D, PT6H o P1DT2H"


class ClockInputError(ValueError):
    """A body the test clock cannot use (400); the message is for the user, in Spanish."""


class ClockBackwards(ValueError):
    """The test clock only moves forward, like Stripe's (409): what already ran cannot be undone."""

    def __init__(self, target: datetime, now: datetime):
        super().__init__(f"El reloj de prueba solo avanza: {iso_z(target)} es anterior a su hora actual, "
                         f"{iso_z(now)}.")


def parse_duration(text: Any) -> timedelta:
    """An ISO-8601 duration of weeks, days, hours, minutes and seconds (P14D, PT6H, P1DT2H, P2W). Years and
    months are refused: their length depends on the date they start from."""
    if not isinstance(text, str):
        raise ClockInputError(f"\"advance\" debe ser una duración ISO-8601: {_DURATION_HELP}.")
    text = text.strip().upper()
    found = _DURATION.fullmatch(text)
    if found is None or not any(found.groupdict().values()):
        if re.match(r"P[^T]*[YM]", text):  # a Y, or an M before the T (after it M is minutes)
            raise ClockInputError(f"La duración no admite años ni meses (su largo varía): {_DURATION_HELP}.")
        raise ClockInputError(f"\"advance\" no es una duración ISO-8601 válida: {_DURATION_HELP}.")
    try:
        return timedelta(**{unit: int(value) for unit, value in found.groupdict().items() if value})
    except OverflowError:  # more days than timedelta holds: far past the cap anyway
        raise ClockInputError("El reloj de prueba avanza como máximo 5 años por vez.") from None


def parse_instant(text: Any) -> datetime:
    """An ISO-8601 date and time with its offset (a time without one could be any of 24 hours)."""
    example = "por ejemplo 2027-01-01T03:00:00Z"
    try:
        at = datetime.fromisoformat(text.strip())
    except (AttributeError, TypeError, ValueError):
        raise ClockInputError(f"\"now\" debe ser una fecha y hora ISO-8601, {example}.") from None
    if at.tzinfo is None:
        raise ClockInputError(f"\"now\" debe indicar la zona horaria (Z o -03:00), {example}.")
    return at.astimezone(UTC)


def iso_z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pollers_for(session, runtime, stack: Stack, aws) -> list[Poller]:
    pollers: list[Poller] = []
    for function in stack.functions.values():
        for _, props in function.events_of("SQS"):
            pollers.append(SqsPoller(session, runtime, function, props, stack))
        for _, props in function.events_of("DynamoDB"):
            pollers.append(StreamPoller(session, runtime, function, props, stack, aws))
    return pollers
