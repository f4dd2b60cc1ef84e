"""Migrations to our servers (help centre: "Migración de Hosting hacia nuestros servidores"; docs/migrations.md): the
request, the old server's access (KMS-encrypted, purged on time), and every reveal of it."""

from pynamodb.attributes import UnicodeAttribute, VersionAttribute

from shared.dal.table import TableItem, due_partitions, find_by_id, find_item

PURGE_KIND = "migration_purge"
OPEN_KIND = "migration_open"  # a migration we do, not ended: staff's queue (oldest first)
QUEUE_SHOWN = 200


class Migration(TableItem, discriminator="Migration"):
    """A service's migration: ``option`` we_migrate (we move everything with the old server's access) or
    self_service (the client follows the instructions). ``status`` requested → in_progress → awaiting_dns →
    completed / failed / cancelled. Listed by account on by_owner; once ended, on by_due until its access is
    purged."""

    migration_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    option = UnicodeAttribute()
    status = UnicodeAttribute(default="requested")
    panel_type = UnicodeAttribute(null=True)  # cpanel | plesk | directadmin | other
    old_host = UnicodeAttribute(null=True)  # shown to staff; the credentials are in MigrationAccess only
    assignee = UnicodeAttribute(null=True)  # the staff member who may reveal the access
    webmail_caveat_accepted_at = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute()
    status_note = UnicodeAttribute(null=True)
    access_purged_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(migration_id: str) -> tuple[str, str]:
        return f"MIGRATION#{migration_id}", "MIGRATION"

    def list_on_account(self) -> None:
        self.gsi1pk, self.gsi1sk = f"CLIENT#{self.client_id}", f"MIGRATION#{self.migration_id}"


class MigrationAccess(TableItem, discriminator="MigrationAccess"):
    """The old server's access, as KMS ciphertext (encryption context: the migration and its account). Its own
    item, so purging it deletes it whole; TTL (``expires_at``) is the backstop of the purge sweep."""

    ciphertext = UnicodeAttribute()

    @staticmethod
    def key(migration_id: str) -> tuple[str, str]:
        return f"MIGRATION#{migration_id}", "ACCESS"


class ActiveMigration(TableItem, discriminator="ActiveMigration"):
    """The service's one migration not yet ended."""

    migration_id = UnicodeAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "MIGRATION_ACTIVE"


class AccessReveal(TableItem, discriminator="AccessReveal"):
    """One reveal of a migration's old-server access: who, when, from where (kept with the migration)."""

    migration_id = UnicodeAttribute()
    revealed_by = UnicodeAttribute()
    revealed_at = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)

    @staticmethod
    def key(migration_id: str, revealed_at: str) -> tuple[str, str]:
        return f"MIGRATION#{migration_id}", f"REVEAL#{revealed_at}"


class Migrations:
    """Reads of the migrations context; writes go through the caller's unit of work."""

    def get(self, migration_id: str) -> Migration | None:
        return find_by_id(Migration, migration_id)

    def access(self, migration_id: str) -> MigrationAccess | None:
        return find_item(MigrationAccess, MigrationAccess.key(migration_id))

    def active_of(self, service_id: str) -> ActiveMigration | None:
        return find_item(ActiveMigration, ActiveMigration.key(service_id))

    def reveals(self, migration_id: str) -> list[AccessReveal]:
        pk, _ = Migration.key(migration_id)
        return [r for r in AccessReveal.query(pk, AccessReveal.sk.startswith("REVEAL#")) if isinstance(r, AccessReveal)]

    def of_account(self, client_id: str) -> list[Migration]:
        found = Migration.by_owner.query(f"CLIENT#{client_id}", Migration.gsi1sk.startswith("MIGRATION#"),
                                         scan_index_forward=False, limit=50)
        return [m for m in found if isinstance(m, Migration)]

    def open_queue(self) -> list[Migration]:
        """The migrations we do that have not ended, oldest first (one Query per by_due shard)."""
        found: list[Migration] = []
        for partition in due_partitions(OPEN_KIND):
            found.extend(Migration.by_due.query(partition, limit=QUEUE_SHOWN))
        return sorted((m for m in found if isinstance(m, Migration)), key=lambda m: m.due_sk)[:QUEUE_SHOWN]

    def purges_due(self, at: str) -> list[Migration]:
        found: list[Migration] = []
        for partition in due_partitions(PURGE_KIND):
            found.extend(Migration.by_due.query(partition, Migration.due_sk <= f"{at}#~"))
        return [m for m in found if isinstance(m, Migration)]
