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


# Articles the self-diagnostics link to (functions/diagnostics/checks.py): not in the help centre's text, written for
# the demo as staff would write them (POST /staff/kb/articles); production needs them published under these slugs.
DIAGNOSTIC_ARTICLES = [
    {"slug": "delegar-dominio", "title": "Cómo delegar su dominio a nuestros servidores (DNS)", "category": "Soporte",
     "body": "Para que su sitio y su correo funcionen con nosotros, el dominio debe estar delegado a nuestros "
             "servidores de nombres (DNS), que figuran en los datos de su servicio en Paneldecliente.\n\n"
             "La delegación se cambia donde registró el dominio (NIC Argentina para los .ar, o su registrador): "
             "reemplace los servidores de nombres actuales por los nuestros y no deje otros. El cambio tarda de "
             "unas horas a un día en verse en todo Internet.\n\n"
             "Si el dominio apunta a otra dirección que la de su servidor, revise que no haya un registro A "
             "cargado a mano en otro proveedor de DNS."},
    {"slug": "correo-registros-mx", "title": "Mi correo no llega: los registros MX", "category": "Soporte",
     "body": "Los registros MX de su dominio dicen a qué servidor se entregan los correos que le envían. Si el "
             "dominio está delegado a nosotros, los MX ya apuntan a su servidor.\n\n"
             "Si usa otro proveedor de correo a propósito (Google Workspace, Microsoft 365), los MX deben ser los "
             "de ese proveedor y sus casillas con nosotros no reciben correo. Si no tiene registros MX, nadie "
             "puede enviarle correos: escríbanos por un ticket y los cargamos."},
    {"slug": "certificado-ssl", "title": "El certificado SSL de mi sitio (https)", "category": "Soporte",
     "body": "Su hosting incluye un certificado SSL gratuito que se emite y renueva solo (AutoSSL) cuando el "
             "dominio apunta a su servidor. Si el navegador avisa que el sitio no es seguro, el certificado venció, "
             "es de otro dominio o todavía no se emitió.\n\n"
             "Revise primero que el dominio esté delegado a nosotros; el certificado se emite en las horas "
             "siguientes. Si el problema sigue, abra un ticket y lo emitimos a mano."},
    {"slug": "sitio-no-responde", "title": "Mi sitio no carga o muestra un error", "category": "Soporte",
     "body": "Si su sitio no responde, revise que el dominio apunte a su servidor y que el servicio esté activo "
             "(un servicio suspendido por falta de pago no muestra el sitio).\n\n"
             "Un error 500 suele ser del propio sitio: un plugin, la versión de PHP o un archivo .htaccess mal "
             "escrito. Un error 403 o 404 en la página de inicio indica que falta el archivo index o que su acceso "
             "está restringido. Si no encuentra la causa, abra un ticket con la dirección y la hora del error."},
]
