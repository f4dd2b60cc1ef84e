"""The shape the data layer and the payment path keep as capabilities are added (issue 9)."""

import ast
import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_payments_import_nothing_of_the_capabilities_that_react_to_them():
    """What a paid or refunded invoice means to services and plan changes is their reaction, not code in
    payments/: a new capability adds a file under shared/reactions/ and touches no payments code."""
    forbidden = re.compile(r"^(activation|upgrade|shared\.activation|shared\.upgrades|shared\.reactions\.\w+)(\.|$)")
    for path in (ROOT / "functions" / "payments").glob("*.py"):
        assert not {m for m in _imports(path) if forbidden.match(m)}, path.name


def test_each_data_layer_module_holds_the_items_of_one_context_as_the_data_model_doc_says():
    from shared.dal.table import TableItem

    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `shared/dal/(\w+)\.py` \| [^|]+ \| ([^|]+) \| ([^|]+) \|$", doc, re.M)
    documented = {module: (set(re.findall(r"`(\w+)`", items)), set(re.findall(r"`(\w+)`", repo)))
                  for module, items, repo in rows}
    modules = {p.stem for p in (ROOT / "shared" / "dal").glob("*.py") if p.stem != "__init__"}
    assert set(documented) == modules
    for name in sorted(modules - {"table", "unit_of_work"}):
        module = importlib.import_module(f"shared.dal.{name}")
        items = {n for n, obj in vars(module).items() if inspect.isclass(obj) and issubclass(obj, TableItem)
                 and obj is not TableItem and obj.__module__ == module.__name__}
        repositories = {n for n, obj in vars(module).items() if inspect.isclass(obj) and obj.__module__ ==
                        module.__name__ and not issubclass(obj, TableItem | Exception) and n in documented[name][1]}
        assert items == documented[name][0] - {"InvoiceLine"}, name
        assert len(repositories) == 1, name  # one repository per context


def test_every_capability_registers_its_reactions_in_its_own_file():
    from shared import reactions

    registered = {occasion: {f"{r.__module__}.{r.__name__}" for r in reactions.registered(occasion)}
                  for occasion in reactions.OCCASIONS}
    assert registered[reactions.INVOICE_PAID] == {"shared.reactions.activation.activate_or_restore",
                                                  "shared.reactions.quotes.quote_paid",
                                                  "shared.reactions.renewals.next_period_paid",
                                                  "shared.reactions.upgrades.apply_paid_change"}
    assert registered[reactions.INVOICE_UNSETTLED] == {"shared.reactions.activation.withdraw",
                                                       "shared.reactions.renewals.next_period_unpaid",
                                                       "shared.reactions.upgrades.revert_refunded_change"}
