"""Where the search index lives: one JSON document in S3, built by the indexer from the published articles and
parsed by the search function once per container and per change: each search asks S3 whether it changed with a
conditional GET (If-None-Match: its ETag), answered 304 without a body while it has not — a few milliseconds, and a
publication shows at once on every warm container (a time-to-live would show it up to a minute late, and differently
on each). No index yet (a new stack), or one that cannot be read: the one in memory, else an empty one."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from kb.search_index import Index, build

from shared.dal.kb import KbArticle, KnowledgeBase

INDEX_KEY = "kb/index.json"
EMPTY = Index(build([]))
logger = Logger(child=True)


class IndexStore:
    def __init__(self, s3: Any, bucket: str):
        self._s3, self._bucket = s3, bucket
        self._index: Index | None = None
        self._etag: str | None = None
        self._bad_etag: str | None = None

    def current(self) -> Index:
        """The index as S3 has it now; if S3 cannot be read, or holds a document this code cannot read (a format of
        a newer deploy, a truncated write), the one in memory — or, with none yet, an empty one (a search finds
        nothing, never a 500). A bad document is not fetched again until it changes."""
        from botocore.exceptions import BotoCoreError, ClientError

        known = self._etag if self._index is not None else self._bad_etag
        etag = None
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=INDEX_KEY,
                                         **({"IfNoneMatch": known} if known else {}))
            etag = answer.get("ETag")
            index = Index(json.loads(answer["Body"].read()))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code not in ("304", "NotModified", "NoSuchKey", "404", "AccessDenied", "403"):
                logger.warning("knowledge base index unreadable; serving the one in memory", extra={"code": code})
            if code in ("NoSuchKey", "404", "AccessDenied", "403"):
                # None yet (a new stack). Without s3:ListBucket, S3 says 403 for a missing key: the same here.
                self._index, self._etag = None, None
            return self._index or EMPTY
        except (BotoCoreError, ValueError, KeyError, TypeError, AttributeError) as error:
            self._bad_etag = etag or self._bad_etag
            logger.warning("knowledge base index unreadable; serving the one in memory",
                           extra={"error": type(error).__name__})
            return self._index or EMPTY
        self._index, self._etag = index, etag
        return index


def published(articles: list[KbArticle]) -> list[dict[str, str]]:
    return [{"slug": a.slug, "title": a.title, "category": a.category, "body": a.body}
            for a in articles if a.status == "published"]


def rebuild(repo: KnowledgeBase, s3: Any, bucket: str) -> list[KbArticle]:
    """The index of every published article, written over the previous one; the articles it was built from."""
    articles = repo.all_articles()
    data = build(published(articles))
    s3.put_object(Bucket=bucket, Key=INDEX_KEY, Body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
                  ContentType="application/json")
    return articles
