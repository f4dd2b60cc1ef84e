"""Provisioning of instant products: the account is created by the product's module (cPanel/WHM)."""

from datetime import timedelta
from typing import Any

from activation import cpanel

from shared import activation, upgrades
from shared.clock import Clock, from_storage, to_storage
from shared.credentials import encrypt_credentials
from shared.dal.repositories import Store
from shared.errors import ConcurrentModification


class RetryLater(Exception):
    """A transient provisioning failure was recorded; the queue brings the command back later."""

    def __init__(self, attempts: int):
        super().__init__(f"attempt {attempts} failed")
        self.attempts = attempts


CLAIM_TIMEOUT = timedelta(minutes=5)  # a "provisioning" claim older than this belonged to a crashed run


def provision(store: Store, kms: Any, clock: Clock, whm: cpanel.WhmApi | None, service_id: str) -> str:
    """Create the account of a queued service with its module; activate it, or record the failure."""
    service = store.get_service(service_id)
    now = clock.now()
    stale_claim = service.activation_state == "provisioning" and (
        now - from_storage(service.updated_at) > CLAIM_TIMEOUT
    )
    if service.activation_state != "queued" and not stale_claim:
        return "skipped"  # a redelivered command, a cancelled activation, or another run has it
    # Claim it first (version-checked): of two concurrent deliveries only one talks to the server.
    service.activation_state = "provisioning"
    service.updated_at = to_storage(now)
    try:
        store.save_with_events([service], [])
    except ConcurrentModification:
        return "skipped"
    try:
        if service.provisioning_module != "cpanel" or whm is None:
            raise cpanel.ProvisioningError(
                f"No hay módulo de aprovisionamiento '{service.provisioning_module}'.", permanent=True
            )
        client = store.get_client(service.client_id)
        account = cpanel.create(whm, service_id=service.service_id, domain=service.domain,
                                plan=service.product_id, contact_email=client.email)
        service.provisioning_account = account.username
        service.server = whm.host
        service.credentials_ciphertext = encrypt_credentials(kms, service.service_id, {
            "usuario cPanel": account.username, "clave cPanel": account.password, "dominio": account.domain,
        })
    except Exception as error:  # the module's errors, and anything unexpected on the way (KMS, network)
        if not isinstance(error, cpanel.ProvisioningError):
            error = cpanel.ProvisioningError(f"Error inesperado: {type(error).__name__}: {error}")
        service.activation_state = "queued"  # released for the next attempt
        if error.permanent:
            service.activation_attempts = activation.MAX_PROVISIONING_ATTEMPTS - 1  # no point retrying
        events = activation.provisioning_failed(service, str(error), now)
        store.save_with_events([service], events)
        if service.activation_state == "failed":
            return "failed"
        raise RetryLater(int(service.activation_attempts)) from error
    store.save_with_events([service], activation.activated(service, now))
    return "activated"


SERVER_ACTIONS = {
    "suspend": lambda whm, service, command: cpanel.suspend(whm, service.provisioning_account,
                                                             command.get("reason", "Suspendido")),
    "unsuspend": lambda whm, service, command: cpanel.unsuspend(whm, service.provisioning_account),
    "terminate": lambda whm, service, command: cpanel.terminate(whm, service.provisioning_account),
    "change_package": lambda whm, service, command: cpanel.change_package(
        whm, service.provisioning_account, command["plan"]),
}


def apply_to_server(store: Store, clock: Clock, whm: cpanel.WhmApi | None, command: dict) -> str:
    """A command on an existing account (suspend after a refund, change package after an upgrade; later:
    unsuspend, terminate). A failure raises: the queue retries it, and after its receives the command
    lands in the dead-letter queue, whose alarm calls staff."""
    service = store.get_service(command["service_id"])
    if not service.provisioning_account or service.provisioning_module != "cpanel":
        outcome = "skipped:no-account"
    else:
        if whm is None:
            raise cpanel.ProvisioningError("No hay acceso a WHM configurado.")
        SERVER_ACTIONS[command["action"]](whm, service, command)
        outcome = f"{command['action']}:done"
    if command.get("upgrade_id"):
        _complete_upgrade(store, clock, command["upgrade_id"])
    return outcome


def _complete_upgrade(store: Store, clock: Clock, upgrade_id: str) -> None:
    """The server has the new package: the plan change is complete (and the client is told)."""
    upgrade = store.get_upgrade(upgrade_id)
    if upgrade.status != "applying":
        return  # a redelivered command
    service = store.get_service(upgrade.service_id)
    store.save_with_events([upgrade, service], upgrades.complete(upgrade, service, clock.now()))
