"""When is a ticket due? The first-response and resolution deadlines the SLA rules (shared/sla.py) give.

    .venv/bin/python -m tools.sla --plan standard|profesional|full --priority P1..P4 --class SLA1..SLA4 \\
        --at 2026-12-04T15:00:00-03:00 [--production] [--contract-24x7] [--closed 2026-12-24,2026-12-31]

Prints both deadlines in Buenos Aires time and in UTC. Staff days off (--closed) are the provider's closed days.
"""

import argparse
import sys
from datetime import UTC, date, datetime


def deadlines(plan: str, priority: str, sla_class: str, at: datetime, production: bool = False,
              contract_around_the_clock: bool = False, closed: frozenset[date] = frozenset()) -> dict[str, object]:
    from shared import sla

    effective, note = sla.effective_priority(sla.Priority(priority), sla.SupportPlan(plan), production)
    return {
        "priority": effective.value,
        "note": note,
        "first_response_due": sla.first_response_due(at, sla.SupportPlan(plan), effective, sla.SlaClass(sla_class),
                                                     closed, contract_around_the_clock),
        "resolution_due": sla.resolution_due(at, closed),
    }


def main(argv: list[str] | None = None) -> int:
    from shared.calendar import local

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, choices=["standard", "profesional", "full"])
    parser.add_argument("--priority", default="P3", choices=["P1", "P2", "P3", "P4"])
    parser.add_argument("--class", dest="sla_class", default="SLA1", choices=["SLA1", "SLA2", "SLA3", "SLA4"])
    parser.add_argument("--at", required=True, type=datetime.fromisoformat, help="ISO 8601 with its offset")
    parser.add_argument("--production", action="store_true", help="the service is marked as production")
    parser.add_argument("--contract-24x7", action="store_true", help="a contract answers SLA4 around the clock")
    parser.add_argument("--closed", default="", help="closed days, YYYY-MM-DD separated by commas")
    args = parser.parse_args(argv)
    if args.at.tzinfo is None:
        parser.error("--at needs its offset, e.g. 2026-12-04T15:00:00-03:00")
    closed = frozenset(date.fromisoformat(d) for d in args.closed.split(",") if d.strip())
    found = deadlines(args.plan, args.priority, args.sla_class, args.at, args.production, args.contract_24x7, closed)
    if found["note"]:
        print(found["note"])
    for name in ("first_response_due", "resolution_due"):
        due = found[name]
        print(f"{name}: {local(due):%Y-%m-%d %H:%M} Buenos Aires ({due.astimezone(UTC):%Y-%m-%dT%H:%MZ})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
