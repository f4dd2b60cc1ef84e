"""Changes of holder of a service ("Cambio de titular", docs/transfers.md): the request, each side's consent,
staff's verification and decision.

A transfer is its own partition (``TRANSFER#<id>``): the Transfer item, listed under the source account
(by_owner ``CLIENT#<from>`` / ``TRANSFER#<id>``), and a TransferTarget pointer listed under the target account
(by_owner ``CLIENT#<to>`` / ``TRANSFER#<id>``), so each holder's transfers are one Query. While it is open it
has an entry on the sparse by_due index (``DUE#TRANSFER#<shard>``), which is staff's queue.
"""

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute, VersionAttribute

from shared.dal.table import TableItem, batch_get, due_partitions, find_by_id
from shared.ids import is_valid_id

DUE_KIND = "TRANSFER"
# awaiting_source: opened by staff from the holder's ticket, the holder confirms it with the password;
# awaiting_target: the target holder accepts or declines; awaiting_staff: both consented, staff verify (when the
# accounts' data differ) and approve or reject. Final: completed | declined | rejected | cancelled.
OPEN_STATUSES = ("awaiting_source", "awaiting_target", "awaiting_staff")


class Transfer(TableItem, discriminator="Transfer"):
    transfer_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    service_label = UnicodeAttribute()  # the product and domain, as both holders read it
    from_client_id = UnicodeAttribute()
    to_client_id = UnicodeAttribute()
    to_email = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_by = UnicodeAttribute()  # the subject of who asked (the holder, or staff from a ticket)
    requested_via = UnicodeAttribute()  # panel | ticket
    ticket_id = UnicodeAttribute(null=True)  # the holder's ticket it was opened from
    note = UnicodeAttribute(null=True)
    terms = UnicodeAttribute(null=True)  # plan|cycle|price|renewal when asked: the move refuses changed terms
    source_consent_at = UnicodeAttribute(null=True)  # the source holder confirmed with the password
    source_consent_by = UnicodeAttribute(null=True)
    target_consent_at = UnicodeAttribute(null=True)  # the target holder accepted with the password
    target_consent_by = UnicodeAttribute(null=True)
    needs_verification = BooleanAttribute(default=False)
    verification_reasons = ListAttribute(of=UnicodeAttribute, default=list)
    verified_at = UnicodeAttribute(null=True)
    verified_by = UnicodeAttribute(null=True)
    verification_note = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)  # completed, declined, rejected or cancelled
    decided_by = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(transfer_id: str) -> tuple[str, str]:
        return f"TRANSFER#{transfer_id}", "TRANSFER"


class TransferTarget(TableItem, discriminator="TransferTarget"):
    """Lists a transfer under the account it would go to (the Transfer itself is listed under the source)."""

    transfer_id = UnicodeAttribute()

    @staticmethod
    def key(transfer_id: str) -> tuple[str, str]:
        return f"TRANSFER#{transfer_id}", "TARGET"


class Transfers:
    def find(self, transfer_id: str) -> Transfer | None:
        return find_by_id(Transfer, transfer_id)

    def of_client(self, client_id: str) -> list[Transfer]:
        """The account's transfers, both ways, newest first: one Query of by_owner, then the incoming ones'
        Transfer items in one BatchGetItem."""
        if not is_valid_id(client_id):
            return []
        listed = list(TableItem.by_owner.query(f"CLIENT#{client_id}", TableItem.gsi1sk.startswith("TRANSFER#"),
                                               scan_index_forward=False))
        own = {i.transfer_id: i for i in listed if isinstance(i, Transfer)}
        incoming = [i.transfer_id for i in listed if isinstance(i, TransferTarget)]
        found = batch_get(Transfer.key(t) for t in incoming) if incoming else {}
        own.update({t.transfer_id: t for t in found.values() if isinstance(t, Transfer)})
        return sorted(own.values(), key=lambda t: t.transfer_id, reverse=True)

    def open_transfers(self) -> list[Transfer]:
        """Every open transfer, oldest first (the sparse by_due index, every shard): staff's queue."""
        found: list[Transfer] = []
        for partition in due_partitions(DUE_KIND):
            found.extend(Transfer.by_due.query(partition))
        return sorted(found, key=lambda t: t.created_at)
