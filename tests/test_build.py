"""`make build`'s output, checked (issue 17 §4): the layer is built for the template's runtime and architecture, and
every module that a function's code can import — at init or later, inside a function — resolves on Lambda from the
runtime's standard library and its boto3, the layer, or the function's own code (CodeUri: functions/). A dependency
used in production but declared only for development, or a module gone from the runtime's Python, fails here rather
than at the first request after a deploy."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cfn import load_template
from tools import build_layer

ROOT = Path(__file__).resolve().parent.parent
# Not in the runtime's standard library any more (PEP 594, 632) though this machine's 3.11 has them.
REMOVED_BY_312 = {"distutils", "imp", "asynchat", "asyncore", "smtpd"}
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
# What only Lambda's runtime has: imported inside ``try`` by shared/snapstart.py, absent elsewhere by design.
RUNTIME_ONLY = {"snapshot_restore_py"}


@pytest.fixture(scope="module")
def layer() -> Path:
    """Built once per test run, whichever pytest-xdist worker comes first (the others wait on the lock)."""
    import fcntl
    import os

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    ROOT.joinpath("build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".layer.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = build_layer.LAYER / f".built-{run}"
        if not built.exists():
            done = subprocess.run([sys.executable, "-m", "tools.build_layer"], cwd=ROOT, capture_output=True,
                                  text=True)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "native extension(s) OK" in done.stdout
            built.touch()
    return build_layer.SITE


def _imports(path: Path) -> set[str]:
    """Every absolute import of a module, wherever it is (lazy imports inside functions count: they run too)."""
    return {name for name, certain in _imported(path) if certain}


def _imported(path: Path) -> set[tuple[str, bool]]:
    """(name, certain): a module imported for sure, or one that may be a module (``from package import name``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {(alias.name, True) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add((node.module, True))
            names |= {(f"{node.module}.{alias.name}", False) for alias in node.names}
    return names


def _source(module: str) -> Path | None:
    """Our module's file (functions/ or shared/), or None for anything else."""
    for base in (ROOT / "functions", ROOT):
        candidate = base.joinpath(*module.split("."))
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py", candidate):
            ours = ROOT / "functions" in path.parents or ROOT / "shared" in path.parents or path == ROOT / "shared"
            if path.exists() and ours:
                return path  # a folder without __init__.py: a namespace package of ours
    return None


def _reachable(handler_module: str) -> tuple[set[str], set[str]]:
    """(our modules, outside top-level names) reachable from a handler through our own code's imports."""
    ours, outside, pending = set(), set(), [handler_module]
    while pending:
        module = pending.pop()
        if module in ours:
            continue
        path = _source(module)
        if path is None:
            outside.add(module.split(".")[0])
            continue
        ours.add(module)
        for name, certain in _imported(path) if path.is_file() else ():
            if certain or _source(name) is not None:  # `from support import confirmation`: a module of ours
                pending.append(name)
                parts = name.split(".")
                pending += [".".join(parts[:i]) for i in range(1, len(parts))]
    return ours, outside


def _layer_names(site: Path) -> set[str]:
    return {p.stem if p.suffix == ".py" else p.name for p in site.iterdir()
            if not p.name.endswith((".dist-info", ".libs")) and p.name not in ("bin", "share")}


def test_the_layer_is_for_the_templates_runtime(layer):
    runtime, architecture, _ = build_layer.lambda_target(load_template())
    info = json.loads((build_layer.LAYER / "BUILD_INFO.json").read_text())
    assert (info["runtime"], info["architecture"]) == (runtime, architecture)
    assert (layer / "shared" / "http.py").is_file()  # our shared package travels in the layer


def _unresolved(outside: set[str], site: Path) -> list[str]:
    available = _layer_names(site) | PROVIDED_BY_RUNTIME | RUNTIME_ONLY
    stdlib = set(sys.stdlib_module_names) - REMOVED_BY_312
    return sorted(n for n in outside if n not in stdlib and n not in available)


def test_every_functions_imports_resolve_from_the_runtime_the_layer_or_its_own_code(layer):
    functions = {name: r["Properties"]["Handler"].rsplit(".", 1)[0]
                 for name, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    missing = {}
    for name, handler in sorted(functions.items()):
        ours, outside = _reachable(handler)
        assert handler in ours, f"{name}: its handler module {handler} is not in functions/"
        unresolved = _unresolved(outside, layer)
        if unresolved:
            missing[name] = unresolved
    assert missing == {}, f"imports that would fail on Lambda: {missing}"


def test_the_check_sees_a_lazy_import_of_a_development_only_or_removed_module(layer, tmp_path):
    """The check itself: an import inside a function is seen, and pyyaml (a development dependency, not in the
    layer) or distutils (gone in 3.12) would be reported."""
    module = tmp_path / "lazy.py"
    module.write_text("import json\n\ndef later():\n    import yaml\n    from distutils import util\n")
    assert _imports(module) == {"json", "yaml", "distutils"}
    assert _unresolved({"json", "yaml", "distutils", "pydantic", "boto3"}, layer) == ["distutils", "yaml"]
