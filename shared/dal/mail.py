"""Emails we sent: one record per event and recipient, so a redelivered event mails no one twice."""

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
    status = UnicodeAttribute()
    ses_message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute()  # when it was claimed, then when it was sent
    version = VersionAttribute()

    @staticmethod
    def key(event_id: str, recipient: str) -> tuple[str, str]:
        return f"EMAIL#{event_id}", f"TO#{recipient.lower()}"


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
