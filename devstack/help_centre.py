"""The provider's help centre (devstack/help_centre.es.txt, a copy of the functional source) split into the
knowledge base's first articles: the demo data loads them, the search tests ask them questions.

The text has no markup: an article starts at a line equal to one of ``ARTICLES``' titles and runs to the next one.
The titles are listed rather than guessed (short lines are also step names, image names, table cells)."""

from pathlib import Path

SOURCE = Path(__file__).with_name("help_centre.es.txt")

# (first line of the article, as in the text; slug; category)
ARTICLES = [
    ("Como actualizar mi cuenta a un plan superior", "upgrade-de-servicio", "Uso de Paneldecliente"),
    ("Como agrego un contacto secundario a mi cuenta", "contactos-secundarios", "Uso de Paneldecliente"),
    ("Como cambio el titular de un servicio a otro cliente.", "cambio-de-titular", "Uso de Paneldecliente"),
    ("Alertas por whatsapp", "alertas-por-whatsapp", "Uso de Paneldecliente"),
    ("Como solicitar la baja del servicio", "baja-del-servicio", "Uso de Paneldecliente"),
    ("Migracion de Hosting hacia nuestros servidores", "migracion-de-hosting", "Soporte"),
    ("SLA = Service Level Agreement", "sla", "Soporte"),
    ("Solicitar soporte remoto.", "soporte-remoto", "Soporte"),
    ("Planes de soporte tecnico", "planes-de-soporte", "Soporte"),
    ("Niveles de soporte", "niveles-de-soporte", "Soporte"),
    ("¿Cómo accedo a mi servicio?", "acceso-al-servicio", "Soporte"),
    ("Demoras en activarse los servicios", "activacion-de-servicios", "Soporte"),
    ("Demoras en los tickets", "demoras-en-los-tickets", "Tickets"),
    ("Tickets", "tickets", "Tickets"),
    ("Como descargo archivos de mi servicio", "descargas", "Tickets"),
    ("Como pedir nueva funcionalidad", "nueva-funcionalidad", "Tickets"),
]
CATEGORY_LINES = {"Generales", "Uso de Paneldecliente", "Soporte"}
IMAGE_SUFFIXES = (".png", ".gif", ".jpg")


def articles(text: str | None = None) -> list[dict[str, str]]:
    """The articles, in the help centre's order: slug, title, category and body (paragraphs, blank-line separated;
    image file names and the category lines between articles left out). A title seen again (the text repeats its
    last part) starts nothing new: the first occurrence wins."""
    lines = (text if text is not None else SOURCE.read_text(encoding="utf-8")).splitlines()
    by_title = {title: (slug, category) for title, slug, category in ARTICLES}
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    current: dict | None = None
    for line in lines:
        stripped = " ".join(line.split())  # non-breaking spaces too (the text has some in its titles)
        if stripped in by_title and stripped not in seen:
            seen.add(stripped)
            slug, category = by_title[stripped]
            current = {"slug": slug, "title": stripped.rstrip("."), "category": category, "lines": []}
            found.append(current)
        elif stripped in by_title or current is None:
            current = None if stripped in by_title else current  # a repeated article: skipped whole
        elif stripped not in CATEGORY_LINES and not stripped.lower().endswith(IMAGE_SUFFIXES):
            current["lines"].append(stripped)
    result = []
    for article in found:
        paragraphs = "\n".join(article.pop("lines")).strip()
        while "\n\n\n" in paragraphs:
            paragraphs = paragraphs.replace("\n\n\n", "\n\n")
        result.append({**article, "body": paragraphs})
    return result
