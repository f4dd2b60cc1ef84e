"""Reactions: what other capabilities do, inside the same unit of work, when something happens to an
invoice — so that billing never needs to know who cares.

A capability registers its reactions in a module of this package (one file per capability:
``shared/reactions/<capability>.py``); every module here is loaded the first time a reaction runs, so a
new capability adds a file and touches nothing else. Each reaction receives the unit of work of the
change (``uow``: read what it needs, hold and save what it changes, emit its events), the invoice and
the time; what it writes commits with the payment, the invoice and their events, or not at all.

Occasions:
- ``INVOICE_PAID``: an invoice became fully paid (by a provider or by the client's credit).
- ``INVOICE_UNSETTLED``: money of a paid invoice was taken back (refund, charge-back) and it is no
  longer settled.
"""

import importlib
import pkgutil
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.dal.billing import Invoice
    from shared.dal.unit_of_work import UnitOfWork

INVOICE_PAID = "invoice_paid"
INVOICE_UNSETTLED = "invoice_unsettled"
OCCASIONS = (INVOICE_PAID, INVOICE_UNSETTLED)

Reaction = Callable[["UnitOfWork", "Invoice", datetime], None]
_registry: dict[str, list[Reaction]] = {occasion: [] for occasion in OCCASIONS}
_loaded = False


def on(occasion: str) -> Callable[[Reaction], Reaction]:
    """Register the decorated function as a reaction to ``occasion``."""
    if occasion not in _registry:
        raise ValueError(f"unknown occasion {occasion!r}")

    def register(reaction: Reaction) -> Reaction:
        if reaction not in _registry[occasion]:
            _registry[occasion].append(reaction)
        return reaction

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{module}")
        _loaded = True


def registered(occasion: str) -> list[Reaction]:
    _load()
    return list(_registry[occasion])


def run(occasion: str, uow: "UnitOfWork", invoice: "Invoice", now: datetime) -> None:
    """Every reaction registered to ``occasion``, in module order, within ``uow``."""
    for reaction in registered(occasion):
        reaction(uow, invoice, now)
