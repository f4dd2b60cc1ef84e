"""Support services: remote support bookings (RustDesk) and the operator-slots that make each one unique
(docs/remote-support.md)."""

from pynamodb.attributes import ListAttribute, UnicodeAttribute, VersionAttribute

from shared.dal.table import TableItem, batch_get, due_partitions, find_by_id, find_item

DUE_KIND = "remote_reminder"


class RemoteBooking(TableItem, discriminator="RemoteBooking"):
    """A client's remote support session: an operator connects by RustDesk to the client's PC at ``starts_at``.
    Listed by account on by_owner (``CLIENT#<id>`` / ``REMOTE#<starts_at>``); its next reminder on by_due."""

    booking_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    operator = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    rustdesk_id = UnicodeAttribute()
    topic = UnicodeAttribute()
    service_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="booked")  # booked | cancelled | done | no_show
    booked_by = UnicodeAttribute()  # the login's sub
    contact_id = UnicodeAttribute(null=True)  # who booked, when a contact
    reminders_sent = ListAttribute(of=UnicodeAttribute, default=list)  # day_before, soon
    outcome_notes = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(booking_id: str) -> tuple[str, str]:
        return f"REMOTE#{booking_id}", "REMOTE"

    def list_on_account(self) -> None:
        self.gsi1pk, self.gsi1sk = f"CLIENT#{self.client_id}", f"REMOTE#{self.starts_at}#{self.booking_id}"


class OperatorSlot(TableItem, discriminator="OperatorSlot"):
    """One operator's time at one start, taken by one booking: created only if it does not exist, so two bookings
    can never hold it (the availability check and the insert are one conditional write — not Cal.com's
    read-then-insert). On by_owner by local month, for the free slots and the day's agenda."""

    operator = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    booking_id = UnicodeAttribute()
    client_id = UnicodeAttribute()

    @staticmethod
    def key(operator: str, starts_at: str) -> tuple[str, str]:
        return f"RSLOT#{operator}#{starts_at}", "RSLOT"

    @staticmethod
    def month_partition(local_month: str) -> str:
        return f"RSLOTS#{local_month}"


class ActiveRemoteBooking(TableItem, discriminator="ActiveRemoteBooking"):
    """The account's one booking not yet over (help centre: one session at a time): taken only if absent or
    its session already ended."""

    booking_id = UnicodeAttribute()
    ends_at = UnicodeAttribute()

    @staticmethod
    def key(client_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", "REMOTE_ACTIVE"


class RemoteBookings:
    """Reads of the remote support context; writes go through the caller's unit of work."""

    def get(self, booking_id: str) -> RemoteBooking | None:
        return find_by_id(RemoteBooking, booking_id)

    def get_many(self, booking_ids: list[str]) -> list[RemoteBooking]:
        found = batch_get([RemoteBooking.key(i) for i in booking_ids])
        return [b for b in found.values() if isinstance(b, RemoteBooking)]

    def active(self, client_id: str) -> ActiveRemoteBooking | None:
        return find_item(ActiveRemoteBooking, ActiveRemoteBooking.key(client_id))

    def taken(self, local_months: list[str], first: str, last: str) -> list[OperatorSlot]:
        """The operator-slots taken with a start in [first, last] (storage times), one Query per local month."""
        found: list[OperatorSlot] = []
        for month in local_months:
            found.extend(OperatorSlot.by_owner.query(OperatorSlot.month_partition(month),
                                                     OperatorSlot.gsi1sk.between(first, f"{last}~")))
        return [s for s in found if isinstance(s, OperatorSlot)]

    def of_account(self, client_id: str, limit: int = 50) -> list[RemoteBooking]:
        found = RemoteBooking.by_owner.query(f"CLIENT#{client_id}", RemoteBooking.gsi1sk.startswith("REMOTE#"),
                                             scan_index_forward=False, limit=limit)
        return [b for b in found if isinstance(b, RemoteBooking)]

    def reminders_due(self, at: str) -> list[RemoteBooking]:
        """The bookings whose next reminder is due by ``at`` (the sparse by_due index, every shard)."""
        found: list[RemoteBooking] = []
        for partition in due_partitions(DUE_KIND):
            found.extend(RemoteBooking.by_due.query(partition, RemoteBooking.due_sk <= f"{at}#~"))
        return [b for b in found if isinstance(b, RemoteBooking)]
