"""Who saw a service's credentials, and when (help centre: "Cada servicio tiene un MANUAL y claves de acceso"; issue 15
§3, "quién vio las claves y cuándo"; docs/service-access.md)."""

from pynamodb.attributes import UnicodeAttribute

from shared.dal.table import TableItem
from shared.ids import is_valid_id

REVEALS_SHOWN = 100  # the newest; older ones stay in the table (an audit trail is not paged away)


class CredentialReveal(TableItem, discriminator="CredentialReveal"):
    """One reveal of a service's credentials, written in the transaction that precedes the decryption: no record,
    no reveal. Beside the service (its partition), newest last by ``sk``."""

    reveal_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()  # the account the service belonged to then (a transfer changes it)
    role = UnicodeAttribute()  # holder | contact
    contact_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()  # the login (Cognito sub)
    revealed_at = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)

    @staticmethod
    def key(service_id: str, revealed_at: str, reveal_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", f"REVEAL#{revealed_at}#{reveal_id}"


class CredentialReveals:
    """Reads of the reveals; they are written through the caller's unit of work."""

    def of_service(self, service_id: str, newest: int = REVEALS_SHOWN) -> list[CredentialReveal]:
        """The newest reveals of a service (REVEALS_SHOWN unless told), newest first: one Query of its partition."""
        if not is_valid_id(service_id):
            return []
        found = CredentialReveal.query(f"SERVICE#{service_id}", CredentialReveal.sk.startswith("REVEAL#"),
                                       scan_index_forward=False, limit=newest)
        return [r for r in found if isinstance(r, CredentialReveal)]
