"""Free text that other people read (names, companies, messages, notes): one rule for every request model.

Stored in NFC, so one name has one spelling. Refused (422, with the reason in Spanish): control characters
(NUL, the ESC of ANSI sequences, …; a multi-line text may hold line breaks and tabs), the bidi overrides
and isolates that make a text display in another order than it is stored (U+202A–U+202E, U+2066–U+2069),
and a text with nothing visible in it — only spaces and zero-width characters — unless it is empty (whether
a field may be empty is its own length rule).

Use as ``Annotated[str, StringConstraints(...), OneLine]`` (or ``ManyLines``).
"""

import re
import unicodedata

from pydantic import AfterValidator

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")


def _checked(value: str, allowed_controls: frozenset[str]) -> str:
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed_controls for ch in value):
        raise ValueError("no puede contener caracteres de control")
    if any(ch in _BIDI_CONTROLS for ch in value):
        raise ValueError("no puede contener caracteres que cambian la dirección del texto")
    # Visible: a letter, number, punctuation or symbol. Not: separators, controls, format characters
    # (zero-width space and joiners, soft hyphen, BOM) nor a combining mark with nothing to combine with.
    if value and not any(unicodedata.category(ch)[0] in "LNPS" for ch in value):
        raise ValueError("debe tener al menos un carácter visible")
    return value


OneLine = AfterValidator(lambda value: _checked(value, frozenset()))
ManyLines = AfterValidator(lambda value: _checked(value, _LINE_BREAKS))


_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def plain_filename(name: str) -> str:
    """A file name as stored and offered (ticket attachments, a service's downloads): its last path component in
    ASCII letters, digits, dot, dash and underscore — a path, a control character or an HTML tag cannot survive."""
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _UNSAFE_IN_NAMES.sub("_", base.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
