"""The API's OpenAPI document, merged from every API function's resolver (Powertools OpenAPIMerge).

`python -m tools.openapi` rewrites openapi.json; a test keeps the committed file equal to this output.
"""

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_FILE = ROOT / "openapi.json"


def generate() -> dict:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import Server

    from devstack.cfn import load_template
    from shared.http import openapi_schema, security_schemes

    for path in (str(ROOT), str(ROOT / "functions")):
        if path not in sys.path:
            sys.path.insert(0, path)
    merge = OpenAPIMerge(
        title="Paneldecliente API",
        version="1.0.0",
        description=(
            "API del área de clientes de Paneldecliente. Los errores responden "
            '`{"code": "...", "message": "..."}` con el mensaje en español.'
        ),
        servers=[Server(url="/")],
        security_schemes=security_schemes(),
        on_conflict="error",
    )
    template = load_template()
    modules = sorted(
        {
            r["Properties"]["Handler"].rsplit(".", 1)[0]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
            and any(e.get("Type") == "Api" for e in r["Properties"].get("Events", {}).values())
        }
    )
    for module_name in modules:
        module = importlib.import_module(module_name)
        merge.add_schema(openapi_schema(module.app))
    # Round-trip through pydantic's encoder: the merged document may still hold model objects.
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(merge.get_openapi_schema(), by_alias=True, exclude_none=True)


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    OPENAPI_FILE.write_text(render(generate()), encoding="utf-8")
    print(f"wrote {OPENAPI_FILE.relative_to(ROOT)}")
