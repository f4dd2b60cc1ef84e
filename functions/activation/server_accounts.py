"""Accounts on the servers: an instant product's account is created by its module (cPanel/WHM), and
commands (suspend, unsuspend, terminate, change package, a new password) are applied to existing ones."""

from datetime import timedelta
from typing import Any

from activation import cpanel

from shared import activation, lifecycle, upgrades
from shared.calendar import local_date, local_midnight
from shared.clock import Clock, from_storage, to_storage
from shared.credentials import decrypt_credentials, encrypt_credentials
from shared.dal.accounts import Accounts
from shared.dal.lifecycle import BackupRetention
from shared.dal.services import ENDED_STATUSES as ENDED
from shared.dal.services import Services
from shared.dal.status import server_member
from shared.dal.unit_of_work import save_change
from shared.dal.upgrades import Upgrades
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event


class RetryLater(Exception):
    """A transient provisioning failure was recorded; the queue brings the command back later."""

    def __init__(self, attempts: int):
        super().__init__(f"attempt {attempts} failed")
        self.attempts = attempts


CLAIM_TIMEOUT = timedelta(minutes=5)  # a "provisioning" claim older than this belonged to a crashed run


def _claim(service, attribute: str, state: str, now) -> bool:
    """Mark the service as taken by this run (version-checked): False when another run changed it first."""
    setattr(service, attribute, state)
    service.updated_at = to_storage(now)
    try:
        save_change([service])
    except ConcurrentModification:
        return False
    return True


def provision(services: Services, accounts: Accounts, kms: Any, clock: Clock, whm: cpanel.WhmApi | None,
              service_id: str) -> str:
    """Create the account of a queued service with its module; activate it, or record the failure."""
    for _ in range(3):
        service = services.get_service(service_id, consistent=True)
        now = clock.now()
        stale_claim = service.activation_state == "provisioning" and (
            now - from_storage(service.updated_at) > CLAIM_TIMEOUT
        )
        if service.activation_state != "queued" and not stale_claim:
            return "skipped"  # a redelivered command, a cancelled activation, or another run has it
        # Claim it first (version-checked): of two concurrent deliveries only one talks to the server. A lost claim
        # is read again: another run took it (skipped above), or another change of the service (an edit, a
        # transaction in flight) came first and it is still ours to take.
        if _claim(service, "activation_state", "provisioning", now):
            break
    else:
        raise ConcurrentModification()  # the queue brings the command back
    try:
        if service.provisioning_module != "cpanel" or whm is None:
            raise cpanel.ProvisioningError(
                f"No hay módulo de aprovisionamiento '{service.provisioning_module}'.", permanent=True
            )
        client = accounts.get_client(service.client_id)
        account = cpanel.create(whm, service_id=service.service_id, domain=service.domain,
                                plan=service.product_id, contact_email=client.email)
        credentials = encrypt_credentials(kms, service.service_id, {
            "usuario cPanel": account.username, "clave cPanel": account.password, "dominio": account.domain,
        })
    except Exception as error:  # the module's errors, and anything unexpected on the way (KMS, network)
        if not isinstance(error, cpanel.ProvisioningError):
            error = cpanel.ProvisioningError(f"Error inesperado: {type(error).__name__}: {error}")
        service.activation_state = "queued"  # released for the next attempt
        if error.permanent:
            service.activation_attempts = activation.MAX_PROVISIONING_ATTEMPTS - 1  # no point retrying
        events = activation.provisioning_failed(service, str(error), now)
        save_change([service], events)
        if service.activation_state == "failed":
            return "failed"
        raise RetryLater(service.activation_attempts) from error
    return _record_account(services, clock, service_id, account.username, whm.host, credentials)


def _record_account(services: Services, clock: Clock, service_id: str, username: str, host: str | None,
                    credentials: str) -> str:
    """The account exists on the server: it is always recorded, even when the service changed meanwhile
    (a refund cancelled the activation during the call), so no live account is ever unknown to us. A
    cancelled activation gets its new account suspended instead of activated (paid again later, it is
    unsuspended: shared.activation.paid_again)."""
    for _ in range(3):
        service = services.get_service(service_id, consistent=True)
        now = clock.now()
        service.provisioning_account, service.server = username, host
        service.credentials_ciphertext = credentials
        service.updated_at = to_storage(now)
        if service.activation_state in ("provisioning", "queued"):  # queued: paid again meanwhile
            events, outcome = activation.activated(service, now), "activated"
        elif service.status in ENDED:  # terminated while its account was being created: it goes too
            service.credentials_ciphertext = None
            events = activation.server_command(service, now, "terminate")
            outcome = "recorded:terminate-queued"
        elif service.activation_state == "active":  # another run, after a stale claim, got there first
            events, outcome = [], "recorded"
        else:
            events = activation.server_command(service, now, "suspend", reason="Activación cancelada")
            outcome = "recorded:suspend-queued"
        # Where the service lives, for the status page's alerts (one Query per affected server).
        members = [server_member(host, service.service_id)] if host else []
        try:
            save_change([service, *members], events)
            return outcome
        except ConcurrentModification:
            continue  # changed again between the read and the write: read it again
    raise ConcurrentModification()


