"""Confirms a login's password with Cognito, for the actions the help centre allows only "con su email de
cliente y la clave de seguridad" (cancelling a service, transferring it), counting wrong ones against brute
force (``confirm_password``). Kept apart from shared.logins: only the functions
that confirm passwords load it, and only they are given its app client."""

from datetime import datetime, timedelta
from typing import Any

from shared import config
from shared.clock import from_storage, to_storage
from shared.dal.accounts import Accounts, Client, PasswordAttempts
from shared.dal.table import save_one
from shared.errors import ConcurrentModification, Forbidden, ServiceUnavailable, TooManyAttempts


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


# Brute force: this many wrong passwords within the window lock the confirmation for LOCK_FOR.
MAX_PASSWORD_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


class WrongPassword(Forbidden):
    code = "wrong_password"
    message = "La clave no es correcta."


def confirm_password(accounts: Accounts, passwords: PasswordCheck, client: Client,
                      attempts: PasswordAttempts | None, password: str, now: datetime,
                      login_email: str | None = None, contact_id: str | None = None) -> PasswordAttempts | None:
    """Raise unless ``password`` is the holder's (or the login's of ``login_email``: a contact confirming its own);
    count a wrong one on the account, and refuse while locked. Returns the attempts item (as read with the
    service) to clear when the password was right."""
    if attempts is not None and attempts.locked_until and from_storage(attempts.locked_until) > now:
        minutes = max(1, int((from_storage(attempts.locked_until) - now).total_seconds() // 60) + 1)
        raise TooManyAttempts(f"Demasiados intentos con una clave incorrecta. Vuelva a intentarlo en {minutes} "
                              "minutos.")
    if passwords.password_matches(login_email or client.email, password):
        return attempts
    for _ in range(5):  # concurrent wrong passwords each count: a lost version check reads and counts again
        try:
            return _count_failure(accounts, client, attempts, now, contact_id)
        except ConcurrentModification:
            attempts = accounts.password_attempts(client.client_id, contact_id)
    raise TooManyAttempts()


def _count_failure(accounts: Accounts, client: Client, attempts: PasswordAttempts | None, now: datetime,
                   contact_id: str | None = None):
    """Count one wrong password (always raises: wrong password, or locked)."""
    if attempts is not None and attempts.locked_until and from_storage(attempts.locked_until) > now:
        raise TooManyAttempts()  # locked by a concurrent attempt meanwhile
    if attempts is None or from_storage(attempts.window_started_at) + FAILURE_WINDOW < now or attempts.locked_until:
        fresh = PasswordAttempts(*PasswordAttempts.key(client.client_id, contact_id), client_id=client.client_id,
                                 failures=0, window_started_at=to_storage(now))
        if attempts is not None:
            fresh.version = attempts.version
        attempts = fresh
    attempts.failures += 1
    attempts.expires_at = now + FAILURE_WINDOW + LOCK_FOR
    left = MAX_PASSWORD_FAILURES - attempts.failures
    if left <= 0:
        attempts.locked_until = to_storage(now + LOCK_FOR)
    save_one(attempts)  # on its own: the request fails, but the failure counts
    if left <= 0:
        raise TooManyAttempts("Demasiados intentos con una clave incorrecta. Vuelva a intentarlo en "
                              f"{int(LOCK_FOR.total_seconds() // 60)} minutos.")
    raise WrongPassword(f"La clave no es correcta. Le quedan {left} intentos antes de un bloqueo temporal.")
