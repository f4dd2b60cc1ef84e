"""Knowledge base API: the public search (GET /kb/search, GET /kb/suggest while a ticket is written) and the published
articles, answered from the in-memory index; staff's articles (drafts, edits, publishing)."""

from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler.openapi.params import Query
from kb import articles as staff_articles
from kb.index_store import IndexStore
from kb.schemas import ArticleEdit, ArticleIn, ArticleOut, ArticleSummary, PublicArticle, SearchHit, SearchOut

from shared import config
from shared.auth import require_staff
from shared.aws import LazyClient
from shared.clock import SystemClock, from_storage
from shared.dal.kb import KbArticle, KnowledgeBase
from shared.dal.table import not_found
from shared.errors import InvalidInput
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
repo = KnowledgeBase()
clock = SystemClock()
s3 = LazyClient("s3")
_store: IndexStore | None = None
TAGS, STAFF_TAGS = ["Base de conocimientos"], ["Personal", "Base de conocimientos"]
SUGGESTED = 3


def _index():
    global _store
    if _store is None:
        _store = IndexStore(s3, config.env(config.DOCUMENTS_BUCKET))
    return _store.current()


def _search(text: str | None, limit: int, field: str) -> SearchOut:
    query = " ".join((text or "").split())
    if not query:
        raise InvalidInput("Escriba qué busca.", code="query_required", field=field)
    hits = _index().search(query, limit)
    return SearchOut(query=query, results=[SearchHit(slug=h.slug, title=h.title, category=h.category,
                                                     snippet=h.snippet, score=h.score) for h in hits])


@app.get("/kb/search", tags=TAGS, summary="Buscar en la base de conocimientos",
         description="En español, sin importar acentos ni mayúsculas, con las palabras llevadas a su raíz (cancelar, "
                     "cancelación) y tolerando un error de tipeo en palabras de cinco letras o más. Los fragmentos "
                     "marcan con <mark> las palabras encontradas.", responses=answers())
def search(q: Annotated[str | None, Query(max_length=200)] = None,
           limit: Annotated[int, Query(ge=1, le=20)] = 10) -> SearchOut:
    return _search(q, limit, "q")


@app.get("/kb/suggest", tags=TAGS, summary="Artículos que quizás respondan el ticket que escribe",
         description="Con el asunto del ticket, mientras se escribe: los tres artículos más cercanos.",
         responses=answers())
def suggest(subject: Annotated[str | None, Query(max_length=200)] = None) -> SearchOut:
    return _search(subject, SUGGESTED, "subject")


@app.get("/kb/articles", tags=TAGS, summary="Artículos publicados", responses=answers())
def published_articles() -> list[ArticleSummary]:
    return [ArticleSummary(slug=d["slug"], title=d["title"], category=d["category"]) for d in _index().docs]


@app.get("/kb/articles/<slug>", tags=TAGS, summary="Un artículo publicado", responses=answers())
def published_article(slug: str) -> PublicArticle:
    found = next((d for d in _index().docs if d["slug"] == slug), None)
    if found is None:
        raise not_found()
    return PublicArticle(slug=found["slug"], title=found["title"], category=found["category"], body=found["body"])


def article_out(article: KbArticle) -> ArticleOut:
    return ArticleOut(slug=article.slug, title=article.title, category=article.category, body=article.body,
                      status=article.status, updated_at=from_storage(article.updated_at),
                      published_at=from_storage(article.published_at) if article.published_at else None)


@app.get("/staff/kb/articles", tags=STAFF_TAGS, summary="Todos los artículos, también los borradores",
         security=SECURED, responses=answers())
def staff_list_articles() -> list[ArticleOut]:
    require_staff(current_identity(app))
    return [article_out(a) for a in repo.all_articles()]


@app.post("/staff/kb/articles", tags=STAFF_TAGS, summary="Crear un artículo (borrador)", security=SECURED,
          responses=answers(201, "Borrador creado"))
def staff_create_article(body: ArticleIn) -> tuple[ArticleOut, int]:
    return article_out(staff_articles.create(repo, clock, current_identity(app), body)), 201


@app.put("/staff/kb/articles/<slug>", tags=STAFF_TAGS, summary="Editar un artículo", security=SECURED,
         responses=answers())
def staff_edit_article(slug: str, body: ArticleEdit) -> ArticleOut:
    return article_out(staff_articles.edit(repo, clock, current_identity(app), slug, body))


@app.post("/staff/kb/articles/<slug>/publish", tags=STAFF_TAGS, summary="Publicar un artículo",
          description="Aparece en la búsqueda en cuanto se reconstruye el índice (segundos).", security=SECURED,
          responses=answers())
def staff_publish_article(slug: str) -> ArticleOut:
    return article_out(staff_articles.set_published(repo, clock, current_identity(app), slug, True))


@app.post("/staff/kb/articles/<slug>/unpublish", tags=STAFF_TAGS, summary="Despublicar un artículo (vuelve a borrador)",
          security=SECURED, responses=answers())
def staff_unpublish_article(slug: str) -> ArticleOut:
    return article_out(staff_articles.set_published(repo, clock, current_identity(app), slug, False))


lambda_handler = lambda_handler_for(app)