SERVER_ACTIONS = {
    "suspend": lambda whm, service, command: cpanel.suspend(whm, service.provisioning_account,
                                                             command.get("reason", "Suspendido")),
    "unsuspend": lambda whm, service, command: cpanel.unsuspend(whm, service.provisioning_account),
    # The service's plan when the command runs (not when it was queued): a change and its revert, queued
    # close together and delivered in any order, leave the server on the plan the service is on.
    "change_package": lambda whm, service, command: cpanel.change_package(
        whm, service.provisioning_account, service.product_id),
}


# Commands that follow the service's state: (action -> the service is active when it applies).
STATE_ACTIONS = {"suspend": False, "unsuspend": True}


def apply_to_server(services: Services, plan_changes: Upgrades, clock: Clock, whm: cpanel.WhmApi | None,
                    command: dict) -> str:
    """A command on an existing account (suspend after a refund, unsuspend when paid again, change
    package after a plan change). A failure raises: the queue retries it, and after its receives the
    command lands in the dead-letter queue, whose alarm calls staff."""
    service = services.get_service(command["service_id"], consistent=True)
    if command["action"] == "terminate":
        return remove_account(services, clock, whm, service)
    if not service.provisioning_account or service.provisioning_module != "cpanel":
        outcome = "skipped:no-account"
    elif service.status in ENDED:
        outcome = f"skipped:{command['action']}-ended"  # its account is removed (or about to be)
    elif command["action"] in STATE_ACTIONS and STATE_ACTIONS[command["action"]] != (service.status == "active"):
        # Decided by the service as it is now, not as it was when queued: a refund's suspend delivered after
        # the unsuspend of the payment that followed it (a standard queue does not keep order, and a
        # replay sends commands again) must not leave a paid service's account suspended.
        outcome = f"skipped:{command['action']}-stale"
    else:
        if whm is None:
            raise cpanel.ProvisioningError("No hay acceso a WHM configurado.")
        SERVER_ACTIONS[command["action"]](whm, service, command)
        outcome = f"{command['action']}:done"
    if command.get("upgrade_id"):
        _complete_upgrade(services, plan_changes, clock, command["upgrade_id"])
    return outcome


def _complete_upgrade(services: Services, plan_changes: Upgrades, clock: Clock, upgrade_id: str) -> None:
    """The server has the new package: the plan change is complete (and the client is told)."""
    upgrade = plan_changes.get_upgrade(upgrade_id)
    if upgrade.status != "applying":
        return  # a redelivered command, or a change reverted meanwhile
    service = services.get_service(upgrade.service_id, consistent=True)
    save_change([upgrade, service], upgrades.complete(upgrade, service, clock.now()))


def remove_account(services: Services, clock: Clock, whm: cpanel.WhmApi | None, service) -> str:
    """An ended service's account leaves its server (help centre: site, emails, FTP… are deleted), once:
    claimed first (version-checked) so that of two deliveries only one talks to WHM, and recorded as
    removed with its last backup, kept 10 years (a BackupRetention item with a TTL, and on the service
    for its page). A failure releases the claim and raises: the queue retries, then its DLQ's alarm calls
    staff."""
    if service.status not in ENDED or not service.provisioning_account or service.provisioning_module != "cpanel":
        return "skipped:no-account"
    now = clock.now()
    claimed = service.account_removal == "removing" and now - from_storage(service.updated_at) <= CLAIM_TIMEOUT
    if service.account_removal == "removed" or claimed:
        return "skipped:terminate-done"
    if whm is None:
        raise cpanel.ProvisioningError("No hay acceso a WHM configurado.")
    if not _claim(service, "account_removal", "removing", now):
        return "skipped:terminate-claimed"
    try:
        backup_on = cpanel.last_backup_on(whm, service.provisioning_account)
        cpanel.terminate(whm, service.provisioning_account)
    except Exception:
        service.account_removal = None  # released, so that the queue's retry is not taken for a running claim
        save_change([service])
        raise
    now = clock.now()
    ended_on = local_date(from_storage(service.ended_at or to_storage(now)))
    kept_until = lifecycle.retained_until(backup_on, ended_on)
    retention = BackupRetention(
        *BackupRetention.key(service.service_id), service_id=service.service_id, client_id=service.client_id,
        server=service.server, account=service.provisioning_account, domain=service.domain,
        last_backup_on=backup_on.isoformat() if backup_on else None, retained_until=kept_until.isoformat(),
        recorded_at=to_storage(now), expires_at=local_midnight(kept_until),
    )
    for _ in range(3):  # the account is gone: record it even if the service changed meanwhile
        service.account_removal = "removed"
        service.last_backup_on = retention.last_backup_on
        service.backup_retained_until = retention.retained_until
        service.updated_at = to_storage(now)
        try:
            save_change([service, retention])
            return "terminate:done"
        except ConcurrentModification:
            service = services.get_service(service.service_id, consistent=True)
    raise ConcurrentModification()


