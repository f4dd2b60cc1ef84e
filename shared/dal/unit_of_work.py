"""One change, committed whole: the unit of work every repository writes through.

A unit collects the puts, deletes and condition checks of one change, with the outbox events it
causes and the uniqueness markers it claims, and commits them as one TransactWrite — so a change is
either wholly written or not at all. A failed condition becomes the domain error registered for the
item whose condition failed (DynamoDB says which, by position); a clash with another transaction
becomes ConcurrentModification (retryable).

It also keeps what it holds by key: a reaction that needs an item the change already holds (the
service an upgrade's invoice paid for, say) gets that same object, so two parts of one change never
write two versions of one item.
"""

from collections.abc import Iterable
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from shared.config import region
from shared.dal.table import TableItem
from shared.errors import ConcurrentModification

# A TransactWriteItems call takes at most 100 items.
MAX_ITEMS = 100

_connection: Connection | None = None


def _shared_connection() -> Connection:
    global _connection
    if _connection is None:
        _connection = Connection(region=region())
    return _connection


class UnitOfWork:
    def __init__(self, connection: Connection | None = None):
        self._connection = connection
        self._puts: dict[tuple[str, str], tuple[TableItem, Any]] = {}
        self._deletes: dict[tuple[str, str], tuple[TableItem, Any]] = {}
        self._checks: dict[tuple[str, str], tuple[type[TableItem], Any]] = {}
        self._errors: dict[tuple[str, str], Exception] = {}
        self._known: dict[tuple[str, str], TableItem] = {}  # every item the change has seen, by key
        self._claims: set[tuple[str, str]] = set()  # items that must not exist, with an error of their own
        self.committed = False

    # --- collecting -----------------------------------------------------------------------------

    def save(self, item: TableItem, *, condition=None, error: Exception | None = None) -> TableItem:
        """Write ``item`` (its version checked, and ``condition`` if given). Saving an item already held
        keeps one write: the conditions of both are combined."""
        key = (item.pk, item.sk)
        if self._known.setdefault(key, item) is not item:
            raise ValueError(f"two versions of {key} in one change")
        if key in self._puts:
            held_condition = self._puts[key][1]
            condition = held_condition if condition is None else (
                condition if held_condition is None else held_condition & condition)
        self._puts[key] = (item, condition)
        if error is not None:
            self._errors[key] = error
        return item

    def create(self, item: TableItem, *, error: Exception | None = None) -> TableItem:
        """Write a new item: it must not exist yet (``error`` if it does). A uniqueness claim that fails
        says what happened (the email is taken, the payment or the request was seen): its error wins over
        a version clash of the same change, which is only its consequence."""
        if error is not None:
            self._claims.add((item.pk, item.sk))
        return self.save(item, condition=type(item).pk.does_not_exist(), error=error)

    def delete(self, item: TableItem, *, condition=None, error: Exception | None = None) -> None:
        """Delete ``item`` (its version checked, and ``condition`` if given)."""
        key = (item.pk, item.sk)
        self._deletes[key] = (item, condition)
        if error is not None:
            self._errors[key] = error

    def check(self, model: type[TableItem], pk: str, sk: str, condition, *, error: Exception | None = None) -> None:
        """The change holds only while another item meets ``condition`` (nothing is written to it; when the
        change writes that item too, the condition joins the write's)."""
        self._checks[(pk, sk)] = (model, condition)
        if error is not None and (pk, sk) not in self._puts:  # written too: a failure there is a version clash
            self._errors[(pk, sk)] = error

    def emit(self, events: Iterable[TableItem]) -> None:
        """Outbox events of this change (each written once: its id is new)."""
        for event in events:
            self.create(event)

    def held(self, model: type[TableItem], pk: str, sk: str) -> TableItem | None:
        """The item of that key this change already holds, if any."""
        found = self._known.get((pk, sk))
        return found if isinstance(found, model) else None

    def hold(self, item: TableItem) -> TableItem:
        """The item this change already holds under ``item``'s key, else ``item``, held from now on (so
        every later part of the change works on the same object). Holding writes nothing."""
        return self._known.setdefault((item.pk, item.sk), item)

    def __len__(self) -> int:
        return len(self._puts) + len(self._deletes) + len(self._checks)

    # --- committing -----------------------------------------------------------------------------

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("a unit of work commits once")
        self.committed = True
        if not len(self):
            return
        if len(self) > MAX_ITEMS:
            raise ValueError(f"a change of {len(self)} items does not fit one transaction")
        tx = TransactWrite(connection=self._connection or _shared_connection())
        try:
            with tx:
                for key, (model, condition) in self._checks.items():
                    if key not in self._puts and key not in self._deletes:  # else it joins the write's condition
                        tx.condition_check(model, *key, condition=condition)
                for key, (item, condition) in self._deletes.items():
                    if key in self._checks:
                        checked = self._checks[key][1]
                        condition = checked if condition is None else condition & checked
                    tx.delete(item, condition=condition)
                for key, (item, condition) in self._puts.items():
                    if key in self._checks:
                        checked = self._checks[key][1]
                        condition = checked if condition is None else condition & checked
                    tx.save(item, condition=condition)
        except TransactWriteError as error:
            raise self._domain_error(tx, error) from error

    def _domain_error(self, tx: TransactWrite, error: TransactWriteError) -> Exception:
        reasons = [getattr(r, "code", None) if r else None for r in (error.cancellation_reasons or [])]
        if "TransactionConflict" in reasons:
            return ConcurrentModification()  # another transaction was writing one of these items
        if "ConditionalCheckFailed" not in reasons:
            return error
        keys = _sent_keys(tx)
        failed = [keys[i] for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"]
        claimed = [key for key in failed if key in self._claims]
        return next((self._errors[k] for k in (*claimed, *failed) if k in self._errors), None) or \
            ConcurrentModification()


def _sent_keys(tx: TransactWrite) -> list[tuple[str, str]]:
    """Keys of a transaction's items in the order PynamoDB sends them (checks, deletes, puts, updates),
    which is the order of DynamoDB's cancellation reasons."""
    operations = tx._condition_check_items + tx._delete_items + tx._put_items + tx._update_items
    keys = []
    for op in operations:
        attributes = op.get("Key") or op.get("Item")
        keys.append((attributes["pk"]["S"], attributes["sk"]["S"]))
    return keys


def save_change(items: Iterable[TableItem], events: Iterable[TableItem] = ()) -> None:
    """The common change: these items (each version-checked) and the events they caused, in one unit."""
    with UnitOfWork() as uow:
        for item in items:
            uow.save(item)
        uow.emit(events)
