"""Reads template.yaml and creates its resources in the embedded AWS — the template is the only list.

Only what the local stack needs is understood: the resource types below, Ref/GetAtt/Sub/Join, and
the function properties (handler, environment, events). Anything else is reported as skipped.
"""

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


_parsed: dict[tuple[Path, int], dict[str, Any]] = {}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict (a copy: callers may change it). Parsed once per version of the file: the YAML
    parse is most of what provisioning a fresh stack for each integration test costs."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _parsed:
        _parsed[key] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader)
    return copy.deepcopy(_parsed[key])


# Clients by (region, endpoint, service), kept for the process: boto3 builds each from its model (~50 ms), and the
# tests provision the template afresh for every test (about 900 times a run: 7 minutes of client-making).
_CLIENTS: dict[tuple[str, str | None, str], Any] = {}


class _Clients:
    """A session whose clients are made once per service and endpoint, for the whole process."""

    def __init__(self, session: Any):
        self._session = session
        self.region_name = session.region_name

    def client(self, service: str) -> Any:
        key = (self.region_name, os.environ.get("AWS_ENDPOINT_URL"), service)
        if key not in _CLIENTS:
            _CLIENTS[key] = self._session.client(service)
        return _CLIENTS[key]


@dataclass
class Function:
    logical_id: str
    handler: str
    environment: dict[str, str]
    events: dict[str, dict[str, Any]]
    timeout: int = 10
    memory_size: int = 128

    @property
    def service_name(self) -> str:
        """What Powertools calls the service (POWERTOOLS_SERVICE_NAME; the logical id when not set)."""
        return self.environment.get("POWERTOOLS_SERVICE_NAME") or self.logical_id

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def events_of(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, ev.get("Properties", {})) for name, ev in self.events.items() if ev.get("Type") == kind]


@dataclass
class Stack:
    """What was created: logical id -> physical values, and the functions to run."""

    name: str
    region: str
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # every template parameter's value


class ParameterError(ValueError):
    pass


