"""Request idempotency: the answer given to a request that carried an Idempotency-Key."""

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import TableItem
from shared.dal.unit_of_work import UnitOfWork


class AlreadyAnswered(Exception):
    """The Idempotency-Key of this request was used before: return the recorded answer instead."""


class IdempotencyRecord(TableItem, discriminator="Idempotency"):
    """Written in the same transaction as the change it answers, so a retry either finds it or races the
    original and loses on its condition. Expires after a day (TTL)."""

    request_hash = UnicodeAttribute()
    response = UnicodeAttribute()  # JSON of the answer

    @staticmethod
    def key(scope: str, idempotency_key: str) -> tuple[str, str]:
        return f"IDEMPOTENCY#{scope}#{idempotency_key}", "IDEMPOTENCY"


class Answers:
    def get_answer(self, scope: str, idempotency_key: str) -> IdempotencyRecord | None:
        try:
            return IdempotencyRecord.get(*IdempotencyRecord.key(scope, idempotency_key), consistent_read=True)
        except DoesNotExist:
            return None

    def add_answer(self, uow: UnitOfWork, answer: IdempotencyRecord) -> None:
        """Raises AlreadyAnswered at commit when the key was used before (a retry)."""
        uow.create(answer, error=AlreadyAnswered())
