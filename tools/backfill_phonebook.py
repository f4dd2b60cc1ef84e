"""Put every existing client and contact in the tickets' phonebook (who a WhatsApp number is), once, after the
deploy that brings WhatsApp tickets; afterwards the accounts' events keep it (functions/tickets/phonebook.py).

    python -m tools.backfill_phonebook --dry-run     # counts
    python -m tools.backfill_phonebook

A one-off Scan of the people (not a request or sweep path); idempotent: each person's entry is made to match
their phone now, so running it twice, or while the worker reacts to events, ends in the same entries.
"""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backfill_phonebook", description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, "functions")
    from tickets.phonebook import reconcile

    from shared.dal.accounts import Client, Contact
    from shared.dal.tickets import Tickets

    tickets, outcomes = Tickets(), {}
    for person in [*Client.scan(), *Contact.scan()]:  # PynamoDB filters on the discriminator
        contact_id = person.contact_id if isinstance(person, Contact) else None
        outcome = "would_reconcile" if args.dry_run else reconcile(tickets, person.client_id, contact_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())) or "no people")
    return 0


if __name__ == "__main__":
    sys.exit(main())
