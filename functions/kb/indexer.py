"""SQS consumer of ``kb.article_changed`` (relayed from the outbox): the search index rebuilt from the published
articles, once per batch.

The articles are read from the by_owner index, which lags the table by a moment: a change the read does not show
yet (its article's ``updated_at`` older than the event's) is reported failed and comes back after the queue's
visibility timeout, for a rebuild that includes it. One function instance at a time (reserved concurrency 1): an
older rebuild never overwrites a newer one."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from kb.index_store import rebuild

from shared import config
from shared.aws import LazyClient
from shared.dal.kb import KnowledgeBase

logger = Logger()
repo = KnowledgeBase()
s3 = LazyClient("s3")


def _shown(record: dict, articles: dict[str, Any]) -> bool:
    try:
        change = json.loads(record["body"])["payload"]
        article = articles.get(change["slug"])
        return article is not None and article.updated_at >= change["updated_at"]
    except (KeyError, TypeError, ValueError):
        logger.warning("not a kb.article_changed envelope; dropped", extra={"message_id": record.get("messageId")})
        return True  # nothing to wait for: it can never be shown


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    records = event.get("Records") or []
    articles = {a.slug: a for a in rebuild(repo, s3, config.env(config.DOCUMENTS_BUCKET))}
    failed = [r["messageId"] for r in records if not _shown(r, articles)]
    logger.info("knowledge base indexed", extra={"articles": sum(a.status == "published" for a in articles.values()),
                                                 "changes": len(records), "not_yet_visible": len(failed)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
