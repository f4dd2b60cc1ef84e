"""Emails we sent: one record per event and recipient, so a redelivered event mails no one twice; and the
addresses we no longer send to (a permanent bounce, a complaint), from SES's feedback events."""

from itertools import islice

from pynamodb.attributes import UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import TableItem


class SentEmail(TableItem, discriminator="SentEmail"):
    event_id = UnicodeAttribute()
    recipient = UnicodeAttribute()  # the address
    client_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()  # invoice_issued | invoice_paid | invoice_overdue | service_enabled
    subject = UnicodeAttribute()
    # sending (claimed: a delivery is calling SES) | sent | rejected (SES refused the address for good)
    # | suppressed (the address bounced for good or complained: not sent)
    status = UnicodeAttribute()
    ses_message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute()  # when it was claimed, then when it was sent
    version = VersionAttribute()

    @staticmethod
    def key(event_id: str, recipient: str) -> tuple[str, str]:
        return f"EMAIL#{event_id}", f"TO#{recipient.lower()}"


class SuppressedAddress(TableItem, discriminator="SuppressedAddress"):
    """An address that bounced for good or whose owner marked our email as spam: nothing more is sent to it
    until staff lift it (the client fixed the mailbox, or changed its address). Listed for staff on
    by_owner ``SUPPRESSED``."""

    address = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute(null=True)  # the bounce's sub-type and diagnostic, the complaint's feedback type
    feedback_id = UnicodeAttribute()  # SES's, of the event that suppressed it
    suppressed_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(address: str) -> tuple[str, str]:
        return f"SUPPRESSED#{address.lower()}", "SUPPRESSED"


class SentEmails:
    def find(self, event_id: str, recipient: str) -> SentEmail | None:
        try:
            return SentEmail.get(*SentEmail.key(event_id, recipient), consistent_read=True)
        except DoesNotExist:
            return None

    def of_client(self, client_id: str) -> list[SentEmail]:
        """A client's emails, newest first (by_owner)."""
        return list(SentEmail.by_owner.query(f"CLIENT#{client_id}", SentEmail.gsi1sk.startswith("EMAIL#"),
                                             scan_index_forward=False))

    def suppression(self, address: str) -> SuppressedAddress | None:
        try:
            return SuppressedAddress.get(*SuppressedAddress.key(address), consistent_read=True)
        except DoesNotExist:
            return None

    def suppressed(self, limit: int = 100) -> list[SuppressedAddress]:
        """The suppressed addresses, the newest first (by_owner)."""
        return list(islice(SuppressedAddress.by_owner.query("SUPPRESSED", scan_index_forward=False), limit))
