"""The local stack's SQS event source: batches, partial-batch responses, visibility timeout, DLQ.

The function here is a recording stand-in for a consumer: what is under test is the poller that
`make dev` uses to drive the template's SQS consumers (the alerts consumers of later issues).
"""

import json
import time

import boto3

from devstack.cfn import Function
from devstack.workers import SqsPoller


class RecordingRuntime:
    def __init__(self, fail_bodies=()):
        self.batches = []
        self.fail_bodies = set(fail_bodies)

    def invoke(self, logical_id, event):
        self.batches.append(event["Records"])
        failed = [r["messageId"] for r in event["Records"] if r["body"] in self.fail_bodies]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _queue_pair(stack, visibility=1, max_receive=2):
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq_url = sqs.create_queue(QueueName="test-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="test-queue", Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.refs["TestQueue"], stack.attrs["TestQueue"] = url, {"Arn": arn}
    return sqs, url, dlq_url, arn


def _poller(stack, runtime, arn):
    function = Function("Consumer", "x.handler", {}, {})
    props = {"Queue": arn, "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    return SqsPoller(boto3.Session(region_name="us-east-1"), runtime, function, props, stack)


def test_batches_delete_successes_and_return_failures_until_the_dlq(stack):
    sqs, url, dlq_url, arn = _queue_pair(stack)
    for body in ("ok-1", "ok-2", "poison"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": "test"}})
    runtime = RecordingRuntime(fail_bodies={"poison"})
    poller = _poller(stack, runtime, arn)

    assert poller.poll_once() is True
    first = runtime.batches[0]
    assert sorted(r["body"] for r in first) == ["ok-1", "ok-2", "poison"]
    assert first[0]["eventSource"] == "aws:sqs" and first[0]["eventSourceARN"] == arn
    assert first[0]["messageAttributes"]["event_type"]["stringValue"] == "test"
    assert poller.poll_once() is False  # the failed one is invisible for the visibility timeout

    time.sleep(1.2)
    assert poller.poll_once() is True
    assert [r["body"] for r in runtime.batches[1]] == ["poison"]
    assert runtime.batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"

    time.sleep(1.2)
    poller.poll_once()  # a third receive exceeds maxReceiveCount: moto moves it to the DLQ
    dead = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
    assert [m["Body"] for m in dead] == ["poison"]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
