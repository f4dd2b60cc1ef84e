"""WhatsApp's secrets, from one Secrets Manager secret (JSON), cached for five minutes so that a rotated
token takes effect without a deploy. Never logged."""

from aws_lambda_powertools.utilities import parameters

from shared import config

SECRET_FIELDS = ("access_token", "app_secret", "verify_token")


def whatsapp_secrets() -> dict[str, str]:
    values = parameters.get_secret(config.env(config.WHATSAPP_SECRETS_ID), transform="json", max_age=300)
    return {field: str(values.get(field, "")) for field in SECRET_FIELDS}
