"""Feature requests (help centre: "Como pedir nueva funcionalidad"; docs/feature-requests.md): what clients propose,
their votes (one per account), staff's status and public note, duplicates merged."""

from collections.abc import Iterable

from pynamodb.attributes import UnicodeAttribute, VersionAttribute

from shared.dal.table import IntegerAttribute, TableItem, batch_get, find_item
from shared.ids import is_valid_id

FEATURES = "FEATURES"


class FeatureRequest(TableItem, discriminator="FeatureRequest"):
    """``status`` open | planned | in_progress | done | declined | merged (into ``merged_into``). ``votes`` counts its
    FeatureVote items, kept in the transaction of each vote."""

    request_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    public_note = UnicodeAttribute(null=True)
    votes = IntegerAttribute(default=0)
    proposed_by = UnicodeAttribute()  # the account (client id) that proposed it
    merged_into = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(request_id: str) -> tuple[str, str]:
        return f"FEATURE#{request_id}", "FEATURE"

    def list_in_features(self) -> None:
        self.gsi1pk, self.gsi1sk = FEATURES, f"FEATURE#{self.request_id}"


class FeatureVote(TableItem, discriminator="FeatureVote"):
    """An account's one vote for a request: its key is the uniqueness (a conditional write per account)."""

    request_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    voted_by = UnicodeAttribute()  # the login that voted for the account
    voted_at = UnicodeAttribute()

    @staticmethod
    def key(request_id: str, client_id: str) -> tuple[str, str]:
        return f"FEATURE#{request_id}", f"VOTE#{client_id}"


class FeatureNotice(TableItem, discriminator="FeatureNotice"):
    """An account was told of one status change of a request (the key is the uniqueness; TTL a month later)."""

    request_id = UnicodeAttribute()

    @staticmethod
    def key(request_id: str, changed_at: str, client_id: str) -> tuple[str, str]:
        return f"FEATURE#{request_id}", f"NOTICE#{changed_at}#{client_id}"


class FeatureRequests:
    """Reads of the feature requests; writes go through the caller's unit of work."""

    def get(self, request_id: str) -> FeatureRequest | None:
        return find_item(FeatureRequest, FeatureRequest.key(request_id)) if is_valid_id(request_id) else None

    def all_requests(self) -> list[FeatureRequest]:
        """Every request, newest first: one Query (paged by PynamoDB as it grows)."""
        found = FeatureRequest.by_owner.query(FEATURES, scan_index_forward=False)
        return [r for r in found if isinstance(r, FeatureRequest)]

    def votes(self, request_id: str) -> list[FeatureVote]:
        """Every vote of a request: one Query of its partition."""
        pk, _ = FeatureRequest.key(request_id)
        return [v for v in FeatureVote.query(pk, FeatureVote.sk.startswith("VOTE#"), consistent_read=True)
                if isinstance(v, FeatureVote)]

    def voted(self, client_id: str, request_ids: Iterable[str]) -> set[str]:
        """The requests among these that the account voted for: one BatchGetItem per 100."""
        found = batch_get(FeatureVote.key(request_id, client_id) for request_id in request_ids)
        return {v.request_id for v in found.values() if isinstance(v, FeatureVote)}
