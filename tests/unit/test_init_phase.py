"""The garbage collector's pause for a cold start (shared/init_phase.py): only in Lambda, ended by the handler
module's last statement, and imported by every API handler before any package but the standard library's."""

import ast
import os
import subprocess
import sys
from pathlib import Path

from devstack.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, sys
sys.path[:0] = [{root!r}, {functions!r}]
import shared.init_phase
during = gc.isenabled()
import catalog.app
print(during, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def _run_probe(lambda_name: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    env.update(AWS_DEFAULT_REGION="us-east-1", TABLE_NAME="init-phase-test")
    if lambda_name:
        env["AWS_LAMBDA_FUNCTION_NAME"] = lambda_name
    code = _PROBE.format(root=str(ROOT), functions=str(ROOT / "functions"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_in_lambda_the_collector_pauses_for_the_init_and_resumes_with_the_init_frozen():
    assert _run_probe("paneldecliente-CatalogFunction") == "False True True"


def test_outside_lambda_the_collector_is_left_alone():
    assert _run_probe(None) == "True True False"


def _api_handler_modules() -> list[str]:
    resources = load_template()["Resources"].values()
    return sorted({
        r["Properties"]["Handler"].rsplit(".", 1)[0] for r in resources
        if r["Type"] == "AWS::Serverless::Function"
        and any(e.get("Type") == "Api" for e in r["Properties"].get("Events", {}).values())
    })


def test_every_api_handler_imports_the_pause_before_any_package_but_the_standard_librarys():
    late = []
    for module in _api_handler_modules():
        tree = ast.parse((ROOT / "functions" / (module.replace(".", "/") + ".py")).read_text())
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if "shared.init_phase" in names:
                break
            if any(name.split(".")[0] not in sys.stdlib_module_names for name in names):
                late.append(module)
                break
        else:
            late.append(module)
    assert len(_api_handler_modules()) >= 20 and late == []


def test_every_api_handler_ends_the_init_with_its_last_statement():
    # lambda_handler_for ends the pause: code after it would run with the init already frozen.
    for module in _api_handler_modules():
        last = ast.parse((ROOT / "functions" / (module.replace(".", "/") + ".py")).read_text()).body[-1]
        assert ast.unparse(last) == "lambda_handler = lambda_handler_for(app)", module