PASSWORD_NAME, USER_NAME = "clave cPanel", "usuario cPanel"  # as provision() names them


def rotate_password(services: Services, kms: Any, clock: Clock, whm: cpanel.WhmApi | None, service_id: str) -> str:
    """The holder asked for new credentials (functions/services/credentials.py): a new password on the server,
    then on the service. The new credentials are stored (encrypted, as pending) before WHM is called, so a run that
    crashes after ``passwd`` leaves a retry that sets that same password again and records it: the service never
    keeps a password the server no longer has. Only the pending credentials this run sent to WHM are made the
    service's (a slow duplicate delivery cannot record another rotation's password), and never on a service that
    ended meanwhile. A WHM failure raises: the queue retries, then its DLQ's alarm calls staff."""
    for _ in range(3):
        service = services.get_service(service_id, consistent=True)
        if service.credentials_rotation not in ("requested", "rotating"):
            return "skipped:no-rotation"  # a redelivered command of a finished rotation
        if service.status in ENDED or not service.provisioning_account or service.provisioning_module != "cpanel":
            return _drop_rotation(services, clock, service_id)
        if whm is None:
            raise cpanel.ProvisioningError("No hay acceso a WHM configurado.")
        if service.pending_credentials_ciphertext is not None:
            break  # stored by this command's earlier attempt (or a duplicate delivery): carry on with it
        current = (decrypt_credentials(kms, service_id, service.credentials_ciphertext)
                   if service.credentials_ciphertext else {})
        values = {**current, USER_NAME: service.provisioning_account, PASSWORD_NAME: cpanel.new_password()}
        service.pending_credentials_ciphertext = encrypt_credentials(kms, service_id, values)
        if _claim(service, "credentials_rotation", "rotating", clock.now()):
            break
        # Changed meanwhile (a duplicate delivery stored its password first, a renewal): read it again.
    else:
        raise ConcurrentModification()
    sent = service.pending_credentials_ciphertext
    values = decrypt_credentials(kms, service_id, sent)
    cpanel.change_password(whm, service.provisioning_account, values[PASSWORD_NAME])
    for _ in range(3):  # the server has the new password: the service must have it too
        service = services.get_service(service_id, consistent=True)
        if service.pending_credentials_ciphertext != sent:
            return "skipped:rotation-superseded"  # done by another delivery, or another rotation's password now
        if service.status in ENDED:
            return _drop_rotation(services, clock, service_id)
        now = clock.now()
        service.credentials_ciphertext = sent
        service.pending_credentials_ciphertext = service.credentials_rotation = None
        service.credentials_rotated_at = service.updated_at = to_storage(now)
        event = new_event(EventType.SERVICE_CREDENTIALS_ROTATED, client_id=service.client_id, occurred_at=now,
                          payload={"service_id": service_id, "service": service.domain or service.product_name})
        try:
            save_change([service], [event])
            return "rotate_password:done"
        except ConcurrentModification:
            continue
    raise ConcurrentModification()


def _drop_rotation(services: Services, clock: Clock, service_id: str) -> str:
    """Nothing left to rotate (the service ended, or has no account): the request goes, and no credentials return."""
    for _ in range(3):
        service = services.get_service(service_id, consistent=True)
        service.credentials_rotation = service.pending_credentials_ciphertext = None
        service.credentials_rotation_requested_at = None
        service.updated_at = to_storage(clock.now())
        try:
            save_change([service])
            return "skipped:no-account"
        except ConcurrentModification:
            continue
    raise ConcurrentModification()
