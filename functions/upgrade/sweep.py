"""Hourly sweep of plan changes with something due (the sparse by_due index, never a Scan):
- an upgrade whose invoice was not paid in time is cancelled with its invoice, so a forgotten upgrade
  never blocks the next one;
- a change scheduled for the renewal (downgrades, shorter cycles) is the renewal engine's: it applies it at
  the boundary the next period starts from (functions/lifecycle/renewal_sweep.py); one still listed here
  (written before that) is taken off the index.
No API models are imported: the scheduled function stays light.
"""

from typing import Any

from aws_lambda_powertools import Logger

from shared import upgrades
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.services import Services
from shared.dal.unit_of_work import save_change
from shared.dal.upgrades import Upgrades
from shared.errors import ConcurrentModification

logger = Logger()
plan_changes, services, billing, accounts = Upgrades(), Services(), Billing(), Accounts()
clock = SystemClock()


def run(plan_changes: Upgrades, services: Services, billing: Billing, accounts: Accounts,
        clock: Clock) -> dict[str, int]:
    now = clock.now()
    done = {"expired": 0, "skipped": 0}
    for due in plan_changes.upgrades_due_before(to_storage(now)):
        # The index is eventually consistent: act on the item as it is now.
        upgrade = plan_changes.get_upgrade(due.upgrade_id)
        if upgrade.status not in upgrades.OPEN_STATUSES or upgrade.due_sk is None:
            done["skipped"] += 1
            continue
        service = services.get_service(upgrade.service_id)
        if upgrade.status == "awaiting_payment":
            invoice = billing.find_invoice(upgrade.invoice_id)
            if invoice is not None and invoice.status == "paid":  # settled meanwhile: settlement applies it
                done["skipped"] += 1
                continue
            # Anything paid on it meanwhile goes to the client's credit, never lost.
            client = accounts.get_client(service.client_id) if invoice is not None and invoice.amount_paid else None
            items = [upgrade, service, *[i for i in (invoice, client) if i is not None]]
            events = upgrades.close(upgrade, service, invoice, "expired", "sweep", now, client=client)
            outcome = "expired"
        else:
            upgrade.due_pk = upgrade.due_sk = None
            items, events, outcome = [upgrade], [], "skipped"
        try:
            save_change(items, events)
        except ConcurrentModification:  # paid or cancelled at this very moment: the next run looks again
            logger.info("plan change changed meanwhile; skipped", extra={"upgrade_id": upgrade.upgrade_id})
            done["skipped"] += 1
            continue
        done[outcome] += 1
    return done


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    done = run(plan_changes, services, billing, accounts, clock)
    logger.info("plan changes swept", extra=done)
    return done
