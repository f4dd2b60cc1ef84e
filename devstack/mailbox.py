"""What the embedded AWS "sent" by email: moto's SES records every accepted message and delivers none.

moto 5.2.5 keeps them, SES v1 and SESv2 alike, in its SES (v1) backend: ``ses_backends[account][region]
.sent_messages``, oldest first. A SESv2 ``SendEmail`` with Raw content is a ``RawMessage`` (``id``,
``source``, ``destinations`` — the envelope plus the message's To/Cc/Bcc —, ``raw_data``: the MIME text);
a Simple one is a ``Message`` (``subject``, ``body``). The backends live in this process (mock_aws, or the
devstack's moto server), so tests and the local stack read them directly.
"""

import email
import email.policy
import email.utils
from email.message import EmailMessage
from typing import Any

from devstack.cfn import ACCOUNT_ID

_STRUCTURE = {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}


def _recorded(account_id: str, region: str) -> list[Any]:
    from moto.ses.models import Message, RawMessage, ses_backends

    return [m for m in ses_backends[account_id][region].sent_messages if isinstance(m, RawMessage | Message)]


def _parsed(raw: Any) -> EmailMessage:
    return email.message_from_string(raw.raw_data, policy=email.policy.default)


def _addresses(header: Any) -> list[str]:
    return [a.addr_spec for a in header.addresses] if header is not None else []


def _entry(recorded: Any) -> dict[str, Any]:
    if not hasattr(recorded, "raw_data"):  # Simple content: no MIME message to read
        to = recorded.destinations.get("ToAddresses", []) if isinstance(recorded.destinations, dict) else []
        return {"message_id": recorded.id, "from": recorded.source, "to": list(to), "destinations": list(to),
                "subject": recorded.subject, "date": None, "text": recorded.body, "html": None,
                "attachments": [], "headers": {}, "reply_to": None, "message_id_header": None}
    msg = _parsed(recorded)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    attachments = []
    for part in msg.iter_attachments():
        attachments.append({"filename": part.get_filename(), "mime_type": part.get_content_type(),
                            "size": len(part.get_payload(decode=True) or b"")})
    envelope = list(dict.fromkeys(email.utils.parseaddr(d)[1] for d in recorded.destinations))
    return {
        "message_id": recorded.id,  # SES's MessageId, what send_email answered
        "from": str(msg["From"]) if msg["From"] is not None else recorded.source,
        "to": _addresses(msg["To"]),
        "destinations": envelope,
        "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] is not None else None,
        "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
        "date": str(msg["Date"]) if msg["Date"] is not None else None,
        "message_id_header": str(msg["Message-ID"]) if msg["Message-ID"] is not None else None,
        # As a reader shows them: the wire's CRLF line ends as "\n".
        "text": text.get_content().replace("\r\n", "\n") if text is not None else None,
        "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
        "attachments": attachments,
        # Every top-level header but the MIME structure ones, decoded (X-Paneldecliente-Event, In-Reply-To...).
        "headers": {name: str(value) for name, value in msg.items() if name.lower() not in _STRUCTURE},
    }


def sent_emails(account_id: str = ACCOUNT_ID, region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every email sent so far, oldest first: {message_id, from, to, destinations, reply_to, subject, date,
    message_id_header, text, html, attachments: [{filename, mime_type, size}], headers}."""
    return [_entry(m) for m in _recorded(account_id, region)]


def message(message_index_or_id: int | str, account_id: str = ACCOUNT_ID, region: str = "us-east-1") -> EmailMessage:
    """One sent email as parsed MIME: by position in sent_emails() (negative counts from the newest) or SES id."""
    recorded = _recorded(account_id, region)
    if isinstance(message_index_or_id, int):
        found = recorded[message_index_or_id]
    else:
        matches = [m for m in recorded if m.id == message_index_or_id]
        if not matches:
            raise KeyError(f"no sent email with id {message_index_or_id!r}")
        found = matches[0]
    if not hasattr(found, "raw_data"):
        raise KeyError(f"email {found.id!r} was sent with Simple content: it has no MIME message")
    return _parsed(found)


def attachment(message_index_or_id: int | str, filename: str, account_id: str = ACCOUNT_ID,
               region: str = "us-east-1") -> bytes:
    """The bytes of a sent email's attachment (KeyError if it has none by that name)."""
    for part in message(message_index_or_id, account_id, region).iter_attachments():
        if part.get_filename() == filename:
            return part.get_payload(decode=True) or b""
    raise KeyError(f"no attachment {filename!r}")


def feedback_event(kind: str, address: str, bounce_type: str = "Permanent", source: str = "") -> dict[str, Any]:
    """What SES's event destination publishes about a sent email (raw message delivery: the event itself):
    ``kind`` "bounce" (``bounce_type`` Permanent / Transient) or "complaint"."""
    mail = {"timestamp": "2026-11-30T14:10:00.000Z", "source": source, "messageId": "0100018abc-local-feedback",
            "destination": [address]}
    if kind == "bounce":
        return {"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": bounce_type, "bounceSubType": "General", "feedbackId": f"local-{bounce_type.lower()}",
            "timestamp": "2026-11-30T14:10:05.000Z", "reportingMTA": "dns; email.amazonses.com",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}
    if kind == "complaint":
        return {"eventType": "Complaint", "mail": mail, "complaint": {
            "complainedRecipients": [{"emailAddress": address}], "complaintFeedbackType": "abuse",
            "feedbackId": "local-complaint", "timestamp": "2026-11-30T14:10:05.000Z"}}
    raise ValueError(f"unknown feedback kind {kind!r}")
