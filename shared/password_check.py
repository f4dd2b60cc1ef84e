"""Confirms a login's password with Cognito, for the actions the help centre allows only "con su email de
cliente y la clave de seguridad" (cancelling a service). Kept apart from shared.logins: only the functions
that confirm passwords load it, and only they are given its app client."""

from typing import Any

from shared import config
from shared.errors import Forbidden, ServiceUnavailable, TooManyAttempts


class PasswordCheck:
    def __init__(self, client: Any, user_pool_id: str | None = None, app_client_id: str | None = None):
        self._client = client
        self._pool_id, self._app_client_id = user_pool_id, app_client_id

    @property
    def _pool(self) -> str:
        return self._pool_id or config.env(config.USER_POOL_ID)

    @property
    def _app_client(self) -> str:
        return self._app_client_id or config.env(config.PASSWORD_CHECK_CLIENT_ID)

    @classmethod
    def from_env(cls) -> "PasswordCheck":
        from shared.aws import LazyClient

        return cls(LazyClient("cognito-idp"))

    def password_matches(self, email: str, password: str) -> bool:
        """Whether ``password`` is the login's password, asked of Cognito (ADMIN_USER_PASSWORD_AUTH on an app
        client of the backend's own, which the public frontend client does not allow). The password is
        neither stored nor logged; the tokens Cognito answers with are dropped. A challenge (e.g. a new
        password required) still means the password was right. Cognito's own lockout ("Password attempts
        exceeded") is TooManyAttempts."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.admin_initiate_auth(
                UserPoolId=self._pool, ClientId=self._app_client,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as error:
            code, text = error.response["Error"]["Code"], error.response["Error"].get("Message", "")
            if code == "NotAuthorizedException" and "attempts exceeded" in text.lower():
                raise TooManyAttempts() from None
            if code == "PasswordResetRequiredException":  # not a wrong password: not counted
                raise Forbidden("Debe restablecer su clave antes de confirmar esta operación: use «Olvidé mi clave».",
                                code="password_reset_required") from None
            if code in ("NotAuthorizedException", "UserNotFoundException"):
                return False
            if code == "TooManyRequestsException":
                raise TooManyAttempts() from None
            raise ServiceUnavailable() from None
        except BotoCoreError:  # no answer from Cognito (timeout, endpoint), or the app client not configured
            raise ServiceUnavailable() from None
        return True
