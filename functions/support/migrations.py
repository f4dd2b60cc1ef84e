"""Migrations to our servers (help centre: "Migración de Hosting hacia nuestros servidores"; docs/migrations.md).

Option 1 (``we_migrate``, recommended): the client sends the old server's access; it is encrypted with KMS before
anything is written (the plaintext never reaches a log, an event or a queue), only the staff member who took the
migration may reveal it — each reveal recorded (who, when, from where) — and it is destroyed
``MigrationSecretDays`` after the migration ends (a sweep on the sparse by_due index; TTL as the backstop). Option 2
(``self_service``): the choice is recorded and the instructions go by email. Each state is an event and an alert.
"""

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from shared.auth import Identity, Permission, authorize, require_account, require_staff
from shared.clock import Clock, to_storage
from shared.dal.migrations import (
    OPEN_KIND,
    PURGE_KIND,
    AccessReveal,
    ActiveMigration,
    Migration,
    MigrationAccess,
    Migrations,
)
from shared.dal.table import clear_due, mark_due, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events import EventType, new_event
from shared.ids import new_id

# Staff move a migration along these steps; the client may cancel it while it is only requested.
NEXT = {"requested": {"in_progress", "failed", "cancelled"}, "in_progress": {"awaiting_dns", "failed", "cancelled"},
        "awaiting_dns": {"completed", "failed"}}
ENDED = {"completed", "failed", "cancelled"}
MIGRATABLE_KINDS = {"hosting"}
# A migration never ended (forgotten) still loses its access: TTL this long after the request.
UNENDED_ACCESS_KEPT = timedelta(days=90)


class NotMigratable(Conflict):
    code = "not_migratable"
    message = "Solo migramos servicios de hosting activos."


class MigrationUnderWay(Conflict):
    code = "migration_under_way"
    message = "Ese servicio ya tiene una migración en curso."


class CaveatNotAccepted(InvalidInput):
    code = "webmail_caveat_not_accepted"
    message = ("Confirme que leyó la advertencia: el correo guardado en el webmail del servidor anterior no se migra; "
               "descárguelo con Outlook antes de cambiar la delegación.")


class WrongStep(Conflict):
    code = "wrong_migration_step"


class NotTheAssignee(Forbidden):
    code = "not_the_assignee"
    message = "Solo quien tomó la migración puede ver el acceso al servidor anterior. Tómela primero."


class AccessPurged(Conflict):
    code = "access_purged"
    message = "El acceso al servidor anterior ya fue destruido (se borra al terminar la migración)."


def encrypt_access(kms: Any, key_id: str, migration_id: str, client_id: str, access: dict[str, str]) -> str:
    """KMS Encrypt, with the migration and its account as encryption context (a ciphertext moved elsewhere does not
    decrypt). The access is a few hundred bytes: KMS's 4 KB limit makes a data key of our own unnecessary."""
    blob = kms.encrypt(KeyId=key_id, Plaintext=json.dumps(access, ensure_ascii=False).encode("utf-8"),
                       EncryptionContext={"migration_id": migration_id, "client_id": client_id})["CiphertextBlob"]
    return base64.b64encode(blob).decode("ascii")


def _decrypt(kms: Any, key_id: str, migration: Migration, ciphertext: str) -> dict[str, str]:
    plaintext = kms.decrypt(KeyId=key_id, CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext={
        "migration_id": migration.migration_id, "client_id": migration.client_id})["Plaintext"]
    return json.loads(plaintext)


def _event(kind: EventType, migration: Migration, now: datetime, **extra):
    """What a migration's events say: never its access (docs/migrations.md)."""
    return new_event(kind, client_id=migration.client_id, occurred_at=now, payload={
        "migration_id": migration.migration_id, "client_id": migration.client_id,
        "service_id": migration.service_id, "option": migration.option, "status": migration.status,
        "panel_type": migration.panel_type, "old_host": migration.old_host, **extra})


def request(repo: Migrations, services, contact_permissions, kms: Any, key_id: str, clock: Clock,
            identity: Identity, service_id: str, body: Any) -> Migration:
    client_id = require_account(identity)
    found = services.get_services([service_id]) if service_id else []
    service = found[0] if found and found[0].client_id == client_id else None
    if service is None:
        raise not_found()
    authorize(identity, client_id, Permission.MANAGE_SERVICES, contact_permissions, services=[service_id])
    if service.product_kind not in MIGRATABLE_KINDS or service.status != "active":
        raise NotMigratable()
    if body.option == "we_migrate" and not body.webmail_caveat_accepted:
        raise CaveatNotAccepted(field="webmail_caveat_accepted")
    now = clock.now()
    stamp = to_storage(now)
    migration_id = new_id()
    migration = Migration(*Migration.key(migration_id), migration_id=migration_id, client_id=client_id,
                          service_id=service_id, option=body.option, requested_by=identity.subject,
                          created_at=stamp, updated_at=stamp)
    migration.list_on_account()
    items = [migration]
    if body.option == "we_migrate":
        migration.panel_type, migration.old_host = body.panel_type, body.host
        migration.webmail_caveat_accepted_at = stamp
        mark_due(migration, OPEN_KIND, migration_id, stamp)  # on staff's queue until it ends
        access = {"panel_type": body.panel_type, "host": body.host, "username": body.username,
                  "password": body.password.get_secret_value() if body.password else None,
                  "api_token": body.api_token.get_secret_value() if body.api_token else None, "notes": body.notes}
        items.append(MigrationAccess(*MigrationAccess.key(migration_id),
                                     ciphertext=encrypt_access(kms, key_id, migration_id, client_id, access),
                                     expires_at=now + UNENDED_ACCESS_KEPT))
    with UnitOfWork() as uow:
        uow.create(ActiveMigration(*ActiveMigration.key(service_id), migration_id=migration_id),
                   error=MigrationUnderWay())
        for item in items:
            uow.create(item)
        uow.emit([_event(EventType.MIGRATION_REQUESTED, migration, now, service=service.domain or service.product_id)])
    return migration


