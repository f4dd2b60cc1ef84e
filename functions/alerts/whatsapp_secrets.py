"""WhatsApp's secrets, from one Secrets Manager secret (JSON), cached for five minutes so that a rotated
token takes effect without a deploy. Never logged."""

from shared import config
from shared.aws import json_secret

SECRET_FIELDS = ("access_token", "app_secret", "verify_token")


def whatsapp_secrets() -> dict[str, str]:
    values = json_secret(config.WHATSAPP_SECRETS_ID)
    return {field: str(values.get(field, "")) for field in SECRET_FIELDS}
