"""The local stack's emulation: schedule expressions, filter patterns, template parameters, the runtime's
Lambda context and logs, and how fast the stack stops."""

import importlib
import io
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from devstack.cfn import Function, ParameterError, Stack, parse_parameter, provision, resolve_parameters
from devstack.runtime import Runtime
from devstack.workers import SqsPoller, matches, next_fire


def test_rate_and_cron_expressions():
    at = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # a Wednesday
    assert next_fire("rate(5 minutes)", at) == datetime(2026, 11, 25, 12, 35, tzinfo=UTC)
    assert next_fire("cron(0 12 * * ? *)", at) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # EventBridge counts weekdays 1-7 from Sunday: 2 is Monday.
    assert next_fire("cron(0 9 ? * 2 *)", at) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert next_fire("cron(0 9 ? * MON-FRI *)", at) == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_filter_patterns_as_the_relay_uses_them():
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["Event"]}}}}
    insert_event = {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "Event"}}}}
    assert matches(pattern, insert_event)
    assert not matches(pattern, {**insert_event, "eventName": "MODIFY"})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "Client"}}}})
    assert not matches(pattern, {"eventName": "REMOVE", "dynamodb": {}})


# --- the runtime: each invocation logs as its own function ---------------------------------------------

_SHARED = '''
import threading
from aws_lambda_powertools import Logger

logger = Logger()  # like shared/http.py: one module, imported once, used by every function
barrier = threading.Barrier(3)
'''

_HANDLER = '''
from aws_lambda_powertools import Logger
import {shared}

logger = Logger()  # no service: the shared process has no POWERTOOLS_SERVICE_NAME

@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    logger.warning("before")
    {shared}.barrier.wait(timeout=10)  # the three invocations are all running now
    logger.warning("after")
    {shared}.logger.warning("shared")
    return {{"request_id": context.aws_request_id, "function_name": context.function_name}}
'''


def _json_lines(text: str) -> list[dict]:
    decoder, out, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) >= 0:
        value, at = decoder.raw_decode(text, start)
        out.append(value)
    return out


def test_concurrent_invocations_log_their_own_function_service_and_request(tmp_path, monkeypatch):
    """Three invocations at once (two containers of one function, one of another) each log the function
    name and request id of their Lambda context and the service the template gives their function (its
    logical id when it gives none), from the handler's Logger and from a Logger shared by every function."""
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    suffix = uuid.uuid4().hex[:8]
    shared, alpha, beta = f"logtest_shared_{suffix}", f"logtest_alpha_{suffix}", f"logtest_beta_{suffix}"
    (tmp_path / f"{shared}.py").write_text(_SHARED)
    for name in (alpha, beta):
        (tmp_path / f"{name}.py").write_text(_HANDLER.format(shared=shared))
    stack = Stack(name="logtest", region="us-east-1", functions={
        "AlphaFunction": Function("AlphaFunction", f"{alpha}.handler", {"POWERTOOLS_SERVICE_NAME": "alpha"}, {}),
        "BetaFunction": Function("BetaFunction", f"{beta}.handler", {}, {}),
    })
    runtime = Runtime(stack)
    importlib.import_module(alpha)  # configures the Powertools handler, so that its stream can be swapped
    handler = logging.getLogger("service_undefined").powertools_handler
    previous = handler.setStream(io.StringIO())
    try:
        with ThreadPoolExecutor(3) as pool:
            names = ("AlphaFunction", "AlphaFunction", "BetaFunction")
            calls = [pool.submit(runtime.invoke, name, {}) for name in names]
            results = [call.result(timeout=30) for call in calls]
        stream = handler.setStream(previous)
    except BaseException:
        handler.setStream(previous)
        raise
    logs = [line for line in _json_lines(stream.getvalue()) if line.get("message") in ("before", "after", "shared")]

    assert [r["function_name"] for r in results] == ["logtest-AlphaFunction"] * 2 + ["logtest-BetaFunction"]
    assert len({r["request_id"] for r in results}) == 3
    service_of = {"logtest-AlphaFunction": "alpha", "logtest-BetaFunction": "BetaFunction"}
    for result in results:
        mine = [line for line in logs if line.get("function_request_id") == result["request_id"]]
        assert sorted(line["message"] for line in mine) == ["after", "before", "shared"], logs
        assert {line["function_name"] for line in mine} == {result["function_name"]}
        assert {line["service"] for line in mine} == {service_of[result["function_name"]]}
        assert {line["cold_start"] for line in mine} == {True}  # each ran in a new container
    assert len(logs) == 9


