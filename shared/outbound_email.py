"""Outbound email: the one way every function sends an email (invoices, notices, and later tickets and channels).

An ``OutgoingEmail`` is built into a MIME message (stdlib ``email``, ``policy.default``)::

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8 (quoted-printable)
        text/html; charset=utf-8 (quoted-printable)
      application/pdf; filename=... (base64)            one part per attachment

(without attachments the message is the multipart/alternative itself) and sent through SESv2 ``SendEmail``
as raw content, one message per recipient: a client never sees who else got the email.

- The message is 7-bit ASCII on the wire (CRLF line ends): non-ASCII headers are RFC 2047 encoded words,
  bodies quoted-printable, attachments base64.
- Header injection: a header value (subject, display names, addresses, extra headers) holding a line break
  or any other control character is refused with ``InvalidEmail`` (a ValueError) — never stripped, since a
  silently changed subject or address is a bug nobody sees.
- ``message_id`` makes the Message-ID deterministic, ``<{message_id}@{message_id_domain}>``: a retry of the
  same email carries the same id, so the recipient's client can tell it is the same message.
- SES errors become ``PermanentEmailFailure`` (retrying will not help: drop or report it) or
  ``TransientEmailFailure`` (retry later: leave the record for the queue to redeliver).

Nothing but the stdlib is imported here (cold start): the caller passes its own sesv2 client, and botocore's
exceptions are imported only when a send fails.
"""

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import charset as _charset
from email import policy as _policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, make_msgid

POLICY = _policy.default
# What goes to SES: RFC 5322 line ends.
WIRE_POLICY = _policy.default.clone(linesep="\r\n")

# Non-ASCII header text as Q encoded words ("Factura N=C2=BA 0001"), the readable form of the two.
_UTF8_Q = _charset.Charset("utf-8")
_UTF8_Q.header_encoding = _charset.QP

# Set by build_message from OutgoingEmail's own fields; extra headers may not set (or repeat) them.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Reply-To", "Sender", "Return-Path",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID",
    )
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ":"
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str  # "Paneldecliente <facturacion@example.com>"; the display name may hold accents
    to: tuple[str, ...]  # one message per address (send_each)
    subject: str
    text: str  # Spanish plain text
    html: str  # Spanish HTML
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # e.g. (("X-Paneldecliente-Event", event_id),)

    def __post_init__(self) -> None:
        # Lists are accepted and kept as tuples, so an email stays immutable and hashable.
        for name in ("to", "attachments", "headers"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, tuple | list):
                raise TypeError(f"OutgoingEmail.{name} must be a tuple, got {type(value).__name__}")
            object.__setattr__(self, name, tuple(tuple(v) if name == "headers" else v for v in value))
        if not self.to:
            raise InvalidEmail("OutgoingEmail.to: at least one recipient is needed")


@dataclass(frozen=True)
class Mail:
    """What an email says, in paragraphs and one link, made into the plain text and the HTML of an
    OutgoingEmail alike (signed by the team)."""

    kind: str  # invoice_issued | invoice_paid | invoice_overdue | service_enabled | alert:<template>
    subject: str
    paragraphs: tuple[str, ...]
    link: tuple[str, str] | None = None  # (text, url)

    @property
    def text(self) -> str:
        parts = list(self.paragraphs)
        if self.link:
            parts.append(f"{self.link[0]}: {self.link[1]}")
        parts.append("Saludos,\nEl equipo de Paneldecliente")
        return "\n\n".join(parts) + "\n"

    @property
    def html(self) -> str:
        body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in self.paragraphs)
        if self.link:
            body += f'<p><a href="{html.escape(self.link[1], quote=True)}">{html.escape(self.link[0])}</a></p>'
        body += "<p>Saludos,<br>El equipo de Paneldecliente</p>"
        return (f'<!doctype html><html lang="es"><head><meta charset="utf-8"><title>{html.escape(self.subject)}'
                f'</title></head><body style="font-family: Arial, sans-serif; line-height: 1.5">{body}</body></html>')


