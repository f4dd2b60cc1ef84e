"""Sortable identifiers (ULID layout: 48-bit millisecond time + 80 random bits, Crockford base32).

Time-ordered ids make "newest first" a key order instead of a sort.
"""

import os
import time
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# is_valid_id as a regular expression, for query parameters the OpenAPI validation checks.
ID_PATTERN = f"^[{_ALPHABET}]{{26}}$"


def new_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def id_at(at: datetime) -> str:
    """A new id whose time part is ``at`` (the injectable clock's now), not the machine's."""
    return new_id(int(at.timestamp() * 1000))


def is_valid_id(text: str) -> bool:
    return len(text) == 26 and all(c in _ALPHABET for c in text)
