"""Hourly sweep of plan changes with something due (the sparse by_due index, never a Scan):
- an upgrade whose invoice was not paid in time is cancelled with its invoice, so a forgotten upgrade
  never blocks the next one;
- a change scheduled for the renewal (downgrades, shorter cycles) takes effect.
No API models are imported: the scheduled function stays light.
"""

from typing import Any

from aws_lambda_powertools import Logger

from shared import upgrades
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.repositories import Store
from shared.errors import ConcurrentModification

logger = Logger()
store = Store()
clock = SystemClock()


def run(store: Store, clock: Clock) -> dict[str, int]:
    now = clock.now()
    done = {"expired": 0, "applied": 0, "cancelled": 0, "skipped": 0}
    for due in store.upgrades_due_before(to_storage(now)):
        # The index is eventually consistent: act on the item as it is now.
        upgrade = store.get_upgrade(due.upgrade_id)
        if upgrade.status not in upgrades.OPEN_STATUSES or upgrade.due_sk is None:
            done["skipped"] += 1
            continue
        service = store.get_service(upgrade.service_id)
        if upgrade.status == "awaiting_payment":
            invoice = store.find_invoice(upgrade.invoice_id)
            if invoice is not None and invoice.status == "paid":  # settled meanwhile: settlement applies it
                done["skipped"] += 1
                continue
            # Anything paid on it meanwhile goes to the client's credit, never lost.
            client = store.get_client(service.client_id) if invoice is not None and int(invoice.amount_paid) else None
            items = [upgrade, service, *[i for i in (invoice, client) if i is not None]]
            events = upgrades.close(upgrade, service, invoice, "expired", "sweep", now, client=client)
            outcome = "expired"
        elif service.status != "active":
            # Suspended or cancelled by its renewal time: no plan (or server package) to change any more.
            renewal = store.find_invoice(upgrade.repriced_renewal_id)
            items = [upgrade, service, *([renewal] if renewal else [])]
            events = upgrades.close(upgrade, service, None, "cancelled", "sweep", now, renewal)
            outcome = "cancelled"
        else:
            renewal = store.find_invoice(service.renewal_invoice_id)
            events = upgrades.apply(upgrade, service, now, renewal)
            items = [upgrade, service, *([renewal] if renewal else [])]
            outcome = "applied"
        try:
            store.save_with_events(items, events)
        except ConcurrentModification:  # paid or cancelled at this very moment: the next run looks again
            logger.info("plan change changed meanwhile; skipped", extra={"upgrade_id": upgrade.upgrade_id})
            done["skipped"] += 1
            continue
        done[outcome] += 1
    return done


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    done = run(store, clock)
    logger.info("plan changes swept", extra=done)
    return done