class EmailFailure(Exception):
    """An email was not sent. ``code`` is SES's error code (or the exception's class name), ``recipient``
    the address it was for; ``sent`` (send_each) maps the recipients that did get it to their SES ids."""

    def __init__(self, message: str, *, code: str | None = None, recipient: str | None = None):
        super().__init__(message)
        self.code = code
        self.recipient = recipient
        self.sent: dict[str, str] = {}
        self.failures: dict[str, EmailFailure] = {}


class PermanentEmailFailure(EmailFailure):
    """Retrying will not help (content rejected, sender not verified, account suspended, bad request)."""


class TransientEmailFailure(EmailFailure):
    """Retry later (throttled, sending paused, quota, SES or the network failing)."""


class InvalidEmail(PermanentEmailFailure, ValueError):
    """The email cannot be built: a header with a line break or control character, a malformed address,
    attachment or extra header. A ValueError (a bug or bad data) and a permanent failure (never retry it)."""


# SESv2 SendEmail's documented errors (botocore's sesv2 service model), and what else a call may answer.
PERMANENT_CODES = frozenset({
    "MessageRejected",  # invalid content, or (sandbox) an unverified recipient
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",  # "permanently restricted"
    "NotFoundException",  # e.g. the configuration set does not exist
    "BadRequestException",
    "ValidationException",
    "InvalidParameterValue",  # moto's (SES v1) answer to a malformed address
    "SerializationException",
})
TRANSIENT_CODES = frozenset({
    "TooManyRequestsException",  # sending rate
    "LimitExceededException",  # quota
    "SendingPausedException",  # sending paused (by us or by SES review): resumes
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
    "RequestLimitExceeded", "SlowDown", "PriorRequestNotComplete",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError",
    "InternalServiceError", "InternalError", "RequestTimeout", "RequestTimeoutException",
    # Credentials and permissions: a deployment fixes them, and the same email then goes out.
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId", "UnrecognizedClientException",
    "AccessDenied", "AccessDeniedException", "SignatureDoesNotMatch", "IncompleteSignature",
})


def _has_controls(text: str) -> bool:
    # Cc: CR, LF, TAB, NUL, NEL (U+0085)...; Zl/Zp: U+2028/U+2029, which some readers take as line breaks.
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def _check_line(field: str, value: str) -> str:
    if not isinstance(value, str):
        raise InvalidEmail(f"{field}: expected text, got {type(value).__name__}")
    if _has_controls(value):
        raise InvalidEmail(f"{field}: line breaks and control characters are not allowed in a header: {value!r}")
    return value


def parse_address(field: str, value: str) -> Address:
    """One address (``"Nombre <user@dominio>"`` or ``user@dominio``) as an Address, its domain lower-cased
    and IDNA-encoded (``ñandú.com.ar`` -> ``xn--and-6ma2c.com.ar``). InvalidEmail otherwise."""
    _check_line(field, value)
    header = POLICY.header_factory(field, value)
    addresses = header.addresses
    if len(addresses) != 1 or header.defects or len(header.groups) != 1 or header.groups[0].display_name:
        raise InvalidEmail(f"{field}: expected one email address, got {value!r}")
    address = addresses[0]
    local, domain = address.username, address.domain
    if not local or not domain or not local.isascii():
        raise InvalidEmail(f"{field}: not a deliverable address: {value!r}")
    try:
        domain = domain.lower() if domain.isascii() else domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEmail(f"{field}: invalid domain in {value!r}") from None
    if not _HOSTNAME.fullmatch(domain):
        raise InvalidEmail(f"{field}: invalid domain in {value!r}")
    return Address(display_name=address.display_name, username=local, domain=domain)


class _EncodedHeader(str):
    """A non-ASCII header value written by ``email.header`` instead of the policy's folder.

    Python 3.11's folder (policy.default) drops the space between two encoded words when it folds a line:
    "vencé pronto: señor" arrives as "vencé pronto:señor". ``email.header.Header`` keeps the spaces inside
    the encoded words and each word within RFC 2047's 75 characters. EmailPolicy stores a value that has a
    ``name`` as it is, and asks it to fold itself. As a str it is the decoded text.
    """

    def __new__(cls, name: str, text: str, addr_spec: str | None = None) -> "_EncodedHeader":
        shown = text if addr_spec is None else f"{_quoted_phrase(text)} <{addr_spec}>"
        self = super().__new__(cls, shown)
        self.name, self._text, self._addr_spec = name, text, addr_spec
        return self

    def fold(self, *, policy) -> str:
        encoded = Header(self._text, _UTF8_Q, header_name=self.name).encode(
            linesep=policy.linesep, maxlinelen=policy.max_line_length or 78)
        if self._addr_spec is not None:
            encoded = f"{encoded} <{self._addr_spec}>"
        return f"{self.name}: {encoded}{policy.linesep}"


