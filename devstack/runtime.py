"""Runs the template's functions in this process, as Lambda would: each invocation gets a
"container" of its own (a separately loaded copy of the handler module, so a resolver's per-request
state is never shared), up to MAX_CONTAINERS per function running at once; idle containers are reused
warm. Each invocation gets a Lambda context object."""

import importlib
import importlib.util
import itertools
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from devstack.cfn import ACCOUNT_ID, ROOT, Function, Stack

FUNCTIONS_DIR = str(ROOT / "functions")


def ensure_import_path() -> None:
    for path in (str(ROOT), FUNCTIONS_DIR):
        if path not in sys.path:
            sys.path.insert(0, path)


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_s: int
    started: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


MAX_CONTAINERS = 4
# Variables the local stack (or a test) points elsewhere than the template does, e.g. a provider's API
# at a loopback fake. Applied after the template's values by every Runtime.
ENV_OVERRIDES: dict[str, str] = {}


class Runtime:
    def __init__(self, stack: Stack, max_containers: int = MAX_CONTAINERS):
        self.stack = stack
        self.max_containers = max_containers
        self._available = threading.Condition()
        self._idle: dict[str, list[Any]] = {name: [] for name in stack.functions}
        self._started: dict[str, int] = {name: 0 for name in stack.functions}
        self.invocations = itertools.count()
        ensure_import_path()
        # One process hosts every function: give it the union of their environments. The template
        # tests make sure each function only reads variables declared for it.
        for function in stack.functions.values():
            for key, value in function.environment.items():
                if key != "POWERTOOLS_SERVICE_NAME":
                    os.environ[key] = value
        os.environ.update(ENV_OVERRIDES)

    def _new_container(self, function: Function, number: int):
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

    def _acquire(self, function: Function):
        name = function.logical_id
        with self._available:
            while not self._idle[name] and self._started[name] >= self.max_containers:
                self._available.wait()
            if self._idle[name]:
                return self._idle[name].pop()
            number = self._started[name]
            self._started[name] += 1
        return self._new_container(function, number)

    def _release(self, function: Function, handler) -> None:
        with self._available:
            self._idle[function.logical_id].append(handler)
            self._available.notify()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        function = self.stack.functions[logical_id]
        handler = self._acquire(function)
        try:
            context = LambdaContext(
                function_name=f"{self.stack.name}-{logical_id}",
                memory_limit_in_mb=1024,
                invoked_function_arn=f"arn:aws:lambda:{self.stack.region}:{ACCOUNT_ID}:function:{logical_id}",
                aws_request_id=str(uuid.uuid4()),
                timeout_s=function.timeout,
                started=time.monotonic(),
            )
            next(self.invocations)
            return handler(event, context)
        finally:
            self._release(function, handler)
