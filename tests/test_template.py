"""template.yaml and the code, held against each other both ways."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cfn import ROOT, load_template
from devstack.runtime import ensure_import_path

ensure_import_path()
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
GLOBAL_ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]


def _template_routes(props) -> set[tuple[str, str]]:
    return {
        (e["Properties"]["Path"], e["Properties"]["Method"].lower())
        for e in props.get("Events", {}).values()
        if e["Type"] == "Api"
    }


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_routes_the_code_serves_are_the_routes_the_template_declares(logical_id):
    props = FUNCTIONS[logical_id]["Properties"]
    module = importlib.import_module(props["Handler"].rsplit(".", 1)[0])
    assert callable(getattr(module, props["Handler"].rsplit(".", 1)[1]))
    declared = _template_routes(props)
    from shared.http import openapi_schema

    if not hasattr(module, "app"):
        assert declared == set(), f"{logical_id} has API events but no resolver"
        return
    served = {
        (path, method)
        for path, operations in openapi_schema(module.app).paths.items()
        for method in operations.model_dump(exclude_none=True)
    }
    assert served == declared


def test_no_two_functions_declare_the_same_route():
    routes = [r for props in FUNCTIONS.values() for r in _template_routes(props["Properties"])]
    assert len(routes) == len(set(routes))


def test_public_routes_are_exactly_the_ones_meant_to_be():
    public = {
        (e["Properties"]["Path"], e["Properties"]["Method"])
        for f in FUNCTIONS.values()
        for e in f["Properties"].get("Events", {}).values()
        if e["Type"] == "Api" and (e["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
    }
    assert public == {
        ("/catalog/products", "get"), ("/clients", "post"),
        # the contact form: Cloudflare Turnstile and rate limits stand for a sign-in
        ("/contact-requests", "post"),
        # webhooks: the provider's signature is their authentication
        ("/webhooks/mercadopago", "post"), ("/webhooks/stripe", "post"), ("/webhooks/tawkto", "post"),
        # Meta's verification handshake (verify token) and its signed status notifications
        ("/webhooks/whatsapp", "get"), ("/webhooks/whatsapp", "post"),
        # Telegram's updates: the secret token given to setWebhook comes back in a header
        ("/webhooks/telegram", "post"),
        # a contact's invitation: the one-time token of its email is the proof
        ("/invitations/accept", "post"),
        # the knowledge base: the help centre is public, as it is today
        ("/kb/search", "get"), ("/kb/suggest", "get"), ("/kb/articles", "get"), ("/kb/articles/{slug}", "get"),
        # "Estado del Servicio": the status page is read most when something is down, signed in or not
        ("/status", "get"), ("/status/feed", "get"),
    }


def test_table_key_schema_and_indexes_equal_the_models():
    from shared.dal.table import TableItem

    table = RESOURCES["Table"]["Properties"]
    model = TableItem._get_schema()  # what PynamoDB would create: the models' own view of the table

    def keys(schema):
        return sorted((k["AttributeName"], k["KeyType"]) for k in schema)

    def definitions(items):
        return sorted((d["AttributeName"], d["AttributeType"]) for d in items)

    assert keys(table["KeySchema"]) == keys(model["key_schema"])
    assert definitions(table["AttributeDefinitions"]) == definitions(model["attribute_definitions"])
    assert {
        g["IndexName"]: (keys(g["KeySchema"]), g["Projection"]["ProjectionType"])
        for g in table["GlobalSecondaryIndexes"]
    } == {
        g["index_name"]: (keys(g["key_schema"]), g["projection"]["ProjectionType"])
        for g in model["global_secondary_indexes"]
    }
    assert not table.get("LocalSecondaryIndexes") and not model["local_secondary_indexes"]
    assert table["TimeToLiveSpecification"]["AttributeName"] == TableItem.expires_at.attr_name
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def _config_constants() -> dict[str, str]:
    from shared import config

    return {name: value for name, value in vars(config).items() if name.isupper() and isinstance(value, str)
            and value.isupper()}


def _env_reads(files: list[Path]) -> set[str]:
    """Variables read through shared.config (config.X or a bare X imported from it)."""
    constants = _config_constants()
    found = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in constants:
                found.add(constants[name])
    return found


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_environment_variable_a_function_reads_is_declared_for_it(logical_id):
    props = FUNCTIONS[logical_id]["Properties"]
    module = props["Handler"].rsplit(".", 1)[0]
    # A fresh interpreter tells which of our files this function really loads.
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, json, {module}; print(json.dumps([m.__file__ for m in "
                               "list(sys.modules.values()) if getattr(m, '__file__', None)]))"],
        cwd=ROOT, env={"PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}", "AWS_DEFAULT_REGION": "us-east-1",
                       "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )
    ours = [
        Path(f) for f in json.loads(loaded.stdout)
        if f.startswith(str(ROOT)) and "/.venv/" not in f and not f.endswith("shared/config.py")  # defines, not reads
    ]
    assert ours, "the handler module loaded none of our files?"
    declared = set(GLOBAL_ENV) | set((props.get("Environment") or {}).get("Variables", {}))
    assert _env_reads(ours) <= declared


def test_environment_references_point_at_resources_of_the_template():
    for logical_id, function in FUNCTIONS.items():
        variables = {**GLOBAL_ENV, **(function["Properties"].get("Environment") or {}).get("Variables", {})}
        for name, value in variables.items():
            if isinstance(value, dict):
                (kind, target), = value.items()
                target = target[0] if isinstance(target, list) else str(target).split(".")[0]
                assert target in RESOURCES or target in TEMPLATE["Parameters"], f"{logical_id}.{name} -> {target}"


def test_queues_have_dead_letter_queues_and_schedules_target_functions():
    queues = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue"}
    dead_letter_targets = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values() if "RedrivePolicy" in q["Properties"]
    } | {  # a function invoked asynchronously (SES) sends what its retries could not handle to its own DLQ
        f["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for f in FUNCTIONS.values() if "DeadLetterQueue" in f["Properties"]
    }
    sources = [k for k in queues if k not in dead_letter_targets and not k.endswith("FailureQueue")]
    assert sources and all("RedrivePolicy" in queues[k]["Properties"] for k in sources)
    schedules = [
        (logical_id, e["Properties"]["Schedule"])
        for logical_id, f in FUNCTIONS.items()
        for e in f["Properties"].get("Events", {}).values() if e["Type"] == "Schedule"
    ]
    assert ("OverdueInvoicesFunction", "cron(0 12 * * ? *)") in schedules


def test_cfn_lint_finds_no_errors():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    # cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational; 1 = it failed.
    assert result.returncode & 0b11 == 0, result.stdout + result.stderr


def test_committed_openapi_equals_what_the_code_generates():
    from tools.openapi import OPENAPI_FILE, generate, render

    assert OPENAPI_FILE.read_text(encoding="utf-8") == render(generate()), "run `make openapi` and commit"


def test_every_alarm_notifies_and_every_function_has_a_log_retention():
    alarms = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms and all(a["Properties"].get("AlarmActions") for a in alarms.values())
    groups = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert all(g.get("RetentionInDays") for g in groups)
    retained = {g["LogGroupName"]["Fn::Sub"].split("${")[1].rstrip("}") for g in groups
                if g["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/")}
    assert retained == set(FUNCTIONS)
    access = RESOURCES["Api"]["Properties"]["AccessLogSetting"]  # and the API's access log
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]} and "$context.requestId" in access[
        "Format"]


def test_cors_allows_every_method_the_routes_use():
    allowed = RESOURCES["Api"]["Properties"]["Cors"]["AllowMethods"].strip("'").split(",")
    used = {method.upper() for f in FUNCTIONS.values() for _, method in _template_routes(f["Properties"])}
    assert used | {"OPTIONS"} <= set(allowed), f"add {sorted(used - set(allowed))} to Cors.AllowMethods"


def test_every_gateway_response_carries_the_cors_origin():
    # Without it the browser hides the refusal from the frontend, which then cannot tell what happened.
    responses = RESOURCES["Api"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for name, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers.get("Access-Control-Allow-Origin") == {"Fn::Sub": "'${AllowedOrigin}'"}, name


def test_cloudwatch_may_publish_to_every_topic_an_alarm_notifies():
    alarms = [r for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    topics = {action["Ref"] for alarm in alarms for action in alarm["Properties"]["AlarmActions"]}
    assert topics
    for topic in topics:
        key_id = RESOURCES[topic]["Properties"]["KmsMasterKeyId"]
        # An AWS-managed key (alias/aws/sns) has a policy nobody can change, and it lets CloudWatch do nothing.
        assert isinstance(key_id, dict) and "Ref" in key_id, f"{topic}: {key_id} is not a key of this template"
        key = RESOURCES[key_id["Ref"]]
        assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
        granted = {
            action
            for statement in key["Properties"]["KeyPolicy"]["Statement"]
            if statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
            for action in statement["Action"]
        }
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted, topic


def test_staff_rights_outlive_removal_from_the_group_by_five_minutes_at_most():
    # Staff come from the ID token's groups (shared.auth.token_groups): its lifetime is the window in which
    # someone removed from `staff` keeps the rights.
    clients = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::Cognito::UserPoolClient"]
    assert len(clients) == 2  # the web client, and the backend's password check (its tokens are dropped)
    for client in clients:
        assert client["TokenValidityUnits"]["IdToken"] == "minutes" and client["IdTokenValidity"] <= 5


def test_support_mail_is_stored_where_the_inbound_function_reads_it():
    from tickets.email_intake import INBOUND_MAIL_PREFIX

    rule = RESOURCES["SupportMailRule"]["Properties"]["Rule"]
    store, invoke = rule["Actions"]
    assert store["S3Action"]["ObjectKeyPrefix"] == INBOUND_MAIL_PREFIX
    assert store["S3Action"]["BucketName"] == {"Ref": "AttachmentsBucket"}
    assert invoke["LambdaAction"]["FunctionArn"] == {"Fn::GetAtt": ["InboundMailFunction", "Arn"]}
    assert rule["ScanEnabled"] is True  # without it SES gives no spam or virus verdict and nothing is quarantined
    handler = FUNCTIONS["InboundMailFunction"]["Properties"]
    assert handler["Handler"] == "tickets.ses_inbound.lambda_handler"
    assert handler["Environment"]["Variables"]["ATTACHMENTS_BUCKET"] == {"Ref": "AttachmentsBucket"}
    reads = [s for s in handler["Policies"][0]["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert reads[0]["Resource"] == {"Fn::Sub": "${AttachmentsBucket.Arn}/" + INBOUND_MAIL_PREFIX + "*"}
    # Everything SES needs exists only in the receiving region (a rule set elsewhere would be created in vain).
    for name in ("SupportMailRuleSet", "SupportMailRule", "InboundMailInvokePermission"):
        assert RESOURCES[name]["Condition"] == "ReceivesMail"


def test_only_the_backend_binds_a_login_to_an_account():
    """The account ids in a token (custom:client_id, custom:contact_id) are trusted by every function: only the
    backend's admin API may set them. Nobody signs up by themselves, and no app client writes them (nor the
    email, the login whose uniqueness the table guards). make dev's Cognito refuses the same (devstack/aws.py)."""
    resources = RESOURCES
    pool = resources["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    clients = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::Cognito::UserPoolClient"}
    assert set(clients) == {"UserPoolClient", "PasswordCheckClient"}
    for name, client in clients.items():
        assert "WriteAttributes" in client, name  # absent would mean every attribute is writable
        assert not {a for a in client["WriteAttributes"] if a.startswith("custom:") or a == "email"}, name
    assert clients["PasswordCheckClient"]["WriteAttributes"] == []
    # The public client signs in with SRP only: no flow that sends the password itself.
    assert set(clients["UserPoolClient"]["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
