"""Staff write the knowledge base: an article is created as a draft, edited, published and unpublished. Every
change that touches what the search shows announces itself (``kb.article_changed``): the indexer rebuilds the index
from the published articles (functions/kb/indexer.py)."""

from datetime import datetime

from kb.schemas import ArticleEdit, ArticleIn

from shared.auth import Identity, require_staff
from shared.clock import Clock, to_storage
from shared.dal.kb import KbArticle, KnowledgeBase
from shared.dal.table import not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.events import EventType, new_event


class SlugTaken(Conflict):
    code = "slug_taken"
    message = "Ya hay un artículo con esa dirección (slug): elija otra o edite ese."


def _changed(article: KbArticle, now: datetime):
    return new_event(EventType.KB_ARTICLE_CHANGED, client_id=None, occurred_at=now, payload={
        "slug": article.slug, "status": article.status, "updated_at": article.updated_at})


def _article(repo: KnowledgeBase, slug: str) -> KbArticle:
    article = repo.get(slug)
    if article is None:
        raise not_found()
    return article


def create(repo: KnowledgeBase, clock: Clock, identity: Identity, body: ArticleIn) -> KbArticle:
    require_staff(identity)
    stamp = to_storage(clock.now())
    article = KbArticle(*KbArticle.key(body.slug), slug=body.slug, title=body.title, category=body.category,
                        body=body.body, updated_by=identity.subject, created_at=stamp, updated_at=stamp)
    with UnitOfWork() as uow:
        uow.create(article, error=SlugTaken(field="slug"))  # a draft: nothing for the index yet
    return article


def edit(repo: KnowledgeBase, clock: Clock, identity: Identity, slug: str, body: ArticleEdit) -> KbArticle:
    require_staff(identity)
    article = _article(repo, slug)
    now = clock.now()
    article.title, article.category, article.body = body.title, body.category, body.body
    article.updated_by, article.updated_at = identity.subject, to_storage(now)
    with UnitOfWork() as uow:
        uow.save(article)  # version-checked: of two edits at once, one is 409 concurrent_modification
        if article.status == "published":
            uow.emit([_changed(article, now)])
    return article


def set_published(repo: KnowledgeBase, clock: Clock, identity: Identity, slug: str, published: bool) -> KbArticle:
    require_staff(identity)
    article = _article(repo, slug)
    status = "published" if published else "draft"
    if article.status == status:
        return article  # asked twice: nothing changes, nothing to index again
    now = clock.now()
    article.status, article.updated_by, article.updated_at = status, identity.subject, to_storage(now)
    if published:
        article.published_at = article.updated_at
    with UnitOfWork() as uow:
        uow.save(article)
        uow.emit([_changed(article, now)])
    return article
