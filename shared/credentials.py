"""Service credentials, encrypted with the suite's KMS key before they reach the table.

The service id is the encryption context: a ciphertext copied onto another service does not decrypt.
"""

import base64
import json
from typing import Any

from shared import config


def encrypt_credentials(kms: Any, service_id: str, credentials: dict[str, str]) -> str:
    blob = kms.encrypt(
        KeyId=config.env(config.SECRETS_KEY_ID),
        Plaintext=json.dumps(credentials, ensure_ascii=False).encode("utf-8"),
        EncryptionContext={"service_id": service_id},
    )["CiphertextBlob"]
    return base64.b64encode(blob).decode("ascii")


def decrypt_credentials(kms: Any, service_id: str, ciphertext: str) -> dict[str, str]:
    plaintext = kms.decrypt(
        # Naming the key is AWS's recommended practice: a ciphertext of another key is refused.
        KeyId=config.env(config.SECRETS_KEY_ID),
        CiphertextBlob=base64.b64decode(ciphertext),
        EncryptionContext={"service_id": service_id},
    )["Plaintext"]
    return json.loads(plaintext)