# --- template parameters (make dev ARGS="--param Name=Value") ------------------------------------------

_TEMPLATE = {"Parameters": {
    "UpgradePricing": {"Type": "String", "Default": "difference", "AllowedValues": ["difference", "prorata"]},
    "PayWithinDays": {"Type": "Number", "Default": 7, "MinValue": 1, "MaxValue": 60},
    "QuietHours": {"Type": "String", "Default": "21:00-09:00",
                   "AllowedPattern": "^[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$|^$"},
}}


def test_parameters_default_and_override_as_cloudformation_checks_them():
    assert resolve_parameters(_TEMPLATE) == {"UpgradePricing": "difference", "PayWithinDays": "7",
                                             "QuietHours": "21:00-09:00"}
    chosen = resolve_parameters(_TEMPLATE, {"UpgradePricing": "prorata", "PayWithinDays": "3", "QuietHours": ""})
    assert chosen == {"UpgradePricing": "prorata", "PayWithinDays": "3", "QuietHours": ""}
    assert parse_parameter("QuietHours=") == ("QuietHours", "")
    for bad in ({"Pricing": "prorata"}, {"UpgradePricing": "cheap"}, {"PayWithinDays": "99"},
                {"PayWithinDays": "x"}, {"QuietHours": "late"}):
        with pytest.raises(ParameterError):
            resolve_parameters(_TEMPLATE, bad)
    with pytest.raises(ParameterError):
        parse_parameter("UpgradePricing")


def test_a_parameter_reaches_the_function_environment():
    template = {**_TEMPLATE, "Resources": {"UpgradeFunction": {"Type": "AWS::Serverless::Function", "Properties": {
        "Handler": "upgrade.app.lambda_handler",
        "Environment": {"Variables": {"UPGRADE_PRICING": {"Ref": "UpgradePricing"}}}}}}}

    class Session:
        region_name = "us-east-1"

    stack = provision(Session(), template=template, parameters={"UpgradePricing": "prorata"})
    assert stack.functions["UpgradeFunction"].environment == {"UPGRADE_PRICING": "prorata"}
    assert stack.parameters["UpgradePricing"] == "prorata"


# --- stopping: the event sources never wait long ------------------------------------------------------


def test_sqs_poller_short_polls_and_pollers_stop_at_once():
    class Sqs:
        def __init__(self):
            self.calls = []

        def receive_message(self, **kwargs):
            self.calls.append(kwargs)
            return {}

    class Session:
        sqs = Sqs()

        def client(self, name):
            return self.sqs

    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    stack = Stack(name="t", region="us-east-1", refs={"Q": "http://q"}, attrs={"Q": {"Arn": arn}})
    poller = SqsPoller(Session(), None, Function("F", "m.h", {}, {}), {"Queue": arn}, stack)
    poller.interval = 30  # even a poller sleeping long between polls stops at once
    poller.start()
    time.sleep(0.2)
    started = time.monotonic()
    poller.stop()
    poller.join(2)
    assert not poller.is_alive() and time.monotonic() - started < 0.5
    # A long poll would hold the embedded AWS (one request at a time) for up to 20 s.
    assert Session.sqs.calls and all(call["WaitTimeSeconds"] == 0 for call in Session.sqs.calls)
