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
    for entity in ("Client", "Contact", "EmailMarker", "Product", "Service", "Invoice", "Payment", "Event",
                   "Idempotency", "Upgrade", "UpgradeRequest", "Server"):
        assert f"| {entity}" in text
    assert "No Scan" in text


def test_no_scan_in_deployed_code():
    """Requests and sweeps use GetItem/Query only: no `.scan(` call in shared/ or functions/."""
    import ast

    root = DOCS.parent
    for file in [*root.glob("shared/**/*.py"), *root.glob("functions/**/*.py")]:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("scan", "parallel_scan"):
                raise AssertionError(f"{file.relative_to(root)}:{node.lineno} scans the table")
