"""tools.build_layer without the network: what it reads from the template/pyproject and how it checks the result."""

import pytest

from devstack.cfn import load_template
from tools import build_layer


def test_target_is_read_from_the_template():
    assert build_layer.lambda_target(load_template()) == ("python3.12", "arm64", "3.12")
    x86 = {"Globals": {"Function": {"Runtime": "python3.13", "Architectures": ["x86_64"]}}}
    assert build_layer.lambda_target(x86) == ("python3.13", "x86_64", "3.13")
    assert build_layer.pip_platforms("x86_64") == [
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_x86_64",
    ]
    with pytest.raises(SystemExit):
        build_layer.lambda_target({"Globals": {"Function": {"Runtime": "nodejs20.x"}}})


def test_dependencies_come_from_pyproject_without_what_the_runtime_provides(tmp_path):
    assert "pydantic==2.14.3" in build_layer.runtime_dependencies()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["pydantic>=2", "Boto3==1.0", "botocore[crt]", "pynamodb"]\n')
    assert build_layer.runtime_dependencies(pyproject) == ["pydantic>=2", "pynamodb"]


def test_native_extensions_must_match_the_runtime(tmp_path):
    (tmp_path / "pydantic_core").mkdir()
    (tmp_path / "pydantic_core" / "_pydantic_core.cpython-312-aarch64-linux-gnu.so").touch()
    assert "OK" in build_layer.check_extensions(tmp_path, "3.12", "arm64")
    with pytest.raises(SystemExit, match="cpython-312-x86_64-linux-gnu"):
        build_layer.check_extensions(tmp_path, "3.12", "x86_64")
    with pytest.raises(SystemExit, match="missing"):
        build_layer.check_extensions(tmp_path / "empty", "3.12", "arm64")
