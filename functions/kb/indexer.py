"""SQS consumer of ``kb.article_changed`` (relayed from the outbox): the search index rebuilt from the published
articles, once per batch.

The articles are read with one consistent Query of their partition, so a rebuild sees every change committed before
it; with one function instance at a time (reserved concurrency 1) each rebuild reads a later state than the one
before it, and an older index never overwrites a newer one."""

from typing import Any

from aws_lambda_powertools import Logger
from kb.index_store import rebuild

from shared import config
from shared.aws import LazyClient
from shared.dal.kb import KnowledgeBase

logger = Logger()
repo = KnowledgeBase()
s3 = LazyClient("s3")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    records = event.get("Records") or []
    articles = rebuild(repo, s3, config.env(config.DOCUMENTS_BUCKET))
    logger.info("knowledge base indexed", extra={"articles": sum(a.status == "published" for a in articles),
                                                 "changes": len(records)})
    return {"batchItemFailures": []}  # a failure raises: the whole batch comes back for the next rebuild
