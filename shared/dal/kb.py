"""The knowledge base's articles (help centre: "Creamos una base de conocimientos … en donde podrá encontrar respuesta
al 90 % de las consultas"; docs/knowledge-base.md). Staff write them here; the search answers from an index built
from the published ones (functions/kb), not from the table."""

import re

from pynamodb.attributes import UnicodeAttribute, VersionAttribute

from shared.dal.table import TableItem, find_item

KB = "KB"
SLUG = re.compile(r"(?=.{1,80}$)[a-z0-9]+(-[a-z0-9]+)*")  # as kb.schemas.Slug


class KbArticle(TableItem, discriminator="KbArticle"):
    """An article: ``status`` draft | published. All of them in one partition (``KB``), read with one consistent
    Query: the index's rebuild sees every committed change (a global index would lag), and a knowledge base of a few
    thousand articles is far from a partition's limits."""

    slug = UnicodeAttribute()
    title = UnicodeAttribute()
    category = UnicodeAttribute()
    body = UnicodeAttribute()  # plain text, paragraphs separated by a blank line
    status = UnicodeAttribute(default="draft")
    published_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(slug: str) -> tuple[str, str]:
        return KB, f"ARTICLE#{slug}"


class KnowledgeBase:
    """Reads of the articles; writes go through the caller's unit of work."""

    def get(self, slug: str) -> KbArticle | None:
        """The article, or None (also for a slug that cannot be one: a path never reaches the table unchecked)."""
        if not isinstance(slug, str) or not SLUG.fullmatch(slug):
            return None
        return find_item(KbArticle, KbArticle.key(slug))

    def all_articles(self) -> list[KbArticle]:
        """Every article, drafts too, by category and title: one consistent Query (paged by PynamoDB as it grows)."""
        found = [a for a in KbArticle.query(KB, KbArticle.sk.startswith("ARTICLE#"), consistent_read=True)
                 if isinstance(a, KbArticle)]
        return sorted(found, key=lambda a: (a.category, a.title, a.slug))
