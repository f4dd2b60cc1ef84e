"""The single table: its base item, its indexes and the helpers every context's module shares.

Key design (the access patterns, and which module owns each item type, are in docs/data-model.md):
- Aggregates fetched by id alone (services, invoices, products, payments, events) are their own
  partition: ``pk = <KIND>#<id>``, ``sk = <KIND>``; a GetItem finds them without knowing the owner.
- The ``by_owner`` index (gsi1pk/gsi1sk) lists what belongs to something: a client's services and
  invoices (``CLIENT#<id>``), the public catalog (``CATALOG``), a service's plan changes.
- The ``by_due`` index is sparse: only items with something due carry ``due_pk``/``due_sk``; sweeps
  query it, never scan. The partition is sharded so that one hot day cannot throttle a single key.
- Uniqueness (login emails) is a marker item written in the same transaction as its owner.
- Mutable aggregates carry ``version`` (PynamoDB adds the optimistic-locking condition).
"""

import os
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.config import TABLE_NAME, region
from shared.errors import ConcurrentModification, NotFound
from shared.ids import is_valid_id

DUE_SHARDS = 8


class IntegerAttribute(NumberAttribute):
    """A whole number (money in minor units, counters): read back as an ``int``, never a float, so the
    rules compute on plain ints without casting what they read."""

    def serialize(self, value: Any) -> str:
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"not a whole number: {value!r}")
        return str(int(value))

    def deserialize(self, value: str) -> int:
        return int(value)


class ByOwnerIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByDueIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_pk = UnicodeAttribute(hash_key=True)
    due_sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """Every item of the table. Subclasses are told apart by ``entity``."""

    class Meta:
        table_name = os.environ.get(TABLE_NAME, "paneldecliente")
        region = region()

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    due_pk = UnicodeAttribute(null=True)
    due_sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_owner = ByOwnerIndex()
    by_due = ByDueIndex()


def not_found() -> NotFound:
    """The one answer for anything missing *or someone else's*: the same code and text whatever the kind
    of item, so that an answer never tells whether an id exists (shared.auth answers the same)."""
    return NotFound()


def get_by_id(model: type[Model], item_id: str, *, consistent: bool = False):
    """The aggregate ``model`` with this id (its own partition), or the one NotFound. An id that is not
    one of ours never reaches the table (DynamoDB would accept a 2 KB key)."""
    if not isinstance(item_id, str) or not is_valid_id(item_id):
        raise not_found()
    try:
        return model.get(*model.key(item_id), consistent_read=consistent)
    except DoesNotExist:
        raise not_found() from None


def find_by_id(model: type[Model], item_id: str | None, *, consistent: bool = True):
    """Like get_by_id, but None when absent (for references that may dangle)."""
    if not item_id:
        return None
    try:
        return get_by_id(model, item_id, consistent=consistent)
    except NotFound:
        return None


def find_item(model: type[Model], key: tuple[str, str]):
    """The item at ``key`` (consistent read), or None."""
    try:
        return model.get(*key, consistent_read=True)
    except DoesNotExist:
        return None


def batch_get(keys: Iterable[tuple[str, str]], consistent: bool = False) -> dict[tuple[str, str], TableItem]:
    """Items of any kind by key, in one BatchGetItem per 100 keys; absent ones are simply missing."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    return {(item.pk, item.sk): item for item in TableItem.batch_get(wanted, consistent_read=consistent)}


def save_one(item: TableItem, condition=None) -> None:
    """One item on its own (a PutItem, version-checked), for changes that touch nothing else and cause
    no event: a lost version check becomes ConcurrentModification."""
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise ConcurrentModification() from error
        raise


def due_partition(kind: str, item_id: str) -> str:
    """Shard of the by_due index for an item (stable: derived from its id)."""
    shard = sum(item_id.encode()) % DUE_SHARDS
    return f"DUE#{kind}#{shard}"


def due_partitions(kind: str) -> list[str]:
    return [f"DUE#{kind}#{shard}" for shard in range(DUE_SHARDS)]


def mark_due(item: TableItem, kind: str, item_id: str, at: str) -> None:
    """Put the item on the sparse by_due index: it has something due at ``at`` (a storage time)."""
    item.due_pk = due_partition(kind, item_id)
    item.due_sk = f"{at}#{item_id}"


def clear_due(item: TableItem) -> None:
    item.due_pk = item.due_sk = None
