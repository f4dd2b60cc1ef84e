"""The knowledge base's search (run by tools/bench in its own process): `GET /kb/search` through the real handler on
the help centre's articles (its median and p95 latency, the index's conditional GET included), the index's load time
in a new container, and the same two figures for an index of ``--articles`` articles (the help centre's repeated
with their words shuffled), so the "a few thousand articles from one document" claim of docs/knowledge-base.md is a
measured one."""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5


def _questions() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from tests.unit.test_kb_search import QUESTIONS

    return [question for question, _ in QUESTIONS]


def on_embedded_stack(run, *args):
    """``run(stack, *args)`` on a fresh embedded AWS with the template's resources and the functions' environment."""
    import os

    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.runtime import ENV_OVERRIDES, ensure_import_path

    ENV_OVERRIDES["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    aws = EmbeddedAws().start()
    aws.export()
    try:
        stack = provision(boto3.Session(region_name="us-east-1"))
        for function in stack.functions.values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ensure_import_path()
        return run(stack, *args)
    finally:
        aws.stop()


def measure(articles: int) -> list[str]:
    return on_embedded_stack(_run, articles)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def p95(values: list[float]) -> str:
    return f"{sorted(values)[int(len(values) * 0.95) - 1] * 1000:.1f} ms"


def _run(stack, many: int) -> list[str]:
    import boto3
    from kb.index_store import INDEX_KEY, IndexStore
    from kb.search_index import build

    from devstack.gateway import proxy_event
    from devstack.help_centre import articles
    from devstack.runtime import Runtime
    from devstack.seed import seed_knowledge_base

    s3, bucket = boto3.client("s3", region_name="us-east-1"), stack.refs["DocumentsBucket"]
    count = seed_knowledge_base(s3, bucket)
    runtime, questions = Runtime(stack), _questions()

    def search_latencies() -> list[float]:
        timings = []
        for _ in range(ROUNDS):
            for question in questions:
                event = proxy_event(method="GET", resource="/kb/search", path="/kb/search",
                                    query={"q": [question]}, headers={}, body=None, claims=None)
                started = time.perf_counter()
                answer = runtime.invoke("KnowledgeBaseFunction", event)
                timings.append(time.perf_counter() - started)
                assert answer["statusCode"] == 200, answer
        return timings

    def load_times() -> list[float]:
        timings = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            IndexStore(s3, bucket).current()  # a new container: GET and parse
            timings.append(time.perf_counter() - started)
        return timings

    search_latencies()  # warm: the handler's imports and first parse are the cold start's, not a search's
    small_search, small_load = search_latencies(), load_times()
    size_small = len(s3.get_object(Bucket=bucket, Key=INDEX_KEY)["Body"].read())

    base, rng = articles(), random.Random(7)
    made = []
    for number in range(many):
        article = base[number % len(base)]
        words = article["body"].split()
        rng.shuffle(words)
        made.append({**article, "slug": f"{article['slug']}-{number}", "body": " ".join(words)})
    started = time.perf_counter()
    data = json.dumps(build(made), ensure_ascii=False).encode("utf-8")
    built = time.perf_counter() - started
    s3.put_object(Bucket=bucket, Key=INDEX_KEY, Body=data, ContentType="application/json")
    search_latencies()
    large_search, large_load = search_latencies(), load_times()
    return [
        "## Knowledge base search",
        "",
        f"`GET /kb/search` through the real handler (the index's conditional GET to S3 included), {len(questions)} "
        f"questions × {ROUNDS}; the index's load (GET and parse) in a new container, {ROUNDS} times.",
        "",
        "| index | size | search median | search p95 | load median |",
        "| --- | --- | --- | --- | --- |",
        f"| the help centre: {count} articles | {size_small / 1024:.0f} KB | {ms(small_search)} | "
        f"{p95(small_search)} | {ms(small_load)} |",
        f"| {many:,} articles (built in {built:.1f} s) | {len(data) / 1024 / 1024:.1f} MB | {ms(large_search)} | "
        f"{p95(large_search)} | {ms(large_load)} |",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    print("\n".join(measure(parser.parse_args().articles)))
