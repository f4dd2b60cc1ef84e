"""docs/ must describe the code that exists."""

import re
from pathlib import Path

from shared.dal.models import TableItem
from shared.events import EventType

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_events_doc_lists_every_event_type():
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", text))
    assert {t.value for t in EventType} <= documented


def test_data_model_doc_names_every_index_and_entity():
    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    for index in TableItem._indexes.values():
        assert f"`{index.Meta.index_name}`" in text
    for entity in ("Client", "Contact", "EmailMarker", "Product", "Service", "Invoice", "Payment", "Event"):
        assert f"| {entity}" in text
    assert "Scan" in text  # the no-Scan rule is stated
