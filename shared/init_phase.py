"""Every API handler module imports this first: in Lambda, the garbage collector is paused while the function
initialises, and what the init built is frozen once it is done (``end``, called by ``lambda_handler_for``).

Why: a cold start builds about 120,000 long-lived objects (Powertools, pydantic, botocore's service models) and
almost no garbage, yet the collector, run every 700 allocations, walks them over and over: about 40 ms of a 400 ms
init (``make bench --only cold``, docs/decisions.md). ``gc.freeze()`` then moves them to the permanent generation,
so the collections made while serving requests skip them too (an allocation-heavy request ran twice as fast). The
price: the little cyclic garbage made during the init (about 0.6 MB) is never freed.

Only in Lambda (``AWS_LAMBDA_FUNCTION_NAME``, set by its runtime): the tests and ``make dev`` import many handlers in
one long-lived process, and keep Python's collector as it is."""

import gc
import os

_paused = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and gc.isenabled()
if _paused:
    gc.disable()


def end() -> None:
    """The init is over: what it built is frozen and the collector runs again. Idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
