"""Tell Telegram where the support bot's updates go (a deploy step: Telegram has no CloudFormation resource).

    python -m tools.telegram_webhook --stack paneldecliente-prod            # shows what would change
    python -m tools.telegram_webhook --stack paneldecliente-prod --apply

It reads the stack's TelegramWebhookUrl output and its TelegramSecrets (bot_token from BotFather; webhook_secret,
generated here when empty: 64 characters of A-Z a-z 0-9), then calls setWebhook with that URL, the secret as
``secret_token`` (Telegram sends it back in X-Telegram-Bot-Api-Secret-Token) and ``allowed_updates: ["message"]``.
Running it again with the same values changes nothing; getWebhookInfo says what Telegram has now.
"""

import argparse
import json
import secrets
import string
import sys

sys.path.insert(0, "functions")

SECRET_ALPHABET = string.ascii_letters + string.digits


def outputs_of(cloudformation, stack: str) -> dict[str, str]:
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs") or []
    return {o["OutputKey"]: o["OutputValue"] for o in found}


def configure(bot, secretsmanager, secret_id: str, webhook_url: str, *, apply: bool) -> str:
    """"set", or without --apply "would_set" / "points_here" (Telegram already sends to this URL; the secret
    cannot be read back, so --apply sets it again all the same). A webhook secret is generated and stored
    first when there is none."""
    if not apply:
        current = bot.call("getWebhookInfo", {})
        return "points_here" if isinstance(current, dict) and current.get("url") == webhook_url else "would_set"
    values = json.loads(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"] or "{}")
    if not values.get("webhook_secret"):
        values["webhook_secret"] = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(64))
        secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps(values))
    bot.set_webhook(webhook_url, values["webhook_secret"])
    return "set"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.telegram_webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region")
    parser.add_argument("--api-url", default="https://api.telegram.org", help="the Bot API (TelegramApiUrl)")
    parser.add_argument("--apply", action="store_true")
    args = parser.parse_args(argv)
    import boto3
    from tickets.telegram_bot import BotApi, BotApiFailed

    session = boto3.Session(region_name=args.region)
    outputs = outputs_of(session.client("cloudformation"), args.stack)
    secretsmanager = session.client("secretsmanager")
    token = json.loads(secretsmanager.get_secret_value(SecretId=outputs["TelegramSecretsArn"])["SecretString"]
                       or "{}").get("bot_token", "")
    try:
        outcome = configure(BotApi(args.api_url, token), secretsmanager, outputs["TelegramSecretsArn"],
                            outputs["TelegramWebhookUrl"], apply=args.apply)
    except BotApiFailed as failure:
        print(f"Telegram refused: {failure}", file=sys.stderr)
        return 1
    print(f"{outcome}: {outputs['TelegramWebhookUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
