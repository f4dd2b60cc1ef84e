"""Runs the template's functions in this process, as Lambda would: one invocation at a time per
function (a single warm container), with a Lambda context object."""

import importlib
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


class Runtime:
    def __init__(self, stack: Stack):
        self.stack = stack
        self._locks = {name: threading.Lock() for name in stack.functions}
        self._handlers: dict[str, Any] = {}
        self.invocations = itertools.count()
        ensure_import_path()
        # One process hosts every function: give it the union of their environments. The template
        # tests make sure each function only reads variables declared for it.
        for function in stack.functions.values():
            for key, value in function.environment.items():
                if key != "POWERTOOLS_SERVICE_NAME":
                    os.environ[key] = value

    def handler(self, function: Function):
        if function.logical_id not in self._handlers:
            module = importlib.import_module(function.module)
            self._handlers[function.logical_id] = getattr(module, function.attribute)
        return self._handlers[function.logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        function = self.stack.functions[logical_id]
        with self._locks[logical_id]:
            handler = self.handler(function)
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
