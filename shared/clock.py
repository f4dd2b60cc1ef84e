"""Injectable clock. Storage is always UTC; business time goes through shared.calendar."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, moved by the process's shift (always zero except under make dev's test clock)."""

    def now(self) -> datetime:
        return datetime.now(UTC) + _shift


# make dev's test clock (POST /local/clock): the local stack runs every handler in one process, so moving
# this one shift moves the time every function reads. Lambda processes never call the setters below, so in
# AWS the shift stays zero and SystemClock is the real time. The lock only keeps two moves from losing one.
_shift = timedelta(0)
_shift_lock = threading.Lock()


def shift_system_clock(delta: timedelta) -> timedelta:
    """Move SystemClock by ``delta`` (added to the current shift); returns the new shift. Local stack only."""
    global _shift
    with _shift_lock:
        _shift = _shift + delta
        return _shift


def system_clock_shift() -> timedelta:
    """How far SystemClock is from the real time (zero unless make dev's test clock moved it)."""
    return _shift


def reset_system_clock() -> None:
    """Back to the real time (a fresh local stack, and tests that moved the clock)."""
    global _shift
    with _shift_lock:
        _shift = timedelta(0)


class FixedClock:
    """A clock tests can set and move."""

    def __init__(self, at: datetime):
        self._at = _require_aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _require_aware(at)

    def advance(self, **delta) -> None:
        self._at = self._at + timedelta(**delta)


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return at.astimezone(UTC)


def to_storage(at: datetime) -> str:
    """UTC ISO-8601 with a Z and microseconds (so that stored times sort in the order they happened)."""
    return _require_aware(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_storage(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
