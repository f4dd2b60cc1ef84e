"""Move the messages of a dead-letter queue back to the queue they came from, once the cause is fixed.

    python -m tools.redrive_dlq --stack paneldecliente-prod DeliveriesDeadLetterQueue
    python -m tools.redrive_dlq --dlq-url https://sqs…/dlq --to-url https://sqs…/queue

Each message is sent to the source queue before it is deleted from the DLQ: a crash in between sends a
message twice, which the consumers tolerate (a delivery is claimed once), and loses none.
"""

import argparse
import sys


def redrive(sqs, dlq_url: str, source_url: str, limit: int = 100_000) -> int:
    moved = 0
    while moved < limit:
        # A short wait: an empty answer of a short poll may just have missed the servers that hold messages.
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        entries = [{"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]}
                                                               if m.get("MessageAttributes") else {})}
                   for i, m in enumerate(got)]
        answer = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        failed = {f["Id"] for f in answer.get("Failed", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got) if str(i) not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
        if failed:
            break
    return moved


def _source_of(cloudformation, stack: str, dlq_logical_id: str) -> tuple[str, str]:
    """The DLQ's URL and the URL of the template queue whose RedrivePolicy points at it."""
    import json

    resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    urls = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == "AWS::SQS::Queue"}
    template = cloudformation.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    for logical_id, resource in template["Resources"].items():
        policy = (resource.get("Properties") or {}).get("RedrivePolicy") or {}
        target = policy.get("deadLetterTargetArn") or {}
        if isinstance(target, dict) and target.get("Fn::GetAtt", [None])[0] == dlq_logical_id:
            return urls[dlq_logical_id], urls[logical_id]
    raise SystemExit(f"no queue of {stack} sends its dead letters to {dlq_logical_id}")


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dlq", nargs="?", help="logical id of the DLQ in the template (with --stack)")
    parser.add_argument("--stack", help="CloudFormation stack name")
    parser.add_argument("--dlq-url")
    parser.add_argument("--to-url")
    args = parser.parse_args()
    if args.dlq_url and args.to_url:
        dlq_url, source_url = args.dlq_url, args.to_url
    elif args.stack and args.dlq:
        dlq_url, source_url = _source_of(boto3.client("cloudformation"), args.stack, args.dlq)
    else:
        parser.error("give --stack and the DLQ's logical id, or --dlq-url and --to-url")
    moved = redrive(boto3.client("sqs"), dlq_url, source_url)
    print(f"moved {moved} message(s) from {dlq_url} to {source_url}", file=sys.stderr)


if __name__ == "__main__":
    main()