def _own(repo: Migrations, contact_permissions, identity: Identity, migration_id: str) -> Migration:
    client_id = require_account(identity)
    migration = repo.get(migration_id)
    if migration is None or migration.client_id != client_id:
        raise not_found()
    authorize(identity, client_id, Permission.MANAGE_SERVICES, contact_permissions, services=[migration.service_id])
    return migration


def list_mine(repo: Migrations, contact_permissions, identity: Identity) -> list[Migration]:
    from shared.auth import in_scope

    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.MANAGE_SERVICES, contact_permissions)
    return [m for m in repo.of_account(client_id) if in_scope(grant, [m.service_id])]


def _move(repo: Migrations, migration: Migration, status: str, now: datetime, note: str | None,
          purge_after: timedelta, by: str) -> Migration:
    if status not in NEXT.get(migration.status, set()):
        raise WrongStep(f"Una migración en estado {migration.status} no pasa a {status}.", field="status")
    migration.status, migration.status_note, migration.updated_at = status, note, to_storage(now)
    with UnitOfWork() as uow:
        if status in ENDED:
            uow.delete(ActiveMigration(*ActiveMigration.key(migration.service_id)),
                       condition=ActiveMigration.migration_id == migration.migration_id)
            clear_due(migration)  # off staff's queue (a we_migrate one goes on the purge's just below)
            if migration.option == "we_migrate":  # its access is destroyed after MigrationSecretDays
                at = now + purge_after
                mark_due(migration, PURGE_KIND, migration.migration_id, to_storage(at))
                access = repo.access(migration.migration_id)
                if access is not None:
                    access.expires_at = at + timedelta(days=1)  # TTL: the backstop of the purge sweep
                    uow.save(access)
        uow.save(migration)  # version-checked
        uow.emit([_event(EventType.MIGRATION_STATUS_CHANGED, migration, now, note=note, by=by)])
    return migration


def cancel(repo: Migrations, contact_permissions, clock: Clock, identity: Identity, migration_id: str,
           purge_after: timedelta) -> Migration:
    migration = _own(repo, contact_permissions, identity, migration_id)
    if migration.status != "requested":
        raise WrongStep("Ya empezamos a migrar: escríbanos por el ticket de la migración para detenerla.")
    return _move(repo, migration, "cancelled", clock.now(), None, purge_after, identity.subject)


def staff_migration(repo: Migrations, identity: Identity, migration_id: str) -> Migration:
    require_staff(identity)
    migration = repo.get(migration_id)
    if migration is None:
        raise not_found()
    return migration


def staff_queue(repo: Migrations, identity: Identity) -> list[Migration]:
    require_staff(identity)
    return repo.open_queue()


def take(repo: Migrations, clock: Clock, identity: Identity, migration_id: str) -> Migration:
    """The staff member who does the migration takes it: only they may reveal its access."""
    migration = staff_migration(repo, identity, migration_id)
    if migration.status in ENDED:
        raise WrongStep("La migración ya terminó.")
    migration.assignee, migration.updated_at = identity.subject, to_storage(clock.now())
    with UnitOfWork() as uow:
        uow.save(migration)
    return migration


def set_status(repo: Migrations, clock: Clock, identity: Identity, migration_id: str, status: str,
               note: str | None, purge_after: timedelta) -> Migration:
    migration = staff_migration(repo, identity, migration_id)
    return _move(repo, migration, status, clock.now(), note, purge_after, identity.subject)


def reveal(repo: Migrations, kms: Any, key_id: str, clock: Clock, identity: Identity, migration_id: str,
           source_ip: str | None, user_agent: str | None) -> dict[str, str]:
    """The old server's access, for the staff member who took the migration; the reveal is recorded first (no
    record, no reveal) and announced (``migration.access_revealed``, without the access)."""
    migration = staff_migration(repo, identity, migration_id)
    if migration.assignee != identity.subject:
        raise NotTheAssignee()
    access = repo.access(migration_id)
    if access is None:
        raise AccessPurged()
    now = clock.now()
    stamp = to_storage(now)
    with UnitOfWork() as uow:
        uow.create(AccessReveal(*AccessReveal.key(migration_id, stamp), migration_id=migration_id,
                                revealed_by=identity.subject, revealed_at=stamp, source_ip=source_ip,
                                user_agent=(user_agent or "")[:300] or None))
        uow.emit([_event(EventType.MIGRATION_ACCESS_REVEALED, migration, now, by=identity.subject,
                         source_ip=source_ip)])
    return _decrypt(kms, key_id, migration, access.ciphertext)


def purge_due(repo: Migrations, clock: Clock) -> dict[str, int]:
    """Every ended migration whose access is due to be destroyed: the access deleted, the migration off the index
    with the moment recorded, one transaction each."""
    from shared.errors import ConcurrentModification

    now = clock.now()
    done = {"purged": 0, "skipped": 0}
    for migration in repo.purges_due(to_storage(now)):
        clear_due(migration)
        migration.access_purged_at = to_storage(now)
        try:
            with UnitOfWork() as uow:
                uow.save(migration)
                uow.delete(MigrationAccess(*MigrationAccess.key(migration.migration_id)))
                uow.emit([_event(EventType.MIGRATION_ACCESS_PURGED, migration, now)])
            done["purged"] += 1
        except ConcurrentModification:
            done["skipped"] += 1
    return done

