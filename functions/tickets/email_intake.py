"""An email to support becomes a ticket, or a message of the ticket it answers (docs/email-channel.md).

Threading finds the ticket an email answers from, in order: our Message-IDs in its In-Reply-To/References
(``<ticket.<ticket>.<message>@<support domain>>``), the plus address it was sent to
(``tickets+<ticket>@<support domain>``, our Reply-To) and the ``[Ticket#<ticket>]`` token of our subjects.

Spoof-safe: knowing a ticket's number is not enough to write into it (Zammad's hole). The email lands in the
ticket only if its From is proven (``Receipt.proves``: DMARC passed, or SPF passed for an envelope sender of
the From's own domain; a From naming one mailbox) and its sender belongs there now: the ticket's guest, or a
person of the ticket's account who may see tickets (the holder, a contact with ``tickets``). Otherwise it
opens a new ticket that staff see linked (``claimed_ticket_id``) and the client never does.

No loops and no noise: our own Message-IDs and our own domain's senders are dropped, bounces (mailer-daemons,
delivery reports) are not filed, auto-replies are never acknowledged (into a ticket they are a staff note;
alone they open nothing), spam and virus verdicts quarantine the email for staff. The InboundEmail record,
keyed by the Message-ID, is written in the transaction that files the email: SES's retries are one message.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets import clocks, outside_tickets
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender, who_is
from tickets.email_parsing import ParsedEmail
from tickets.email_threading import MAILBOX, OUR_MESSAGE_ID, SUBJECT_TOKEN
from tickets.logic import file_client_message
from tickets.outside_tickets import Arrival
from tickets.records import Files, Repositories, system_note

from shared.clock import Clock, from_storage, to_storage
from shared.dal import rate_limits
from shared.dal.table import batch_get
from shared.dal.tickets import Attachment, InboundEmail, Ticket
from shared.dal.unit_of_work import UnitOfWork
from shared.ids import id_at, is_valid_id

INBOUND_MAIL_PREFIX = "mail/inbound/"  # the receipt rule's S3 action's ObjectKeyPrefix (template.yaml)
ACKNOWLEDGEMENTS_PER_HOUR = 3  # per sender: more is a loop or a flood, not a person waiting
MAX_BODY = 20_000  # the panel's limit for a message; the rest stays in the original


@dataclass(frozen=True)
class Receipt:
    """What SES said about the email (``Records[].ses.receipt``) and where its S3 action stored it."""

    ses_message_id: str
    raw_key: str
    recipients: tuple[str, ...] = ()
    spf: str = "PASS"
    dkim: str = "PASS"
    dmarc: str = "PASS"
    spam: str = "PASS"
    virus: str = "PASS"
    source: str = ""  # the envelope sender (MAIL FROM) SES saw, ``mail.source``: what SPF checked

    def proves(self, from_address: str) -> bool:
        """Whether the From address is proven: DMARC passed (SPF or DKIM aligned with the From's domain), or,
        for a domain that publishes no DMARC, SPF passed for an envelope sender of the From's own domain.
        SPF alone proves only the envelope (an attacker's own domain passes it) and DKIM alone may sign
        another domain; any FAIL proves nothing."""
        if "FAIL" in (self.spf, self.dkim, self.dmarc):
            return False
        if self.dmarc == "PASS":
            return True
        domain = from_address.rpartition("@")[2].lower()
        return self.spf == "PASS" and bool(domain) and self.source.rpartition("@")[2].lower() == domain

    @property
    def suspicious(self) -> bool:
        return "FAIL" in (self.spam, self.virus)

    def verdicts(self) -> dict[str, str]:
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc, "spam": self.spam, "virus": self.virus,
                "source": self.source}


@dataclass(frozen=True)
class Outcome:
    outcome: str  # filed | opened | quarantined | ignored | duplicate
    ticket_id: str | None = None
    reason: str | None = None
    acknowledged: bool = False


@dataclass
class Mailroom:
    repos: Repositories
    clock: Clock
    policy: TicketPolicy
    store: Files
    support_domain: str


def email_key(parsed: ParsedEmail, receipt: Receipt) -> str:
    identity = parsed.message_id or f"ses:{receipt.ses_message_id}"
    return hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()


def receive(room: Mailroom, receipt: Receipt, parsed: ParsedEmail, *, release: bool = False,
            known: InboundEmail | None = None) -> Outcome:
    """File one received email; the same email again is ``duplicate`` and changes nothing. ``known``: its
    record, when the caller read it already (a release); it is updated in place."""
    repos, now = room.repos, room.clock.now()
    key = email_key(parsed, receipt)
    found = known if known is not None and known.email_key == key else repos.tickets.find_inbound(key)
    if found is not None and not (release and found.outcome == "quarantined"):
        return Outcome("duplicate", found.ticket_id, found.outcome)
    record = found or InboundEmail(
        *InboundEmail.key(key), email_key=key, message_id=parsed.message_id, ses_message_id=receipt.ses_message_id,
        raw_key=receipt.raw_key, sender=parsed.from_address, subject=parsed.subject[:300] or "(sin asunto)",
        received_at=to_storage(now), outcome="pending", verdicts=receipt.verdicts())
    record.gsi1pk = record.gsi1sk = None

    ignored = _ignored_because(room, parsed)
    if ignored:
        return _only_record(record, "ignored", ignored, found is None)
    if receipt.suspicious and not release:
        record.gsi1pk, record.gsi1sk = "INBOUND#quarantined", f"{record.received_at}#{key}"
        return _only_record(record, "quarantined", "spam" if receipt.spam == "FAIL" else "virus", found is None)

    sender = who_is(parsed.from_address)
    authentic = receipt.proves(parsed.from_address) and not parsed.ambiguous_from
    claimed = _referenced_ticket(room, parsed, receipt)
    if claimed is not None and authentic and _may_post(claimed, sender):
        return _into_ticket(room, record, receipt, parsed, sender, claimed, now, found is None)
    if parsed.auto_submitted:  # an auto-reply of nobody who may write there opens nothing
        return _only_record(record, "ignored", "auto_submitted", found is None)
    if claimed is not None:
        reason = "unverified_sender" if authentic else "failed_authentication"
        return _open(room, record, receipt, parsed, sender, now, found is None, authentic, claimed=claimed,
                     reason=reason)
    return _open(room, record, receipt, parsed, sender, now, found is None, authentic,
                 reason=None if authentic else "failed_authentication")


def record_unreadable(room: Mailroom, receipt: Receipt, reason: str) -> Outcome:
    """What SES delivered is not an email we can read (no sender, no headers): recorded once, filed nowhere;
    staff find it by its SES id and the raw message stays in S3."""
    key = hashlib.sha256(f"ses:{receipt.ses_message_id}".encode()).hexdigest()
    if room.repos.tickets.find_inbound(key) is not None:
        return Outcome("duplicate", None, "malformed")
    record = InboundEmail(*InboundEmail.key(key), email_key=key, ses_message_id=receipt.ses_message_id,
                          raw_key=receipt.raw_key, sender="", subject="(ilegible)",
                          received_at=to_storage(room.clock.now()), outcome="pending", verdicts=receipt.verdicts())
    return _only_record(record, "ignored", f"malformed: {reason}"[:200], True)


def _ignored_because(room: Mailroom, parsed: ParsedEmail) -> str | None:
    domain = room.support_domain.lower()
    ours = OUR_MESSAGE_ID.fullmatch(parsed.message_id or "")
    if ours and ours.group(2).lower() == domain:
        return "own_message"  # one of ours came back (a forwarder, a loop): never answered
    if parsed.from_address.rpartition("@")[2] == domain:
        return "own_domain"
    if parsed.from_mailer_daemon:
        return "bounce"  # SES's bounce notifications say which address failed; a DSN is not a ticket
    return None


def _only_record(record: InboundEmail, outcome: str, reason: str, new: bool) -> Outcome:
    record.outcome, record.reason = outcome, reason
    uow = UnitOfWork()
    if new:
        uow.create(record)
    else:
        uow.save(record)
    uow.commit()
    return Outcome(outcome, None, reason)


def _referenced_ticket(room: Mailroom, parsed: ParsedEmail, receipt: Receipt) -> Ticket | None:
    """The ticket the email answers (the first reference that names one of ours), merges followed."""
    domain = room.support_domain.lower()
    candidates: list[str] = []
    for value in (*parsed.in_reply_to, *reversed(parsed.references)):
        match = OUR_MESSAGE_ID.fullmatch(value)
        if match and match.group(2).lower() == domain:
            candidates.append(match.group(1).upper())
    for address in (*receipt.recipients, *parsed.recipients):
        local, _, at = address.lower().rpartition("@")
        box, plus, tag = local.partition("+")
        if at == domain and box == MAILBOX and plus:
            candidates.append(tag.upper())
    candidates += [m.upper() for m in SUBJECT_TOKEN.findall(parsed.subject)]
    for ticket_id in dict.fromkeys(candidates):
        if not is_valid_id(ticket_id):
            continue
        ticket = _get(room, ticket_id)
        hops = 0
        while ticket is not None and ticket.merged_into and hops < 3:
            ticket, hops = _get(room, ticket.merged_into), hops + 1
        if ticket is not None:
            return ticket
    return None


def _get(room: Mailroom, ticket_id: str) -> Ticket | None:
    found = batch_get([Ticket.key(ticket_id)]).get(Ticket.key(ticket_id))
    return found if isinstance(found, Ticket) else None


def _may_post(ticket: Ticket, sender: Sender) -> bool:
    address = sender.address
    if ticket.client_id is None:
        return address in {ticket.guest_email, ticket.requester_email}
    if ticket.requester_email == address and sender.client is None and ticket.opened_by_role == "guest":
        return True  # a guest's ticket staff moved to an account: its guest still answers it
    return sender.may_see_tickets_of(ticket.client_id)  # a removed contact, an old address: no longer


def _body(parsed: ParsedEmail) -> str:
    text = (parsed.reply or parsed.text or "").strip()
    if not text:
        text = "(El correo no tenía texto.)"
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n[…] El correo sigue en el original."
    return text


def _store_attachments(room: Mailroom, ticket_id: str, parsed: ParsedEmail, now: datetime) -> list[Attachment]:
    from tickets.attachments import object_prefix

    stored = []
    for attachment in parsed.attachments:
        attachment_id = id_at(now)
        key = object_prefix(ticket_id, attachment_id) + attachment.filename
        room.store.s3.put_object(Bucket=room.store.bucket, Key=key, Body=attachment.content,
                                 ContentType=attachment.content_type)
        stored.append(Attachment(attachment_id=attachment_id, filename=attachment.filename,
                                 content_type=attachment.content_type, size=len(attachment.content), key=key))
    return stored


def _refused_note(parsed: ParsedEmail) -> str | None:
    if not parsed.refused_attachments:
        return None
    reasons = {"too_large": "supera 10 MB", "type_not_allowed": "tipo no aceptado", "too_many": "demasiados adjuntos"}
    listed = ", ".join(f"{name} ({reasons.get(why, why)})" for name, why in parsed.refused_attachments)
    return f"Adjuntos del correo que no se guardaron: {listed}. Están en el original."


def _into_ticket(room: Mailroom, record: InboundEmail, receipt: Receipt, parsed: ParsedEmail, sender: Sender,
                 ticket: Ticket, now: datetime, new: bool) -> Outcome:
    if parsed.auto_submitted:
        # An out-of-office answering our reply: staff may want to know, the clocks do not move for it.
        uow = UnitOfWork()
        uow.create(system_note(ticket.ticket_id, now, f"Respuesta automática de {sender.address}: "
                                                      f"{parsed.subject}\n\n{_body(parsed)[:2000]}"))
        uow.check(Ticket, *Ticket.key(ticket.ticket_id), Ticket.pk.exists())
        return _commit(uow, record, "filed", ticket.ticket_id, "auto_submitted", new)
    attached = _store_attachments(room, ticket.ticket_id, parsed, now)
    author = f"email:{sender.address}"
    # Long closed, the email opens a follow-up ticket, acknowledged like any ticket opened by email: decided
    # before, since the follow-up's event says so.
    follows = ticket.status == "closed" and now - from_storage(ticket.closed_at) > timedelta(
        days=room.policy.reopen_days)
    counter = rate_limits.RateWindows().counters([("ack", parsed.from_address)], now)[0]
    acknowledged = follows and counter.count < ACKNOWLEDGEMENTS_PER_HOUR
    filed, _, uow = file_client_message(
        room.repos, room.policy, ticket, now, author=author, name=parsed.from_name or sender.address,
        role=sender.role, contact_id=sender.contact.contact_id if sender.contact else None, body=_body(parsed),
        attached=attached, channel="email", email_message_id=parsed.message_id, original_key=receipt.raw_key,
        follow_up_event={"channel": "email", "acknowledge": acknowledged, "requester_email": sender.address})
    refused = _refused_note(parsed)
    if refused:
        uow.create(system_note(filed.ticket_id, now, refused))
    opened = filed is not ticket
    if acknowledged:
        rate_limits.count(uow, counter, ACKNOWLEDGEMENTS_PER_HOUR)
    outcome = _commit(uow, record, "opened" if opened else "filed", filed.ticket_id, None, new)
    return Outcome(outcome.outcome, outcome.ticket_id, None, acknowledged)


def _open(room: Mailroom, record: InboundEmail, receipt: Receipt, parsed: ParsedEmail, sender: Sender,
          now: datetime, new: bool, authentic: bool, *, claimed: Ticket | None = None,
          reason: str | None = None) -> Outcome:
    """A new ticket (outside_tickets): the sender's account's when the email is authentic and the sender may
    open tickets there, else a guest ticket under the sender's address."""
    subject = SUBJECT_TOKEN.sub("", parsed.subject).strip()
    subject = re.sub(r"^((re|rv|fw|fwd|reenviar|respuesta)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    ticket_id = id_at(now)
    attached = _store_attachments(room, ticket_id, parsed, now)
    uow = UnitOfWork()
    # Only a proven sender is answered: an acknowledgement to a forged address would be backscatter.
    acknowledged = authentic and _acknowledge(room, uow, parsed, now)
    arrival = Arrival(sender=sender, trusted=authentic, subject=subject.strip() or "(sin asunto)",
                      body=_body(parsed), channel="email", name=parsed.from_name, attached=tuple(attached),
                      email_message_id=parsed.message_id, original_key=receipt.raw_key)
    ticket, _, _ = outside_tickets.open_ticket(room.repos, room.policy, now, arrival, ticket_id=ticket_id, uow=uow,
                                               acknowledge=acknowledged)
    notes = []
    if claimed is not None:
        ticket.claimed_ticket_id = claimed.ticket_id
        why = ("el remitente no es parte de ese ticket" if reason == "unverified_sender"
               else "el correo no pasó la verificación SPF/DKIM/DMARC")
        clocks.note(ticket, now, "system", "claimed",
                    f"El correo citaba el ticket {claimed.ticket_id}, pero {why}: se abrió este ticket aparte.")
    elif reason == "failed_authentication" and sender.client is not None:
        notes.append(f"El correo dice venir de {sender.address}, cliente, pero no pasó la verificación "
                     "SPF/DKIM/DMARC: se abrió como ticket sin cuenta.")
    refused = _refused_note(parsed)
    for text in [*notes, *([refused] if refused else [])]:
        uow.create(system_note(ticket.ticket_id, now, text))
    outcome = _commit(uow, record, "opened", ticket.ticket_id, reason, new)
    return Outcome(outcome.outcome, ticket.ticket_id, reason, acknowledged)


def _acknowledge(room: Mailroom, uow: UnitOfWork, parsed: ParsedEmail, now: datetime) -> bool:
    """Whether the sender is told the ticket's number (the TICKET_OPENED event carries it): at most
    ACKNOWLEDGEMENTS_PER_HOUR per sender, never to an auto-reply."""
    if parsed.auto_submitted:
        return False
    return rate_limits.RateWindows().take(uow, "ack", parsed.from_address, now, ACKNOWLEDGEMENTS_PER_HOUR)


def _commit(uow: UnitOfWork, record: InboundEmail, outcome: str, ticket_id: str | None, reason: str | None,
            new: bool) -> Outcome:
    record.outcome, record.ticket_id, record.reason = outcome, ticket_id, reason
    if new:
        uow.create(record)  # the same Message-ID filed by a concurrent delivery: the transaction fails whole
    else:
        uow.save(record)
    uow.commit()
    return Outcome(outcome, ticket_id, reason)

