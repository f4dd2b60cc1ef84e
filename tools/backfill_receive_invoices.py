"""Give `receive_invoices` to every contact with `invoices`, once, after the deploy that split the two: before it,
a contact with `invoices` got the invoices' emails, and nobody should stop getting them (docs/accounts.md).

    python -m tools.backfill_receive_invoices --created-before 2026-12-07T03:00:00Z --dry-run     # counts
    python -m tools.backfill_receive_invoices --created-before 2026-12-07T03:00:00Z

Only contacts created before the deploy (``--created-before``): one the holder made afterwards, or later took
the right from, was given exactly the rights the holder chose.

A one-off Scan of the contacts (not a request or sweep path); idempotent (a contact that has it is left alone),
and version-checked: a contact the holder changes meanwhile is read again and tried once more.
"""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backfill_receive_invoices",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--created-before", required=True, help="the deploy's time (ISO 8601, UTC)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    from datetime import datetime

    from shared.clock import to_storage
    from shared.dal.accounts import Accounts, Contact
    from shared.dal.table import save_one
    from shared.errors import ConcurrentModification

    cutoff = to_storage(datetime.fromisoformat(args.created_before.replace("Z", "+00:00")))
    accounts, outcomes = Accounts(), {}
    for contact in Contact.scan():  # PynamoDB filters on the discriminator
        for _ in range(2):
            rights = set(contact.permissions or [])
            if "invoices" not in rights or "receive_invoices" in rights or contact.created_at >= cutoff:
                outcome = "unchanged"
            elif args.dry_run:
                outcome = "would_add"
            else:
                contact.permissions = sorted(rights | {"receive_invoices"})
                try:
                    save_one(contact)
                    outcome = "added"
                except ConcurrentModification:
                    contact = accounts.get_contact(contact.client_id, contact.contact_id)
                    outcome = "changed_meanwhile"
                    if contact is None:
                        break
                    continue
            break
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())) or "no contacts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
