"""The one comparison of a secret the caller sent (a signature, a verify token) with the one expected."""

import hmac


def same_secret(expected: str | bytes | None, given: str | bytes | None) -> bool:
    """In constant time, whatever the input: hmac.compare_digest raises TypeError on non-ASCII text, so text
    is compared as its UTF-8 bytes. Nothing (None or empty) never matches, not even nothing."""
    if not expected or not given:
        return False
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(value: str | bytes) -> bytes:
    # surrogatepass: a lone surrogate (JSON may escape one) is bytes to compare, not an error.
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
