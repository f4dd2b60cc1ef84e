"""Builds build/layer/ — the DependenciesLayer of template.yaml: our shared/ package plus the runtime
dependencies of pyproject.toml, installed for the template's Lambda runtime and architecture (not this machine's).

`python -m tools.build_layer` (what `make build` runs) prints a one-line summary, or exits non-zero.
"""

import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

from devstack.cfn import load_template

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "build" / "layer"
SITE = LAYER / "python"  # Lambda adds <layer>/python to sys.path
# The Lambda Python runtime ships boto3/botocore; bundling our own would only grow the layer (and pin a
# version the runtime already updates). Listed here so adding one to [project] dependencies stays harmless.
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda architecture -> wheel platform machine


def _name(requirement: str) -> str:
    return re.split(r"[^A-Za-z0-9._-]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [d for d in deps if _name(d) not in PROVIDED_BY_RUNTIME]


def lambda_target(template: dict[str, Any]) -> tuple[str, str, str]:
    """(runtime, architecture, python version) of the template's functions, e.g. ("python3.12", "arm64", "3.12")."""
    function = template["Globals"]["Function"]
    runtime, architectures = function["Runtime"], function.get("Architectures", ["x86_64"])
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if not match or len(architectures) != 1 or architectures[0] not in MACHINES:
        raise SystemExit(f"build_layer: unsupported Runtime {runtime!r} / Architectures {architectures!r}")
    return runtime, architectures[0], match.group(1)


def pip_platforms(architecture: str) -> list[str]:
    # pip does not expand a manylinux_2_X tag to the older ones, so every accepted tag is listed: 2014 (= 2_17)
    # covers most wheels, 2_28 the newer ones; all run on the python3.12 runtime's Amazon Linux 2023 (glibc 2.34).
    machine = MACHINES[architecture]
    return [f"manylinux2014_{machine}", f"manylinux_2_17_{machine}", f"manylinux_2_28_{machine}"]


def check_extensions(site: Path, python_version: str, architecture: str) -> str:
    """Every compiled CPython extension must be for the runtime's interpreter and machine; pydantic_core must be one."""
    tag = f"cpython-{python_version.replace('.', '')}-{MACHINES[architecture]}-linux-gnu"
    extensions = sorted(site.rglob("*.cpython-*.so"))
    wrong = [str(p.relative_to(site)) for p in extensions if tag not in p.name]
    pydantic_core = [p for p in extensions if p.parent.name == "pydantic_core"]
    if wrong or not pydantic_core:
        raise SystemExit(f"build_layer: FAILED native extension check, expected {tag}: wrong={wrong}, "
                         f"pydantic_core={[p.name for p in pydantic_core] or 'missing'}")
    return f"{len(extensions)} native extension(s) OK ({pydantic_core[0].name})"


def build() -> str:
    runtime, architecture, python_version = lambda_target(load_template())
    deps = runtime_dependencies()
    shutil.rmtree(LAYER, ignore_errors=True)  # from scratch: no leftovers from an earlier build or target
    platforms = [arg for p in pip_platforms(architecture) for arg in ("--platform", p)]
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *platforms,
         "--implementation", "cp", "--python-version", python_version,
         "--only-binary=:all:",  # required with --platform: pip cannot build sdists for another platform
         "--no-compile",  # this interpreter's .pyc files would be dead weight for a different runtime version
         "--target", str(SITE), "--upgrade", *deps],
    )
    if pip.returncode:
        raise SystemExit(f"build_layer: pip install failed (exit {pip.returncode}), see its output above")
    shutil.copytree(ROOT / "shared", SITE / "shared", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    extensions = check_extensions(SITE, python_version, architecture)
    installed = {d.metadata["Name"]: d.version for d in distributions(path=[str(SITE)])}
    info = {"runtime": runtime, "architecture": architecture, "platforms": pip_platforms(architecture),
            "dependencies": deps, "installed": dict(sorted(installed.items(), key=lambda kv: kv[0].lower()))}
    (LAYER / "BUILD_INFO.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    size_mb = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file()) / 1e6
    return (f"build/layer ({runtime}, {architecture}): {len(installed)} packages + shared, "
            f"{size_mb:.1f} MB, {extensions}")


if __name__ == "__main__":
    print(build())
