"""Where the search index lives: one JSON document in S3, built by the indexer from the published articles and
parsed by the search function once per container and per change: each search asks S3 whether it changed with a
conditional GET (If-None-Match: its ETag), answered 304 without a body while it has not — a few milliseconds, and a
publication shows at once on every warm container (a time-to-live would show it up to a minute late, and differently
on each). No index yet (a new stack): an empty one."""

import json
from typing import Any

from kb.search_index import Index, build

from shared.dal.kb import KbArticle, KnowledgeBase

INDEX_KEY = "kb/index.json"


class IndexStore:
    def __init__(self, s3: Any, bucket: str):
        self._s3, self._bucket = s3, bucket
        self._index: Index | None = None
        self._etag: str | None = None

    def current(self) -> Index:
        from botocore.exceptions import ClientError

        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=INDEX_KEY,
                                         **({"IfNoneMatch": self._etag} if self._etag and self._index else {}))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code in ("304", "NotModified") and self._index is not None:
                return self._index
            if code in ("NoSuchKey", "404"):
                self._index, self._etag = Index(build([])), None
                return self._index
            raise
        self._index, self._etag = Index(json.loads(answer["Body"].read())), answer.get("ETag")
        return self._index


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
