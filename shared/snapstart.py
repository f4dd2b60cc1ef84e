"""SnapStart (issue 17 §4; docs/decisions.md): what an API function re-creates after Lambda restores its snapshot.

Lambda runs the init (the handler module's import) once per published version, snapshots the memory and starts
every later execution environment from that copy. Whatever init made is then shared by all of them, so what must be
unique or fresh may not be made there:
- Connections: none is opened at init — boto3 clients are LazyClients, PynamoDB connects on first use, the unit of
  work's connection is made on first commit. The hooks still drop any that exists, so an init that one day warms a
  client cannot hand a dead socket to every restored copy.
- Credentials: a SnapStart function's SDK reads them from the container credentials endpoint and refreshes them;
  nothing of ours caches them.
- Randomness: ids and tokens come from os.urandom (the kernel's, fresh in each copy); the ``random`` module is
  reseeded anyway, since every copy would otherwise draw the same sequence.
- Secrets (provider keys, Secrets Manager) are read on first use and cached with their TTL, never at init.
- Time: the clock is read per call (shared.clock), never kept from init.

``register_with_runtime`` hands ``run_after_restore`` to the Python runtime's hook (``snapshot_restore_py``, present
in Lambda's runtime only); tests call ``run_after_restore`` directly."""

import random
from collections.abc import Callable

_AFTER_RESTORE: list[Callable[[], None]] = []


def after_restore(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` in each execution environment restored from the snapshot (before its first invocation)."""
    _AFTER_RESTORE.append(hook)
    return hook


def run_after_restore() -> None:
    for hook in _AFTER_RESTORE:
        hook()


_PRIMED: list[str] = []


def prime(*modules: str) -> None:
    """``modules`` are imported on first use (cheaper cold starts without SnapStart); with SnapStart they are imported
    before the snapshot instead, so that no restored copy pays for them on its first request. Importing is safe to
    snapshot: no connection, secret or random state comes with a module."""
    _PRIMED.extend(m for m in modules if m not in _PRIMED)


def run_before_snapshot() -> None:
    import importlib

    for module in _PRIMED:
        importlib.import_module(module)


def register_with_runtime() -> bool:
    """Register the hooks with Lambda's runtime; False where there is none (tests, make dev, SnapStart off)."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(run_before_snapshot)
    register_after_restore(run_after_restore)
    return True


@after_restore
def _reseed() -> None:
    random.seed()  # from os.urandom: each restored copy its own sequence


@after_restore
def _drop_connections() -> None:
    import sys

    from shared.aws import LazyClient

    LazyClient.forget_all()
    if "shared.dal.unit_of_work" in sys.modules:
        sys.modules["shared.dal.unit_of_work"]._connection = None
    if "shared.dal.table" in sys.modules:  # PynamoDB keeps one connection per model class
        pending = [sys.modules["shared.dal.table"].TableItem]
        while pending:
            model = pending.pop()
            model._connection = None
            pending.extend(model.__subclasses__())
