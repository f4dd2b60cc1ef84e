"""Request and response models of the knowledge base API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from shared.schemas import ApiModel
from shared.text import ManyLines, OneLine

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=150), OneLine]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60), OneLine]
Body = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50000), ManyLines]


class ArticleEdit(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    category: Category
    body: Body


class ArticleIn(ArticleEdit):
    slug: Slug  # its address: /kb/articles/{slug}


class ArticleOut(ApiModel):
    slug: str
    title: str
    category: str
    body: str
    status: Literal["draft", "published"]
    published_at: datetime | None
    updated_at: datetime


class ArticleSummary(ApiModel):
    slug: str
    title: str
    category: str


class PublicArticle(ArticleSummary):
    body: str


class SearchHit(ArticleSummary):
    snippet: str  # HTML: the text escaped, the words found in <mark>
    score: float


class SearchOut(ApiModel):
    query: str
    results: list[SearchHit]