def resolve_parameters(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The template's parameters: each one's Default, replaced by ``overrides`` (``--param Name=Value``),
    checked as CloudFormation checks them (a declared name; AllowedValues, AllowedPattern, Number, Min/Max)."""
    declared = template.get("Parameters", {})
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    for name, value in (overrides or {}).items():
        spec = declared.get(name)
        if spec is None:
            raise ParameterError(f"template.yaml has no parameter {name!r}; it has: {', '.join(sorted(declared))}")
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            raise ParameterError(f"{name}={value!r} is not allowed; choose one of: {', '.join(allowed)}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ParameterError(f"{name}={value!r} does not match the pattern {pattern}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise ParameterError(f"{name}={value!r} is not a number") from None
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < float(low)) or (high is not None and number > float(high)):
                raise ParameterError(f"{name}={value} is outside {low}..{high}")
        values[name] = value
    return values


def parse_parameter(text: str) -> tuple[str, str]:
    """``Name=Value`` (the value may be empty or hold '=')."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"expected Name=Value, got {text!r}")
    return name.strip(), value


SUPPORTED = {
    "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::S3::Bucket",
    "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup", "AWS::Serverless::Api",
    "AWS::SecretsManager::Secret", "AWS::SES::EmailIdentity", "AWS::SES::ConfigurationSet",
    "AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule",
}


class Unresolved(Exception):
    pass


class Resolver:
    def __init__(self, template: dict[str, Any], stack: Stack):
        self.template = template
        self.stack = stack
        # The values provision() chose (defaults and --param overrides); defaults for a bare stack.
        self.params = stack.parameters or resolve_parameters(template)
        self.pseudo = {
            "AWS::Region": stack.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": stack.name,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.stack.refs:
            return self.stack.refs[name]
        raise Unresolved(name)

    def getatt(self, name: str, attribute: str) -> str:
        try:
            return self.stack.attrs[name][attribute]
        except KeyError:
            raise Unresolved(f"{name}.{attribute}") from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                (key, arg), = value.items()
                if key == "Ref":
                    return self.ref(arg)
                if key == "Fn::GetAtt":
                    name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                    return self.getatt(name, attribute)
                if key == "Fn::Sub":
                    text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                    return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), extra), text)
                if key == "Fn::Join":
                    sep, items = arg
                    return sep.join(str(self.resolve(i)) for i in items)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        """A template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) on the stack's values."""
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, value: Any) -> bool:
        (key, arg), = value.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        raise ValueError(f"unsupported condition function {key}")

    def _sub(self, name: str, extra: dict[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if "." in name:
            return self.getatt(*name.split(".", 1))
        return self.ref(name)


def provision(session: Any, *, stack_name: str = "paneldecliente-local", template: dict | None = None,
              parameters: dict[str, str] | None = None) -> Stack:
    """Create every supported resource of the template in the AWS that ``session`` points at.

    ``parameters`` override the template's defaults (validated like CloudFormation does; ParameterError)."""
    template = template or load_template()
    session = _Clients(session)
    stack = Stack(name=stack_name, region=session.region_name,
                  parameters=resolve_parameters(template, parameters))
    resolver = Resolver(template, stack)
    pending = dict(template["Resources"])
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            try:
                _create(session, resolver, logical_id, resource)
            except Unresolved:
                continue
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references of {sorted(pending)}")
    for name, output in template.get("Outputs", {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        try:
            stack.outputs[name] = resolver.resolve(output["Value"])
        except Unresolved:
            pass
    return stack


def _create(session: Any, r: Resolver, logical_id: str, resource: dict[str, Any]) -> None:
    kind = resource["Type"]
    stack = r.stack
    if "Condition" in resource and not r.condition(resource["Condition"]):
        stack.skipped[logical_id] = f"{kind} (condition {resource['Condition']} is false)"
        return
    if kind == "AWS::Serverless::Function":
        _function(r, logical_id, resource)
        return
    if kind not in SUPPORTED:
        stack.skipped[logical_id] = kind  # alarms, topics, log groups: nothing to emulate locally
        # … but others may name them (the API's access log names its log group): a name and an ARN that go nowhere.
        service = kind.split("::")[1].lower()
        stack.refs[logical_id] = f"{stack.name}-{logical_id}"
        stack.attrs[logical_id] = {"Arn": f"arn:aws:{service}:{stack.region}:{ACCOUNT_ID}:{stack.name}-{logical_id}"}
        return
    props = r.resolve(resource.get("Properties", {}))
    physical = f"{stack.name}-{logical_id}"
    arn_prefix = f"arn:aws:{{}}:{stack.region}:{ACCOUNT_ID}"
    if kind == "AWS::DynamoDB::Table":
        ddb = session.client("dynamodb")
        args = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode") if k in props}
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        table = ddb.create_table(TableName=physical, **args)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=physical, TimeToLiveSpecification=ttl)
        stack.refs[logical_id] = physical
        stack.attrs[logical_id] = {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}
    elif kind == "AWS::SQS::Queue":
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = session.client("sqs").create_queue(QueueName=physical, Attributes=attributes)["QueueUrl"]
        stack.refs[logical_id] = url
        stack.attrs[logical_id] = {"Arn": arn_prefix.format("sqs") + f":{physical}", "QueueName": physical}
    elif kind == "AWS::KMS::Key":
        key = session.client("kms").create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
        stack.refs[logical_id] = key["KeyId"]
        stack.attrs[logical_id] = {"Arn": key["Arn"], "KeyId": key["KeyId"]}
    elif kind == "AWS::KMS::Alias":
        session.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        stack.refs[logical_id] = props["AliasName"]
    elif kind == "AWS::S3::Bucket":
        bucket = physical.lower()
        session.client("s3").create_bucket(Bucket=bucket)
        if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":  # earlier versions kept
            session.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        stack.refs[logical_id] = bucket
        stack.attrs[logical_id] = {"Arn": f"arn:aws:s3:::{bucket}"}
    elif kind == "AWS::Cognito::UserPool":
        pool_args = {"PoolName": props.get("UserPoolName", physical)}
        for key in ("UsernameAttributes", "AutoVerifiedAttributes", "Policies", "UsernameConfiguration",
                    "AdminCreateUserConfig", "AccountRecoverySetting"):
            if key in props:
                pool_args[key] = props[key]
        if "Schema" in props:
            pool_args["Schema"] = props["Schema"]
        pool = session.client("cognito-idp").create_user_pool(**pool_args)["UserPool"]
        stack.refs[logical_id] = pool["Id"]
        stack.attrs[logical_id] = {"Arn": pool["Arn"]}
    elif kind == "AWS::Cognito::UserPoolClient":
        client_args = {k: props[k] for k in ("UserPoolId", "ClientName", "GenerateSecret", "ExplicitAuthFlows",
                                               "ReadAttributes", "WriteAttributes") if k in props}
        client_args.setdefault("ClientName", physical)
        app_client = session.client("cognito-idp").create_user_pool_client(**client_args)["UserPoolClient"]
        stack.refs[logical_id] = app_client["ClientId"]
    elif kind == "AWS::Cognito::UserPoolGroup":
        session.client("cognito-idp").create_group(
            GroupName=props["GroupName"], UserPoolId=props["UserPoolId"], Description=props.get("Description", "")
        )
        stack.refs[logical_id] = props["GroupName"]
    elif kind == "AWS::SecretsManager::Secret":
        generate = props.get("GenerateSecretString") or {}
        value = props.get("SecretString") or generate.get("SecretStringTemplate") or "{}"
        arn = session.client("secretsmanager").create_secret(Name=physical, SecretString=value)["ARN"]
        stack.refs[logical_id] = arn
        stack.attrs[logical_id] = {"Id": arn}
    elif kind == "AWS::SES::EmailIdentity":
        identity = create_email_identity(session.client("sesv2"), props["EmailIdentity"],
                                         (props.get("ConfigurationSetAttributes") or {}).get("ConfigurationSetName"))
        stack.refs[logical_id] = props["EmailIdentity"]
        if "@" not in identity:  # a domain: the DKIM CNAMEs SES would ask for (moto has no Easy DKIM tokens)
            tokens = [f"local{n}{logical_id.lower()}" for n in (1, 2, 3)]
            stack.attrs[logical_id] = {
                **{f"DkimDNSTokenName{n}": f"{t}._domainkey.{identity}" for n, t in enumerate(tokens, 1)},
                **{f"DkimDNSTokenValue{n}": f"{t}.dkim.amazonses.com" for n, t in enumerate(tokens, 1)},
            }
    elif kind == "AWS::SES::ConfigurationSet":
        name = props.get("Name") or physical
        options = {k: props[k] for k in ("DeliveryOptions", "ReputationOptions", "SendingOptions",
                                         "SuppressionOptions", "TrackingOptions", "VdmOptions") if k in props}
        session.client("sesv2").create_configuration_set(ConfigurationSetName=name, **options)
        stack.refs[logical_id] = name
    elif kind == "AWS::SES::ReceiptRuleSet":
        name = props.get("RuleSetName") or physical
        ses = session.client("ses")
        ses.create_receipt_rule_set(RuleSetName=name)
        # What `make activate-mail` does after a real deploy: the local stack receives with it at once.
        ses.set_active_receipt_rule_set(RuleSetName=name)
        stack.refs[logical_id] = name
    elif kind == "AWS::SES::ReceiptRule":
        for action in props["Rule"].get("Actions") or []:
            if "LambdaAction" in action:
                _register_with_lambda(session, action["LambdaAction"]["FunctionArn"])
        session.client("ses").create_receipt_rule(RuleSetName=props["RuleSetName"], Rule=props["Rule"])
        stack.refs[logical_id] = props["Rule"]["Name"]
    elif kind == "AWS::Serverless::Api":
        stack.refs[logical_id] = "localapi"


def _register_with_lambda(session: Any, function_arn: str) -> None:
    """moto's SES accepts a rule's Lambda action only for a function its Lambda knows: a placeholder is
    registered under the name (the local runtime, not moto, runs the real handler; devstack/mail_receiving.py)."""
    import io
    import zipfile

    iam, name = session.client("iam"), function_arn.rsplit(":", 1)[-1]
    try:
        role = iam.get_role(RoleName="local-receipt-rule-target")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = iam.create_role(RoleName="local-receipt-rule-target",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    raise RuntimeError('run locally')\n")
    session.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                             Handler="placeholder.handler", Code={"ZipFile": code.getvalue()})


def create_email_identity(sesv2: Any, identity: str, configuration_set: str | None = None) -> str:
    """An SES identity (a domain, or one address) that may send at once, as a verified one in AWS may.

    moto keeps SESv2's identities in its SES (v1) backend, and SendEmail's Raw content is accepted from an
    address that is one, or whose domain is one (verification is not modelled): this one call is enough.
    The domain is lower-cased, as moto compares it exactly and mail domains are case-insensitive."""
    local, at, domain = identity.rpartition("@")
    identity = f"{local}{at}{domain.lower()}"
    args = {"EmailIdentity": identity}
    if configuration_set:
        args["ConfigurationSetName"] = configuration_set
    sesv2.create_email_identity(**args)
    return identity


def _function(r: Resolver, logical_id: str, resource: dict[str, Any]) -> None:
    glob = r.template.get("Globals", {}).get("Function", {})
    props = resource.get("Properties", {})
    env = {
        **(glob.get("Environment", {}).get("Variables", {})),
        **(props.get("Environment", {}).get("Variables", {})),
    }
    r.stack.functions[logical_id] = Function(
        logical_id=logical_id,
        handler=props["Handler"],
        environment={k: str(v) for k, v in r.resolve(env).items()},
        events=r.resolve(props.get("Events", {})),
        timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
        memory_size=int(props.get("MemorySize", glob.get("MemorySize", 128))),
    )
    r.stack.refs[logical_id] = f"{r.stack.name}-{logical_id}"
    r.stack.attrs[logical_id] = {
        "Arn": f"arn:aws:lambda:{r.stack.region}:{ACCOUNT_ID}:function:{r.stack.name}-{logical_id}"}
