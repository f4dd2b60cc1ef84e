"""The status page as an Atom feed (RFC 4287): one entry per incident and maintenance on the page, the newest change
first, so a feed reader (or a chat integration) follows it without signing in."""

import re
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from shared import status_page as page
from shared.calendar import local
from shared.clock import from_storage, to_storage

ATOM = "http://www.w3.org/2005/Atom"
STATUS_ES = {"investigating": "Investigando", "identified": "Identificado", "monitoring": "En observación",
             "resolved": "Resuelto", "scheduled": "Programado", "in_progress": "En curso", "completed": "Terminado"}


# What XML 1.0 cannot carry (a title with U+FFFF would make the whole feed unreadable): replaced, not refused, since
# the words were accepted as valid text when staff wrote them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str | None) -> str | None:
    return None if text is None else _NOT_XML.sub("\ufffd", text)


def _iso(stored: str) -> str:
    return from_storage(stored).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(entry: dict[str, Any]) -> str:
    lines = []
    if entry.get("starts_at"):
        lines.append(f"Ventana: del {local(from_storage(entry['starts_at'])):%d/%m/%Y %H:%M} al "
                     f"{local(from_storage(entry['ends_at'])):%d/%m/%Y %H:%M} (hora de Argentina).")
    if entry.get("message"):
        lines.append(entry["message"])
    for update in reversed(entry["updates"]):
        lines.append(f"{local(from_storage(update['at'])):%d/%m/%Y %H:%M} — {STATUS_ES.get(update['status'], '')}: "
                     f"{update['message']}")
    return "\n\n".join(lines)


def atom(document: dict[str, Any], now: datetime, page_url: str) -> str:
    """The feed of the page's incidents and maintenance (what the document keeps: 90 days at most)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "es-AR"})
    entries = [("incident", e["incident_id"], e) for e in page.incidents(document)]
    entries += [("maintenance", e["maintenance_id"], e) for e in page.maintenances(document)]
    entries.sort(key=lambda kind_id_entry: kind_id_entry[2]["updated_at"], reverse=True)

    def child(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _xml_text(v) for k, v in attributes.items()})
        element.text = _xml_text(text)
        return element

    child(feed, "id", f"{page_url}#feed")
    child(feed, "title", "Paneldecliente — Estado del Servicio")
    child(feed, "updated", _iso(entries[0][2]["updated_at"]) if entries else _iso(to_storage(now)))
    child(feed, "link", href=page_url, rel="alternate")
    author = child(feed, "author")
    child(author, "name", "Paneldecliente")
    for kind, entry_id, entry in entries:
        item = child(feed, "entry")
        child(item, "id", f"{page_url}#{kind}-{entry_id}")
        label = "Mantenimiento" if kind == "maintenance" else "Incidente"
        child(item, "title", f"[{STATUS_ES.get(entry['status'], entry['status'])}] {label}: {entry['title']}")
        child(item, "updated", _iso(entry["updated_at"]))
        child(item, "published", _iso(entry["created_at"]))
        child(item, "link", href=f"{page_url}#{kind}-{entry_id}", rel="alternate")
        child(item, "content", _text(entry), type="text")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
