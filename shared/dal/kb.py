"""The knowledge base's articles (help centre: "Creamos una base de conocimientos … en donde podrá encontrar respuesta
al 90 % de las consultas"; docs/knowledge-base.md). Staff write them here; the search answers from an index built
from the published ones (functions/kb), not from the table."""

from pynamodb.attributes import UnicodeAttribute, VersionAttribute

from shared.dal.table import TableItem, find_item

KB = "KB"


class KbArticle(TableItem, discriminator="KbArticle"):
    """An article: ``status`` draft | published. Listed for staff on by_owner (``KB`` / category, title)."""

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
        return f"KB#{slug}", "ARTICLE"

    def list_in_kb(self) -> None:
        self.gsi1pk, self.gsi1sk = KB, f"{self.category}#{self.title}#{self.slug}"


class KnowledgeBase:
    """Reads of the articles; writes go through the caller's unit of work."""

    def get(self, slug: str) -> KbArticle | None:
        return find_item(KbArticle, KbArticle.key(slug))

    def all_articles(self) -> list[KbArticle]:
        """Every article, drafts too, by category and title: one Query (paged by PynamoDB as it grows)."""
        return [a for a in KbArticle.by_owner.query(KB) if isinstance(a, KbArticle)]
