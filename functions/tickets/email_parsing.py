"""One received email, read into what a ticket needs (docs/email-channel.md).

The stdlib ``email`` package (``policy.default``) decodes headers (RFC 2047 words, any charset) and bodies
(quoted-printable, base64, 8bit in any declared charset). The text is the ``text/plain`` part, or the HTML
part made text: nh3 removes everything but a few structural tags (scripts, styles and their content
included), then the tags become line breaks. The reply is the text without what it quotes and signs off
with: our own marker first (the line we put on top of every email we send), then exact quote headers we
know (Gmail's "El ... escribió:", Outlook's "De:/Enviado:/Asunto:" block, "-----Mensaje original-----"),
then mail-parser-reply for the rest, whose result is used only when it leaves some text.

Nothing here touches AWS or the clock: bytes in, ``ParsedEmail`` out, or ``MalformedEmail``.
"""

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from tickets.attachments import ALLOWED_TYPES, MAX_BYTES, safe_filename

from shared.errors import InvalidInput

REPLY_MARKER = "##- Escriba su respuesta por encima de esta línea -##"
MAX_ATTACHMENT_BYTES = MAX_BYTES
MAX_ATTACHMENTS = 10
TRIMMED_CHARS = 100_000
MAX_RAW_BYTES = 40 * 1024 * 1024  # SES accepts 40 MB per received message; anything larger is not from SES

_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII, no < or >: safe to repeat in our References
_MAILER_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|bounces?)([+@]|$)", re.IGNORECASE)
_QUOTE_HEADERS = [
    # Gmail, Apple Mail and Thunderbird in Spanish and English; the line may wrap inside the sender's name.
    # No blank line inside, and a date in it (a digit): "El sitio sigue caído" is not a quote header.
    re.compile(r"^[ \t]*El\s(?:(?!\n[ \t]*\n).){0,200}?\d(?:(?!\n[ \t]*\n).){0,200}?escribi[óo]:[ \t]*$",
               re.IGNORECASE | re.MULTILINE | re.DOTALL),
    re.compile(r"^[ \t]*On\s(?:(?!\n[ \t]*\n).){0,200}?\d(?:(?!\n[ \t]*\n).){0,200}?wrote:[ \t]*$",
               re.IGNORECASE | re.MULTILINE | re.DOTALL),
    re.compile(r"^[ \t]*-{2,}\s*(Mensaje original|Original Message)\s*-{2,}", re.IGNORECASE | re.MULTILINE),
    # Outlook: "De: ..." followed within a few lines by "Enviado:"/"Fecha:"/"Sent:" and "Asunto:"/"Subject:".
    re.compile(r"^[ \t]*\*?(De|From)\s*:\*?.*\n(.*\n){0,3}?[ \t]*\*?(Enviado|Fecha|Sent|Date)\s*:", re.IGNORECASE
               | re.MULTILINE),
    re.compile(r"^_{20,}[ \t]*$", re.MULTILINE),  # Outlook's rule above the quoted header
]
# A forward is the substance of the email (an error notice, a provider's message): nothing of it is cut.
_FORWARD_MARKER = re.compile(r"^[ \t]*-{5,}\s*(Forwarded message|Mensaje reenviado|Mensaje original reenviado)\s*-{5,}",
                             re.IGNORECASE | re.MULTILINE)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|rv|reenv(iado|iar)?)\s*:", re.IGNORECASE)
_SIGN_OFFS = [
    re.compile(r"^-- ?$", re.MULTILINE),  # RFC 3676 signature separator
    re.compile(r"^[ \t]*(Enviado desde mi|Sent from my|Obtener Outlook para)\b.*$", re.IGNORECASE | re.MULTILINE),
]


class MalformedEmail(ValueError):
    """Not an email we can file (no From address, not a message at all)."""


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class ParsedEmail:
    message_id: str | None
    from_address: str
    from_name: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    reply_to: str | None = None
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    reply: str = ""
    html: str | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    refused_attachments: list[tuple[str, str]] = field(default_factory=list)  # (filename, reason)
    auto_submitted: bool = False
    from_mailer_daemon: bool = False
    defects: list[str] = field(default_factory=list)
    # The From header did not name exactly one mailbox (none, a group, several): the sender is not proven by
    # DMARC (it aligns the From domain only), so nothing it says about who wrote is trusted.
    ambiguous_from: bool = False


