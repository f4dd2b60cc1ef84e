"""docs/ must describe the code that exists."""

import re
from pathlib import Path

from shared.dal.table import TableItem
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
                   "Idempotency", "Upgrade", "UpgradeRequest", "Server", "Delivery", "WhatsAppMessage"):
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


def test_alerts_doc_lists_every_hookpoint_with_its_template_text():
    from shared.alerts import HOOKPOINTS

    text = (DOCS / "alerts.md").read_text(encoding="utf-8")
    for event_type, hook in HOOKPOINTS.items():
        assert f"| `{event_type}` | `{hook.template}` |" in text, event_type
        body = re.search(rf"^\| `{hook.template}` \| (.+) \|$", text, re.M)
        assert body, f"no es_AR text for {hook.template}"
        placeholders = set(re.findall(r"\{\{(\d+)\}\}", body.group(1)))
        # The template's {{n}} are exactly the parameters the hookpoint fills in.
        assert placeholders == {str(i + 1) for i in range(len(hook.parameters({})))}, hook.template
