"""Domain names as a client types them: internationalised (IDNA 2008 with UTS #46 mapping, so "Ñandú.com.ar"
is the same name as "xn--and-6ma2c.com.ar"), stored in their ASCII form, which is what DNS, WHM and
registries take."""

import idna

MAX_LENGTH = 253  # without the root dot (RFC 1035: 255 octets on the wire)
MAX_LABEL = 63


class InvalidDomain(ValueError):
    pass


def normalize_domain(text: str) -> str:
    """The ASCII (A-label) form of a domain name, lower-cased and without a final dot; InvalidDomain (with a
    Spanish reason) for anything that is not a registrable host name: one label only, a label over 63
    characters or with a leading/trailing hyphen, characters IDNA does not allow, over 253 in all, or a top
    level domain that is all digits."""
    # Full stops as IDNA maps them ("。", "．", "｡"): a final one is the root, as a final "." is.
    name = text.strip().translate({0x3002: ".", 0xFF0E: ".", 0xFF61: "."}).rstrip(".")
    if not name:
        raise InvalidDomain("no puede estar vacío")
    if "://" in name or "/" in name or "@" in name or " " in name:
        raise InvalidDomain("escriba solo el dominio, por ejemplo ejemplo.com.ar")
    try:
        ascii_name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise InvalidDomain("tiene caracteres o partes que un dominio no admite") from error
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidDomain("debe incluir la extensión, por ejemplo ejemplo.com.ar")
    if len(ascii_name) > MAX_LENGTH:
        raise InvalidDomain(f"no puede superar {MAX_LENGTH} caracteres")
    for label in labels:
        if not label or len(label) > MAX_LABEL:
            raise InvalidDomain(f"cada parte debe tener de 1 a {MAX_LABEL} caracteres")
        if label.startswith("-") or label.endswith("-"):
            raise InvalidDomain("una parte no puede empezar ni terminar con guion")
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            raise InvalidDomain("tiene caracteres que un dominio no admite")
    if labels[-1].isdigit() or len(labels[-1]) < 2:
        raise InvalidDomain("la extensión debe tener al menos dos letras")
    return ascii_name.lower()


def under_suffix(domain: str, suffix: str) -> bool:
    """``domain`` (ASCII, normalised) is one name registered directly under ``suffix`` (".com.ar")."""
    suffix = suffix.lower().strip(".")
    head, dot, tail = domain.rpartition("." + suffix)
    return bool(dot) and not tail and bool(head) and "." not in head
