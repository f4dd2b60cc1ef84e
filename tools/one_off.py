"""What the one-off migrations (tools/backfill_*.py) share: their command line."""

import argparse
import os
import sys
from collections.abc import Callable


def run(description: str, backfill: Callable[[bool], dict[str, int]]) -> None:
    """``--dry-run`` counts and writes nothing; the repository's code is importable as the functions see it."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [root, os.path.join(root, "functions")]
    print(backfill(args.dry_run))
