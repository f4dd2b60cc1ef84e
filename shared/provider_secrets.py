"""The payment providers' secrets, from one Secrets Manager secret (JSON), cached for five minutes so that a
rotation takes effect without a deploy. Never logged. Read by the webhooks and settlement (signatures, the
payment lookup) and by the checkout (creating preferences and sessions)."""

from shared import config
from shared.aws import json_secret

SECRET_FIELDS = ("mercadopago_webhook_secret", "mercadopago_access_token", "stripe_webhook_secret",
                 "stripe_secret_key")


def provider_secrets() -> dict[str, str]:
    values = json_secret(config.PAYMENT_SECRETS_ID)
    return {field: str(values.get(field, "")) for field in SECRET_FIELDS}
