"""The deploy step that makes the support-mail rule set active (CloudFormation cannot), on moto's SES."""

import boto3
from moto import mock_aws

from tools.activate_mail import activate


@mock_aws
def test_activation_is_shown_first_applied_on_request_and_never_replaces_another_set_silently():
    ses = boto3.client("ses", region_name="us-east-1")
    ses.create_receipt_rule_set(RuleSetName="stack-support-mail")
    ses.create_receipt_rule_set(RuleSetName="the-companys-own")
    assert activate(ses, "stack-support-mail", apply=False, replace=False) == ("would_activate", None)
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    assert activate(ses, "stack-support-mail", apply=True, replace=False) == ("activated", None)
    assert activate(ses, "stack-support-mail", apply=True, replace=False) == ("active", "stack-support-mail")
    ses.set_active_receipt_rule_set(RuleSetName="the-companys-own")
    assert activate(ses, "stack-support-mail", apply=True, replace=False) == ("other_active", "the-companys-own")
    assert ses.describe_active_receipt_rule_set()["Metadata"]["Name"] == "the-companys-own"
    assert activate(ses, "stack-support-mail", apply=True, replace=True) == ("activated", "the-companys-own")
