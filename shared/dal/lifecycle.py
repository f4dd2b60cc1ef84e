"""Service lifecycle: cancellation requests, the backups kept after a service ends, restore requests, and
the sparse index entries of what is due (renewal steps on the Service itself, cancellations on their
request)."""

from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.services import Service
from shared.dal.table import TableItem, batch_get, due_partitions, mark_due, not_found
from shared.ids import is_valid_id

SERVICE_DUE = "SERVICE"  # by_due kind of a service's next lifecycle step (renewal, suspension, ...)
CANCELLATION_DUE = "CANCELLATION"


class Cancellation(TableItem, discriminator="Cancellation"):
    """The holder's request to cancel a service; one per service (a withdrawn one may be filed again).

    status: pending | withdrawn | executed. While pending it is on the by_due index at ``effective_at``.
    """

    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    type = UnicodeAttribute()  # immediate | end_of_period
    reason = UnicodeAttribute()
    status = UnicodeAttribute()
    effective_at = UnicodeAttribute()
    renewal_policy = UnicodeAttribute()  # stands | void: LateCancellationRenewal when it was filed
    standing_invoice_id = UnicodeAttribute(null=True)  # a renewal issued before the request that still stands
    requested_at = UnicodeAttribute()
    requested_by = UnicodeAttribute()  # the holder's login subject
    withdrawn_at = UnicodeAttribute(null=True)
    executed_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "CANCELLATION"


class BackupRetention(TableItem, discriminator="BackupRetention"):
    """The last backup of an ended service's account, kept 10 years (help centre). Its own item with a
    TTL at ``retained_until``: it outlives anything done to the service, and DynamoDB drops it after."""

    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    server = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    domain = UnicodeAttribute(null=True)
    last_backup_on = UnicodeAttribute(null=True)  # local date; None: the server listed no backup of it
    retained_until = UnicodeAttribute()  # local date
    recorded_at = UnicodeAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "BACKUP"


class RestoreRequest(TableItem, discriminator="RestoreRequest"):
    """A client asks for the kept backup of an ended service; staff quote it (it may cost extra)."""

    request_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | quoted | done | declined
    created_at = UnicodeAttribute()

    @staticmethod
    def key(request_id: str) -> tuple[str, str]:
        return f"RESTORE_REQUEST#{request_id}", "RESTORE_REQUEST"


def mark_service_due(service: Service, at: str | None) -> None:
    """The service's next lifecycle step is due at ``at`` (None: nothing is: off the index)."""
    if at is None:
        service.due_pk = service.due_sk = None
    else:
        mark_due(service, SERVICE_DUE, service.service_id, at)


class Lifecycle:
    def services_due_before(self, until_iso: str) -> Iterator[Service]:
        """Services whose next lifecycle step is due before ``until_iso``: a Query per by_due shard."""
        for partition in due_partitions(SERVICE_DUE):
            yield from Service.by_due.query(partition, Service.due_sk < until_iso)

    def cancellations_due_before(self, until_iso: str) -> Iterator[Cancellation]:
        for partition in due_partitions(CANCELLATION_DUE):
            yield from Cancellation.by_due.query(partition, Cancellation.due_sk < until_iso)

    def find_cancellation(self, service_id: str, consistent: bool = True) -> Cancellation | None:
        if not is_valid_id(service_id):
            return None
        try:
            return Cancellation.get(*Cancellation.key(service_id), consistent_read=consistent)
        except DoesNotExist:
            return None

    def service_with_cancellation(self, service_id: str, *also: tuple[str, str] | None, consistent: bool = False
                                  ) -> tuple[Service, Cancellation | None, dict]:
        """A service, its cancellation (if any) and the items of the other keys ``also`` (e.g. the calling
        holder's client), in one BatchGetItem; the one NotFound when the service is absent."""
        if not isinstance(service_id, str) or not is_valid_id(service_id):
            raise not_found()
        found = batch_get([Service.key(service_id), Cancellation.key(service_id), *(k for k in also if k)],
                          consistent)
        service, cancellation = found.get(Service.key(service_id)), found.get(Cancellation.key(service_id))
        if not isinstance(service, Service):
            raise not_found()
        return service, cancellation if isinstance(cancellation, Cancellation) else None, found

    def find_retention(self, service_id: str) -> BackupRetention | None:
        if not is_valid_id(service_id):
            return None
        try:
            return BackupRetention.get(*BackupRetention.key(service_id))
        except DoesNotExist:
            return None

    def restore_requests(self, status: str = "open") -> list[RestoreRequest]:
        return list(RestoreRequest.by_owner.query(f"RESTORE_REQUESTS#{status}", scan_index_forward=False))