def message_ids(header: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(str(header or ""))


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # an unparseable structured header: take it raw
        raw = [v for k, v in message.raw_items() if k.lower() == name.lower()]
        value = raw[0] if raw else None
    return " ".join(str(value or "").split())


MAX_ADDRESS = 254  # RFC 5321's path limit: a longer "address" is not one (nor a usable table key)


def _mailboxes(message: EmailMessage, name: str) -> list[Address]:
    try:
        header = message.get(name)
        found: list[Address] = list(getattr(header, "addresses", ()) or ())
    except (ValueError, IndexError, TypeError):
        found = []
    return [m for m in found if m.username and m.domain and len(m.addr_spec) <= MAX_ADDRESS]


def _address(message: EmailMessage, name: str) -> tuple[str, str]:
    """(address lowercased, display name) of the first mailbox of a header; ("", "") if there is none."""
    for mailbox in _mailboxes(message, name):
        return mailbox.addr_spec.lower(), mailbox.display_name or ""
    raw = [v for k, v in message.raw_items() if k.lower() == name.lower()]
    display, address = parseaddr(str(raw[0])) if raw else ("", "")
    return (address.lower(), display) if "@" in address and len(address) <= MAX_ADDRESS else ("", "")


def _one_line(text: str) -> str:
    """A header's text as one line of printable characters (controls, format and bidi marks dropped): it is
    repeated in our own subjects, where a control character would make every email of the ticket fail."""
    import unicodedata

    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _recipients(message: EmailMessage) -> list[str]:
    values = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        values += [str(v) for k, v in message.raw_items() if k.lower() == name.lower()]
    return [address.lower() for _, address in getaddresses(values) if "@" in address]


def _auto_submitted(message: EmailMessage, from_address: str) -> bool:
    """RFC 3834 Auto-Submitted, and what vacation responders and lists actually send instead."""
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list", "auto_reply"}:
        return True
    if any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe")):
        return True
    if _header(message, "X-Auto-Response-Suppress").lower() in {"all", "oof", "autoreply"}:
        return True
    return message.get_content_type() == "multipart/report" or from_address.startswith("noreply@")


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset: keep what decodes
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body: sanitized by nh3 to a few block tags, then those made line breaks."""
    import nh3

    blocks = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}
    cleaned = nh3.clean(markup, tags=blocks, attributes={}, strip_comments=True,
                        clean_content_tags={"script", "style", "head", "title"})
    cleaned = re.sub(r"<br\s*/?>", "\n", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"</?(p|div|li|tr|h\d|blockquote|pre)>", "\n", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"<[^>]+>", "", cleaned)  # nothing but allowed block tags is left, and those are done
    text = html.unescape(cleaned).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _normalise(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def trim_reply(text: str) -> str:
    """The new text of a reply: what is above our marker, a quote header or a signature."""
    cut = text
    marker = cut.find(REPLY_MARKER)
    if marker >= 0:
        cut = cut[:marker]
        # The quote header the client's program wrote above our marker ("El lun., ... escribió:").
        lines = cut.rstrip().splitlines()
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
            lines.pop()
        cut = "\n".join(lines)
    for pattern in _QUOTE_HEADERS + _SIGN_OFFS:
        found = pattern.search(cut)
        if found and cut[:found.start()].strip():
            cut = cut[:found.start()]
    lines = cut.rstrip().splitlines()
    while lines and lines[-1].lstrip().startswith(">"):  # bottom-posted quote left over
        lines.pop()
    cut = "\n".join(lines).strip()
    cut = _library_trim(cut) or cut
    return cut.strip() or text.strip()


def _library_trim(text: str) -> str:
    """mail-parser-reply on what our own rules left: it knows more clients' quote headers (many languages).
    Its signature rules count a closing like "Gracias," as a signature, so its cut is taken only when it
    keeps most of the text or the part it drops starts with a quote."""
    try:
        from mailparser_reply import EmailReplyParser

        reply = EmailReplyParser(languages=["es", "en"]).parse_reply(text=text) or ""
    except Exception:  # noqa: BLE001 - a third-party parser's failure must never lose the email
        return text
    reply = reply.strip()
    if not reply or reply == text:
        return text
    dropped = text[len(reply):].lstrip() if text.startswith(reply) else ""
    if dropped.startswith(">") or len(reply) >= 0.8 * len(text):
        return reply
    return text


def parse(raw: bytes) -> ParsedEmail:
    if not raw or len(raw) > MAX_RAW_BYTES:
        raise MalformedEmail("empty or too large")
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MalformedEmail("no headers")
    from_address, from_name = _address(message, "From")
    ambiguous = len(_mailboxes(message, "From")) != 1
    if not from_address:
        from_address, from_name = _address(message, "Sender")
    if not from_address:
        raise MalformedEmail("no sender address")
    reply_to, _ = _address(message, "Reply-To")
    own_ids = message_ids(_header(message, "Message-ID"))
    parsed = ParsedEmail(
        message_id=own_ids[0] if own_ids else None, from_address=from_address, from_name=from_name[:200],
        in_reply_to=message_ids(_header(message, "In-Reply-To")),
        references=message_ids(_header(message, "References"))[-50:], reply_to=reply_to or None,
        recipients=_recipients(message), subject=_one_line(_header(message, "Subject"))[:998],
        defects=[type(d).__name__ for d in message.defects], ambiguous_from=ambiguous)
    parsed.from_mailer_daemon = bool(_MAILER_DAEMON.match(from_address)) or \
        message.get_content_type() == "multipart/report"
    parsed.auto_submitted = parsed.from_mailer_daemon or _auto_submitted(message, from_address)
    _read_parts(message, parsed)
    forwarded = bool(_FORWARD_SUBJECT.match(parsed.subject) or _FORWARD_MARKER.search(parsed.text))
    # The trimming's patterns run on the first part only: a huge body cannot make them slow.
    parsed.reply = parsed.text if forwarded else trim_reply(parsed.text[:TRIMMED_CHARS]) if parsed.text else ""
    return parsed


def _read_parts(message: EmailMessage, parsed: ParsedEmail) -> None:
    plain: list[str] = []
    markup: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        filename = part.get_filename()
        if disposition != "attachment" and not filename and content_type in {"text/plain", "text/html"}:
            (plain if content_type == "text/plain" else markup).append(_text_of(part))
            continue
        if content_type in {"message/delivery-status", "message/rfc822"} and not filename:
            continue
        if disposition != "attachment" and part.get("Content-ID") and content_type.startswith("image/"):
            continue  # a logo the HTML shows inline (signatures): noise in a ticket, kept in the original
        _attachment(part, filename or "adjunto", content_type, parsed)
    if markup:
        parsed.html = "\n".join(markup)
    text = "\n\n".join(plain) if any(p.strip() for p in plain) else html_to_text(parsed.html or "")
    parsed.text = _normalise(text)


def _attachment(part: EmailMessage, filename: str, content_type: str, parsed: ParsedEmail) -> None:
    if len(parsed.attachments) >= MAX_ATTACHMENTS:
        parsed.refused_attachments.append((filename[:100], "too_many"))
        return
    content_type = _attachment_type(filename, content_type)
    name = _stored_name(filename, content_type)
    if name is None:
        parsed.refused_attachments.append((filename[:100], "type_not_allowed"))
        return
    content = part.get_payload(decode=True) or b""
    if len(content) > MAX_ATTACHMENT_BYTES:
        parsed.refused_attachments.append((name, "too_large"))
        return
    parsed.attachments.append(InboundAttachment(name, content_type, content))


def _attachment_type(filename: str, declared: str) -> str:
    """Mail programs often send a PDF or an image as application/octet-stream: its extension then says what
    it is (and the panel's own limits apply to that)."""
    if declared in ALLOWED_TYPES or declared != "application/octet-stream":
        return declared
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    for content_type, extensions in ALLOWED_TYPES.items():
        if extension in extensions:
            return content_type
    return declared


def _stored_name(filename: str, content_type: str) -> str | None:
    """The panel's safe name (attachments.safe_filename); a name without the type's extension gets it."""
    if content_type not in ALLOWED_TYPES:
        return None
    extension = ALLOWED_TYPES[content_type][0]
    for candidate in (filename, f"{filename}{extension}", f"adjunto{extension}"):
        try:
            return safe_filename(candidate, content_type)
        except InvalidInput:
            continue
    return None
