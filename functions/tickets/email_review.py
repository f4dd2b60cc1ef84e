"""Staff's side of the email channel: the quarantine (emails SES judged spam or a virus), releasing one into
the tickets as if its verdicts had passed, and the original of a message that came by email (the raw
message, every header, for a dispute or a forensic look). Parsing is imported only when releasing."""

import re
from datetime import datetime, timedelta

from tickets.records import Files, Repositories
from tickets.schemas import DownloadOut
from tickets.staff_schemas import InboundEmailOut

from shared.auth import Identity, require_staff
from shared.clock import Clock, from_storage
from shared.dal.table import not_found
from shared.dal.tickets import InboundEmail
from shared.errors import Conflict

ORIGINAL_LIFETIME = timedelta(minutes=5)
EMAIL_KEY = re.compile("[0-9a-f]{64}")


class NotQuarantined(Conflict):
    code = "email_not_quarantined"
    message = "Ese correo no está en cuarentena: ya se procesó."


def _verdicts(record: InboundEmail) -> dict[str, str]:
    return record.verdicts.as_dict() if record.verdicts else {}


def _out(record: InboundEmail) -> InboundEmailOut:
    return InboundEmailOut(email_key=record.email_key, sender=record.sender, subject=record.subject,
                           received_at=from_storage(record.received_at), outcome=record.outcome,
                           reason=record.reason, ticket_id=record.ticket_id, verdicts=_verdicts(record))


def quarantine(repos: Repositories, identity: Identity, limit: int) -> list[InboundEmailOut]:
    require_staff(identity)
    return [_out(r) for r in repos.tickets.quarantined(limit)]


def release(repos: Repositories, clock: Clock, store: Files, support_domain: str, identity: Identity,
            email_key: str) -> InboundEmailOut:
    """File a quarantined email from its stored original, as SES's verdicts had passed."""
    from tickets.clocks import TicketPolicy
    from tickets.email_intake import Mailroom, Receipt, receive
    from tickets.email_parsing import MalformedEmail, parse

    require_staff(identity)
    # The sha256 of a Message-ID (email_intake.email_key): anything else names no email, like an unknown one.
    record = repos.tickets.find_inbound(email_key) if EMAIL_KEY.fullmatch(email_key) else None
    if record is None:
        raise not_found()
    if record.outcome != "quarantined":
        raise NotQuarantined()
    raw = store.s3.get_object(Bucket=store.bucket, Key=record.raw_key)["Body"].read()
    try:
        parsed = parse(raw)
    except MalformedEmail:  # it was parsed when it arrived; an original that changed since is not ours to file
        raise NotQuarantined() from None
    verdicts = _verdicts(record)
    receipt = Receipt(ses_message_id=record.ses_message_id, raw_key=record.raw_key, source=verdicts.get("source", ""),
                      **{k: verdicts.get(k, "GRAY") for k in ("spf", "dkim", "dmarc", "spam", "virus")})
    room = Mailroom(repos, clock, TicketPolicy.from_env(), store, support_domain)
    receive(room, receipt, parsed, release=True, known=record)
    return _out(record)  # updated in place by receive


def original(repos: Repositories, clock: Clock, store: Files, identity: Identity, ticket_id: str,
             message_id: str) -> DownloadOut:
    require_staff(identity)
    ticket, messages, _ = repos.tickets.conversation(ticket_id)
    message = next((m for m in messages if m.message_id == message_id), None) if ticket else None
    if message is None or not message.original_key:
        raise not_found()
    now: datetime = clock.now()
    url = store.s3.generate_presigned_url(
        "get_object", ExpiresIn=int(ORIGINAL_LIFETIME.total_seconds()),
        Params={"Bucket": store.bucket, "Key": message.original_key,
                "ResponseContentDisposition": f'attachment; filename="ticket-{ticket_id}-{message_id}.eml"',
                "ResponseContentType": "message/rfc822"})
    return DownloadOut(url=url, expires_at=now + ORIGINAL_LIFETIME)
