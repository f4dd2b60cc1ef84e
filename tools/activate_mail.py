"""Make the stack's support-mail receipt rule set the account's active one (a deploy step, once per account
and region: CloudFormation can create a rule set but not activate it; docs/email-channel.md).

    python -m tools.activate_mail --stack paneldecliente-prod            # shows what would change
    python -m tools.activate_mail --stack paneldecliente-prod --apply

An account has one active rule set per region: if another one is active, it is named and left alone
unless --replace is given too (its rules would stop receiving mail).
"""

import argparse
import sys


def rule_set_of(cloudformation, stack: str) -> str | None:
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs") or []
    return next((o["OutputValue"] for o in outputs if o["OutputKey"] == "SupportMailRuleSetName"), None)


def activate(ses, wanted: str, *, apply: bool, replace: bool) -> tuple[str, str | None]:
    """("active" | "would_activate" | "activated" | "other_active", the set active before)."""
    active = (ses.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name")
    if active == wanted:
        return "active", active
    if active and not replace:
        return "other_active", active
    if not apply:
        return "would_activate", active
    ses.set_active_receipt_rule_set(RuleSetName=wanted)
    return "activated", active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.activate_mail", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", help="the stack's region (the MailReceivingRegion parameter)")
    parser.add_argument("--apply", action="store_true")
    parser.add_argument("--replace", action="store_true", help="replace another active rule set")
    args = parser.parse_args(argv)
    import boto3

    session = boto3.Session(region_name=args.region)
    wanted = rule_set_of(session.client("cloudformation"), args.stack)
    if wanted is None:
        print("The stack has no SupportMailRuleSetName output: is it deployed in MailReceivingRegion?")
        return 2
    outcome, before = activate(session.client("ses"), wanted, apply=args.apply, replace=args.replace)
    messages = {
        "active": f"{wanted} is already the active rule set.",
        "would_activate": f"{wanted} would become the active rule set (now: {before or 'none'}); add --apply.",
        "activated": f"{wanted} is now the active rule set (was: {before or 'none'}).",
        "other_active": f"{before} is active; --replace --apply makes {wanted} active instead.",
    }
    print(messages[outcome])
    return 1 if outcome == "other_active" else 0


if __name__ == "__main__":
    sys.exit(main())
