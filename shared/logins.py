"""Sign-in identities in the Cognito user pool (the API's authorizer verifies their tokens).

The account id travels as the custom attributes ``client_id``/``contact_id``; the pool's app client
cannot write them, so only this backend (with admin rights) sets what a token claims.
"""

import secrets
from typing import Any

from shared import config
from shared.errors import InvalidInput, ServiceUnavailable


class LoginExists(Exception):
    pass


class CognitoLogins:
    def __init__(self, client: Any, user_pool_id: str | None = None):
        self._client = client
        self._pool_id = user_pool_id

    @property
    def _pool(self) -> str:
        # Read at call time when not given: the same warm client serves whatever pool the env names.
        return self._pool_id or config.env(config.USER_POOL_ID)

    @classmethod
    def from_env(cls) -> "CognitoLogins":
        from shared.aws import LazyClient

        return cls(LazyClient("cognito-idp"))

    def create(
        self,
        email: str,
        *,
        client_id: str | None,
        contact_id: str | None = None,
        password: str | None = None,
        groups: tuple[str, ...] = (),
        email_verified: bool = False,
    ) -> str:
        """Create the login; returns its subject (sub). Without a password Cognito emails an invitation."""
        from botocore.exceptions import ClientError

        attributes = [{"Name": "email", "Value": email}]
        if email_verified:  # proven by the backend (an invitation's link reached it): password recovery works
            attributes.append({"Name": "email_verified", "Value": "true"})
        if client_id:
            attributes.append({"Name": "custom:client_id", "Value": client_id})
        if contact_id:
            attributes.append({"Name": "custom:contact_id", "Value": contact_id})
        kwargs: dict[str, Any] = {"UserPoolId": self._pool, "Username": email, "UserAttributes": attributes}
        if password:
            kwargs["MessageAction"] = "SUPPRESS"
            kwargs["TemporaryPassword"] = secrets.token_urlsafe(24) + "aA1!"
        created = False
        try:
            user = self._client.admin_create_user(**kwargs)["User"]
            created = True
            if password:
                self._client.admin_set_user_password(
                    UserPoolId=self._pool, Username=email, Password=password, Permanent=True
                )
            for group in groups:
                self._client.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=group)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "UsernameExistsException":
                raise LoginExists(email) from error
            if code == "InvalidParameterException":
                # Cognito's email rule is narrower than RFC 5322 (it refuses e.g. "#", "$", "&").
                raise InvalidInput(
                    "Ese email no puede usarse para iniciar sesión. Use letras, números, puntos, guiones o '+'.",
                    code="invalid_email",
                    field="email",
                ) from error
            if created:  # nothing half-made: a login without its password or groups would block the email
                self.delete_quietly(email)
            if code == "InvalidPasswordException":
                raise InvalidInput(
                    "La clave debe tener al menos 8 caracteres, con mayúsculas, minúsculas y números.",
                    code="weak_password",
                    field="password",
                ) from error
            raise ServiceUnavailable() from error
        return next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "sub"), user["Username"])

    def exists(self, email: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.admin_get_user(UserPoolId=self._pool, Username=email)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "UserNotFoundException":
                return False
            raise ServiceUnavailable() from error

    def change_email(self, old: str, new: str) -> None:
        """The login's email (its sign-in name: the pool's username attribute), verified: the backend checked the
        new address with a code of its own. Another login with it is EmailTaken."""
        from botocore.exceptions import ClientError

        from shared.dal.accounts import EmailTaken

        try:
            self._client.admin_update_user_attributes(UserPoolId=self._pool, Username=old, UserAttributes=[
                {"Name": "email", "Value": new}, {"Name": "email_verified", "Value": "true"}])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("AliasExistsException", "UsernameExistsException"):
                raise EmailTaken() from error
            raise ServiceUnavailable() from error

    def rehome(self, email: str, client_id: str, contact_id: str) -> None:
        """The account the login's tokens name as its own, from now on (its home contact was removed while it is a
        contact elsewhere: accounts.memberships). Set by the backend alone, like every account id of a login."""
        self._client.admin_update_user_attributes(UserPoolId=self._pool, Username=email, UserAttributes=[
            {"Name": "custom:client_id", "Value": client_id}, {"Name": "custom:contact_id", "Value": contact_id}])

    def delete(self, email: str) -> None:
        self._client.admin_delete_user(UserPoolId=self._pool, Username=email)

    def delete_quietly(self, email: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.delete(email)
        except ClientError:
            pass