def _quoted_phrase(text: str) -> str:
    if re.fullmatch(r"[\w!#$%&'*+/=?^`{|}~ -]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address_header(name: str, address: Address):
    if address.display_name and not address.display_name.isascii():
        return _EncodedHeader(name, address.display_name, address.addr_spec)
    return address


def _text_header(name: str, value: str):
    return value if value.isascii() else _EncodedHeader(name, value)


def _message_id(message_id: str | None, domain: str) -> str:
    if not _HOSTNAME.fullmatch(domain or ""):
        raise InvalidEmail(f"message_id_domain: not a domain name: {domain!r}")
    if message_id is None:
        return make_msgid(domain=domain)
    if not _DOT_ATOM.fullmatch(message_id):
        raise InvalidEmail(f"message_id: letters, digits, dots and -_+= only: {message_id!r}")
    return f"<{message_id}@{domain}>"


def build_message(email: OutgoingEmail, recipient: str, *, message_id_domain: str, message_id: str | None = None,
                  now: datetime | None = None) -> EmailMessage:
    """The MIME message of ``email`` for ``recipient`` (one of ``email.to``). InvalidEmail if it can't be built."""
    sender = parse_address("From", email.sender)
    to = parse_address("To", recipient)
    listed = [a for a in (parse_address("To", r) for r in email.to) if a.addr_spec == to.addr_spec]
    if not listed:
        raise InvalidEmail(f"To: {recipient!r} is not one of the email's recipients")
    if not to.display_name:  # send("juan@…") of an email to "Juan Núñez <juan@…>": the name stays
        to = listed[0]
    reply_to = parse_address("Reply-To", email.reply_to) if email.reply_to else None
    subject = _check_line("Subject", email.subject)
    if not subject.strip():
        raise InvalidEmail("Subject: empty")
    extra = []
    for pair in email.headers:
        if len(pair) != 2:
            raise InvalidEmail(f"headers: expected (name, value) pairs, got {pair!r}")
        name, value = pair
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_HEADERS:
            raise InvalidEmail(f"headers: {name!r} is not a header name an email may add")
        extra.append((name, _check_line(name, value)))
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")

    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address_header("From", sender)
    msg["To"] = _address_header("To", to)
    if reply_to is not None:
        msg["Reply-To"] = _address_header("Reply-To", reply_to)
    msg["Subject"] = _text_header("Subject", subject)
    msg["Date"] = formatdate(localtime=False) if now is None else format_datetime(now)
    msg["Message-ID"] = _message_id(message_id, message_id_domain)
    for name, value in extra:
        msg[name] = _text_header(name, value)

    msg.set_content(email.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in email.attachments:
        filename = _check_line("Attachment filename", attachment.filename)
        if not filename.strip() or "/" in filename or "\\" in filename:
            raise InvalidEmail(f"Attachment filename: a file name without folders is needed: {filename!r}")
        if not _MIME_TYPE.fullmatch(attachment.mime_type or "") or attachment.mime_type.startswith("multipart/"):
            raise InvalidEmail(f"Attachment mime_type: not a MIME type: {attachment.mime_type!r}")
        if not isinstance(attachment.content, bytes | bytearray):
            raise InvalidEmail(f"Attachment {filename!r}: content must be bytes")
        maintype, subtype = attachment.mime_type.lower().split("/", 1)
        msg.add_attachment(bytes(attachment.content), maintype=maintype, subtype=subtype, filename=filename)
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # the stdlib repeats it on parts it creates; it belongs to the top only
    return msg


def to_bytes(message: EmailMessage) -> bytes:
    """The message as SES gets it (CRLF line ends; ASCII)."""
    return message.as_bytes(policy=WIRE_POLICY)


def send(sesv2_client, email: OutgoingEmail, recipient: str, *, message_id_domain: str, message_id: str | None = None,
         configuration_set: str | None = None, now: datetime | None = None) -> str:
    """Send ``email`` to one recipient; returns SES's MessageId.

    Raises InvalidEmail (it can't be built), PermanentEmailFailure or TransientEmailFailure."""
    message = build_message(email, recipient, message_id_domain=message_id_domain, message_id=message_id, now=now)
    request = {
        "FromEmailAddress": parse_address("From", email.sender).addr_spec,
        "Destination": {"ToAddresses": [parse_address("To", recipient).addr_spec]},
        "Content": {"Raw": {"Data": to_bytes(message)}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    try:
        response = sesv2_client.send_email(**request)
    except Exception as exc:
        failure = classify(exc, recipient=recipient)
        if failure is None:
            raise
        raise failure from exc
    return response["MessageId"]


def recipient_message_id(message_id: str, recipient: str) -> str:
    """send_each's Message-ID for one recipient: the email's id and a digest of the address, so a retry to
    the same recipient carries the same id whatever the order (or subset) of the recipients."""
    digest = hashlib.sha256(parse_address("To", recipient).addr_spec.lower().encode()).hexdigest()[:12]
    return f"{message_id}.{digest}"


def send_each(sesv2_client, email: OutgoingEmail, *, message_id_domain: str, message_id: str | None = None,
              configuration_set: str | None = None, now: datetime | None = None) -> dict[str, str]:
    """Send ``email`` to each of ``email.to``, one message each; returns recipient -> SES MessageId.

    Every recipient is tried. If any failed, raises afterwards: TransientEmailFailure if one of the failures
    is transient (retry those), else PermanentEmailFailure; its ``sent`` holds who did get the email and
    ``failures`` each failed recipient's error, so a retry can send to the rest only
    (``dataclasses.replace(email, to=...)``; their Message-IDs stay the same, see recipient_message_id)."""
    sent: dict[str, str] = {}
    failures: dict[str, EmailFailure] = {}
    for recipient in dict.fromkeys(email.to):
        try:
            sent[recipient] = send(
                sesv2_client, email, recipient, message_id_domain=message_id_domain,
                message_id=None if message_id is None else recipient_message_id(message_id, recipient),
                configuration_set=configuration_set, now=now)
        except EmailFailure as exc:
            exc.recipient = recipient
            failures[recipient] = exc
    if not failures:
        return sent
    transient = [f for f in failures.values() if isinstance(f, TransientEmailFailure)]
    kind = TransientEmailFailure if transient else PermanentEmailFailure
    first = (transient or list(failures.values()))[0]
    error = kind(f"{len(failures)} of {len(failures) + len(sent)} recipients failed: {first}", code=first.code,
                 recipient=first.recipient)
    error.sent, error.failures = sent, failures
    raise error


def classify(exc: BaseException, *, recipient: str | None = None) -> EmailFailure | None:
    """The failure an exception of a SESv2 call means, or None if it is not a botocore one (a bug: let it out)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"SES {code}: {error.get('Message') or exc}"
        if code in ("MessageRejected", "MailFromDomainNotVerifiedException") and any(
                sign in text.lower() for sign in ("not verified", "did not have authority")):
            # Our sending identity is not (yet) verified, or the account is still in the sandbox: operations fix
            # it (DKIM records, production access) and the same email then goes out, so it is retried (the DLQ
            # alarm tells them), never dropped as if the address were bad.
            return TransientEmailFailure(text, code=code, recipient=recipient)
        if code in PERMANENT_CODES:
            return PermanentEmailFailure(text, code=code, recipient=recipient)
        if code in TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientEmailFailure(text, code=code, recipient=recipient)
        return PermanentEmailFailure(text, code=code, recipient=recipient)  # another 4xx: a bad request
    if isinstance(exc, ConnectionError | HTTPClientError | NoCredentialsError | CredentialRetrievalError):
        return TransientEmailFailure(f"SES unreachable: {exc}", code=type(exc).__name__, recipient=recipient)
    return None  # ParamValidationError and the like: our bug, not the email's
