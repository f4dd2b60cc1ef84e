"""Runs the template's functions in this process, as Lambda would: each invocation gets a
"container" of its own (a separately loaded copy of the handler module, so a resolver's per-request
state is never shared), up to MAX_CONTAINERS per function running at once; idle containers are reused
warm. Each invocation gets a Lambda context object.

Logs: in Lambda every container is a process with its own POWERTOOLS_SERVICE_NAME and its own
Powertools Logger state. Here they share one process (and one os.environ), so the Logger's keys are kept
per container (see ``isolate_powertools_logs``): each invocation logs its own function name, request id
and cold start, and the service its function declares in the template, however many run at once.
"""

import contextvars
import importlib
import importlib.util
import itertools
import logging
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from devstack.cfn import ACCOUNT_ID, ROOT, Function, Stack

FUNCTIONS_DIR = str(ROOT / "functions")


def ensure_import_path() -> None:
    for path in (str(ROOT), FUNCTIONS_DIR):
        if path not in sys.path:
            sys.path.insert(0, path)


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object (what Powertools' inject_lambda_context reads:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_s: int
    started: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


@dataclass
class Container:
    """One warm copy of a function: its handler, and the Powertools Logger keys it has set."""

    function: Function
    number: int
    handler: Any
    invocations: int = 0
    log_keys: dict[int, dict[str, Any]] = field(default_factory=dict)  # id(formatter) -> its log_format


@dataclass(frozen=True)
class Invocation:
    container: Container
    service: str
    cold_start: bool


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("devstack_invocation", default=None)


def current_invocation() -> Invocation | None:
    """The invocation running in this thread (None outside Runtime.invoke, e.g. a test calling a handler)."""
    return _current.get()


# --- Powertools Logger: keys per container -------------------------------------------------------------


class _PerContainerKeys:
    """Mixed into a Powertools formatter: ``log_format`` (every key append_keys/structure_logs/clear_state
    set, e.g. function_name and function_request_id from the Lambda context) is the running container's,
    and ``service`` is the function's when the Logger was created without one (``service_undefined``: the
    shared process has no POWERTOOLS_SERVICE_NAME). Outside an invocation it behaves as before."""

    @property
    def log_format(self) -> dict[str, Any]:
        invocation = _current.get()
        if invocation is None:
            return self.__dict__["log_format"]
        keys = invocation.container.log_keys
        if id(self) not in keys:
            keys[id(self)] = dict(self.__dict__["log_format"])  # what the module set at import
        return keys[id(self)]

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        invocation = _current.get()
        if invocation is None:
            self.__dict__["log_format"] = value
        else:
            invocation.container.log_keys[id(self)] = value

    def _extract_log_keys(self, log_record: logging.LogRecord) -> dict[str, Any]:
        keys = super()._extract_log_keys(log_record)
        invocation = _current.get()
        if invocation is not None:
            if keys.get("service") in (None, "service_undefined"):
                keys["service"] = invocation.service
            if "cold_start" in keys:  # Powertools' flag is per process; Lambda's cold start is per container
                keys["cold_start"] = invocation.cold_start
        return keys


_isolated_classes: dict[type, type] = {}
_isolation_lock = threading.Lock()


def isolate_powertools_logs() -> None:
    """Give every Powertools Logger configured so far per-container keys (idempotent). Loggers of the same
    service share one handler and formatter, and shared/ is imported once for every function, so without
    this concurrent invocations overwrite each other's keys (function_name, request id)."""
    try:
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
    except ImportError:
        return
    with _isolation_lock:
        for candidate in list(logging.Logger.manager.loggerDict.values()):
            handler = getattr(candidate, "powertools_handler", None)
            formatter = getattr(handler, "formatter", None)
            if not isinstance(formatter, LambdaPowertoolsFormatter) or isinstance(formatter, _PerContainerKeys):
                continue
            cls = type(formatter)
            if cls not in _isolated_classes:
                _isolated_classes[cls] = type(f"PerContainer{cls.__name__}", (_PerContainerKeys, cls), {})
            isolated = object.__new__(_isolated_classes[cls])
            isolated.__dict__.update(formatter.__dict__)
            isolated.update_formatter = isolated.append_keys  # Powertools' alias, bound to the new object
            handler.setFormatter(isolated)


MAX_CONTAINERS = 4
# Variables the local stack (or a test) points elsewhere than the template does, e.g. a provider's API
# at a loopback fake. Applied after the template's values by every Runtime.
ENV_OVERRIDES: dict[str, str] = {}


class _PerThread:
    """A class attribute whose value is each thread's own (see _requests_per_thread)."""

    def __init__(self):
        self._local = threading.local()

    def __get__(self, obj, owner=None):
        return getattr(self._local, "value", None)

    def __set__(self, obj, value):
        self._local.value = value


def _requests_per_thread() -> None:
    """Powertools' REST resolver keeps the request it serves on a class attribute (BaseRouter.current_event and
    lambda_context): right in Lambda, where a process serves one request at a time, but here every function runs in
    threads of one process, and two API requests at once would read each other's caller. Both attributes become
    per-thread — read and written on the class (through its metaclass) or on a resolver — so requests still run at
    once, as Lambda's many containers do."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter.__dict__.get("current_event"), _PerThread):
        return
    event, context = _PerThread(), _PerThread()
    meta = type("PerThreadRouterMeta", (type(BaseRouter),), {"current_event": event, "lambda_context": context})
    BaseRouter.current_event, BaseRouter.lambda_context = event, context  # for lookups through a resolver
    BaseRouter.__class__ = meta  # and through the class: the metaclass's data descriptors come first


class Runtime:
    def __init__(self, stack: Stack, max_containers: int = MAX_CONTAINERS):
        self.stack = stack
        self.max_containers = max_containers
        self._available = threading.Condition()
        self._idle: dict[str, list[Container]] = {name: [] for name in stack.functions}
        self._started: dict[str, int] = {name: 0 for name in stack.functions}
        self.invocations = itertools.count()
        ensure_import_path()
        _requests_per_thread()
        # One process hosts every function: give it the union of their environments. The template
        # tests make sure each function only reads variables declared for it.
        for function in stack.functions.values():
            for key, value in function.environment.items():
                if key != "POWERTOOLS_SERVICE_NAME":
                    os.environ[key] = value
        os.environ.update(ENV_OVERRIDES)

    def _new_container(self, function: Function, number: int) -> Container:
        return Container(function, number, self._load_handler(function, number))

    def _load_handler(self, function: Function, number: int):
        if number == 0:  # the first is the module itself, as tests and tools import it
            module = importlib.import_module(function.module)
        else:
            # Another copy of the handler module: its own resolver, clients and warm state. What it
            # imports (logic, shared/) is shared, as those hold no per-request state.
            origin = importlib.util.find_spec(function.module).origin
            spec = importlib.util.spec_from_file_location(f"{function.module}__container{number}", origin)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        return getattr(module, function.attribute)

    def _acquire(self, function: Function) -> Container:
        name = function.logical_id
        with self._available:
            while not self._idle[name] and self._started[name] >= self.max_containers:
                self._available.wait()
            if self._idle[name]:
                return self._idle[name].pop()
            number = self._started[name]
            self._started[name] += 1
        return self._new_container(function, number)

    def _release(self, function: Function, container: Container) -> None:
        with self._available:
            self._idle[function.logical_id].append(container)
            self._available.notify()

    def context_for(self, function: Function, container: Container) -> LambdaContext:
        name = self.stack.refs.get(function.logical_id) or f"{self.stack.name}-{function.logical_id}"
        return LambdaContext(
            function_name=name,
            memory_limit_in_mb=function.memory_size,
            invoked_function_arn=f"arn:aws:lambda:{self.stack.region}:{ACCOUNT_ID}:function:{name}",
            aws_request_id=str(uuid.uuid4()),
            timeout_s=function.timeout,
            started=time.monotonic(),
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]local{container.number:04d}",
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        function = self.stack.functions[logical_id]
        container = self._acquire(function)
        isolate_powertools_logs()  # Loggers the new container (or a lazy import) configured
        container.invocations += 1
        token = _current.set(Invocation(container, function.service_name, cold_start=container.invocations == 1))
        try:
            next(self.invocations)
            return container.handler(event, self.context_for(function, container))
        finally:
            _current.reset(token)
            self._release(function, container)
            from devstack.workers import ACTIVITY

            ACTIVITY.stir()  # what it wrote may be for an idle poller
