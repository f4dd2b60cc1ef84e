"""SnapStart's restore hooks (shared/snapstart.py), called as Lambda's runtime would after a restore, and the
template's properties (SnapStart cannot run here)."""

import random
import sys
import types

from devstack.cfn import load_template
from shared import snapstart
from shared.aws import LazyClient


def test_a_restore_drops_every_client_and_connection_made_before_the_snapshot(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from shared.dal import unit_of_work
    from shared.dal.services import Service
    from shared.dal.table import TableItem

    lazy = LazyClient("sqs")
    lazy.meta  # noqa: B018 - made now, as an init that warms its client would
    made = lazy._client
    unit_of_work._connection, TableItem._connection, Service._connection = object(), object(), object()
    snapstart.run_after_restore()
    assert lazy._client is None and unit_of_work._connection is None
    assert TableItem._connection is None and Service._connection is None
    assert lazy.meta.service_model.service_name == "sqs" and lazy._client is not made  # a new one on first use


def test_each_restored_copy_draws_its_own_random_sequence():
    random.seed(1234)  # the snapshot's state, the same in every copy restored from it
    snapshot = random.getstate()
    snapstart.run_after_restore()
    first = random.random()
    random.setstate(snapshot)
    snapstart.run_after_restore()
    assert random.random() != first


def test_the_hooks_are_handed_to_the_runtime_where_there_is_one(monkeypatch):
    assert snapstart.register_with_runtime() is False  # not on Lambda
    registered = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append
    runtime.register_before_snapshot = registered.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register_with_runtime() is True
    assert registered == [snapstart.run_before_snapshot, snapstart.run_after_restore]


def test_what_is_imported_on_first_use_is_imported_before_the_snapshot(monkeypatch):
    # A restored copy would otherwise pay boto3's import (~50 ms) on the request that first reads a secret.
    for name in [m for m in sys.modules if m.startswith("aws_lambda_powertools.utilities.parameters")]:
        monkeypatch.delitem(sys.modules, name)
    import shared.aws  # noqa: F401 - registers what it imports lazily

    assert "aws_lambda_powertools.utilities.parameters" not in sys.modules
    snapstart.run_before_snapshot()
    assert "aws_lambda_powertools.utilities.parameters" in sys.modules and "boto3" in sys.modules


def test_every_api_function_is_snapstarted_behind_an_alias_and_a_parameter_turns_it_off():
    template = load_template()
    assert set(template["Parameters"]["SnapStartApplyOn"]["AllowedValues"]) == {"PublishedVersions", "None"}
    functions = {name: r["Properties"] for name, r in template["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    api = {name for name, p in functions.items() if any(e["Type"] == "Api" for e in p.get("Events", {}).values())}
    assert len(api) >= 20
    for name in api:
        assert functions[name].get("AutoPublishAlias") == "live", name
        assert functions[name].get("SnapStart") == {"ApplyOn": {"Ref": "SnapStartApplyOn"}}, name
    assert template["Globals"]["Function"]["Runtime"] >= "python3.12"  # SnapStart's first Python
