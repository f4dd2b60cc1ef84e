"""Tickets: the help desk's conversations, their SLA clocks and the figures behind the response times (the
provider's closed days are shared.dal.closed_days).

A ticket is one partition: the ticket item (``TICKET``), its messages (``MSG#<id>``, what the client sees)
and staff's internal notes (``NOTE#<id>``, never shown to a client). The detail page is one Query of that
partition. A client's tickets are listed by_owner (``CLIENT#<id>`` / ``TICKET#<id>``); an open ticket's
next SLA step (a warning, a breach, an auto-close) is its entry on the sparse by_due index, which the
one-minute sweep queries (docs/data-model.md).
"""

from datetime import date
from itertools import islice

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.closed_days import ClosedDay, ClosedDays
from shared.dal.table import IntegerAttribute, TableItem, due_partitions, find_item, get_by_id
from shared.ids import is_valid_id

DUE_KIND = "TICKET"


class Pause(MapAttribute):
    """The ticket waited on the client from ``paused_at`` to ``resumed_at`` (None: it still waits)."""

    paused_at = UnicodeAttribute()
    resumed_at = UnicodeAttribute(null=True)


class Deadline(MapAttribute):
    """One SLA clock: what it measures, when it started, the rule it follows and what became of it."""

    kind = UnicodeAttribute()  # first_response | next_response | resolution
    started_at = UnicodeAttribute()
    target_minutes = IntegerAttribute()  # of business time, or of calendar time when around_the_clock
    around_the_clock = BooleanAttribute(default=False)
    due_at = UnicodeAttribute(null=True)  # None while the clock is stopped (waiting on the client)
    warn_at = UnicodeAttribute(null=True)
    warned_at = UnicodeAttribute(null=True)
    breached_at = UnicodeAttribute(null=True)
    met_at = UnicodeAttribute(null=True)


class HistoryEntry(MapAttribute):
    at = UnicodeAttribute()
    by = UnicodeAttribute()  # a subject, or "system" (the sweep)
    what = UnicodeAttribute()  # opened | replied | answered | waiting | reopened | reclassified | priority | …
    detail = UnicodeAttribute(null=True)  # in Spanish, for people


class Attachment(MapAttribute):
    attachment_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = IntegerAttribute()
    key = UnicodeAttribute()  # the S3 object


class Ticket(TableItem, discriminator="Ticket"):
    """status: open (new, waits on staff) | answered | customer_reply (waits on staff again) |
    waiting_on_customer (the clocks stop) | closed."""

    ticket_id = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    guest_email = UnicodeAttribute(null=True)  # sales and pre-sales by email: no account yet
    # Who is answered by email (the copy of each staff reply): the address that opened it, panel or email.
    requester_email = UnicodeAttribute(null=True)
    # An email quoted this ticket but its sender could not be verified as part of it: this new ticket was
    # opened instead, and staff see which one it claimed (the client never does).
    claimed_ticket_id = UnicodeAttribute(null=True)
    opened_by = UnicodeAttribute()  # the subject of who opened it (staff on behalf: staff's)
    opened_by_role = UnicodeAttribute()  # holder | contact | staff | system
    opened_by_contact_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()
    sla_class = UnicodeAttribute()
    priority = UnicodeAttribute()
    requested_priority = UnicodeAttribute()
    plan = UnicodeAttribute()  # the support plan in force when its clocks last started
    contract_around_the_clock = BooleanAttribute(default=False)
    service_id = UnicodeAttribute(null=True)
    production = BooleanAttribute(default=False)  # its service runs production (P1 is possible)
    channel = UnicodeAttribute(default="panel")
    status = UnicodeAttribute(default="open")
    assignee = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    last_client_message_at = UnicodeAttribute()
    last_staff_reply_at = UnicodeAttribute(null=True)
    first_response_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)
    follows_ticket_id = UnicodeAttribute(null=True)  # opened by a reply to this closed ticket
    classification_outcome = UnicodeAttribute(null=True)  # SLA 4's answer: advice | out_of_scope | quote
    upgrade_request_id = UnicodeAttribute(null=True)
    response = Deadline(null=True)  # the response clock while the ticket waits on staff
    resolution = Deadline(null=True)
    pauses = ListAttribute(of=Pause, default=list)
    autoclose_warn_at = UnicodeAttribute(null=True)
    autoclose_at = UnicodeAttribute(null=True)
    autoclose_warned_at = UnicodeAttribute(null=True)
    message_count = IntegerAttribute(default=0)
    history = ListAttribute(of=HistoryEntry, default=list)
    version = VersionAttribute()

    @staticmethod
    def key(ticket_id: str) -> tuple[str, str]:
        return f"TICKET#{ticket_id}", "TICKET"


class TicketMessage(TableItem, discriminator="TicketMessage"):
    ticket_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    author_role = UnicodeAttribute()  # client | staff
    author = UnicodeAttribute()  # the subject
    author_name = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    attachments = ListAttribute(of=Attachment, default=list)
    created_at = UnicodeAttribute()
    channel = UnicodeAttribute(default="panel")  # panel | email | form | chat | phone
    call_minutes = IntegerAttribute(null=True)  # a phone call staff logged: how long it took
    # Email threading: the RFC 5322 Message-ID it arrived with, or the one its email copy went out with.
    email_message_id = UnicodeAttribute(null=True)
    original_key = UnicodeAttribute(null=True)  # the raw email in S3, kept for staff

    @staticmethod
    def key(ticket_id: str, message_id: str) -> tuple[str, str]:
        return f"TICKET#{ticket_id}", f"MSG#{message_id}"


class TicketNote(TableItem, discriminator="TicketNote"):
    """Staff only: never part of a client's answer."""

    ticket_id = UnicodeAttribute()
    note_id = UnicodeAttribute()
    author = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @staticmethod
    def key(ticket_id: str, note_id: str) -> tuple[str, str]:
        return f"TICKET#{ticket_id}", f"NOTE#{note_id}"


class InboundEmail(TableItem, discriminator="InboundEmail"):
    """One received email, by its Message-ID: written in the transaction that files it, so SES's retries of
    the same message (and a copy sent to two of our addresses) are one message. Quarantined ones wait here
    for staff (by_owner ``INBOUND#quarantined``)."""

    email_key = UnicodeAttribute()  # sha256 of the Message-ID (or of SES's id when the mail has none)
    message_id = UnicodeAttribute(null=True)
    ses_message_id = UnicodeAttribute()
    raw_key = UnicodeAttribute()  # s3 key of the raw message
    sender = UnicodeAttribute()
    subject = UnicodeAttribute()
    received_at = UnicodeAttribute()
    # filed (into ticket_id) | quarantined | released | ignored (a loop, a bounce, an auto-reply with nothing to file)
    outcome = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    ticket_id = UnicodeAttribute(null=True)
    verdicts = MapAttribute(of=UnicodeAttribute, default=dict)  # spf, dkim, dmarc, spam, virus
    version = VersionAttribute()

    @staticmethod
    def key(email_key: str) -> tuple[str, str]:
        return f"INBOUND#{email_key}", "INBOUND"


class ChatTranscript(TableItem, discriminator="ChatTranscript"):
    """A chat provider's finished conversation, filed once as a ticket: written in the ticket's transaction,
    so the provider's retries (Tawk.to's for 12 hours, the same X-Hook-Event-Id) file nothing twice."""

    provider = UnicodeAttribute()  # tawkto
    chat_id = UnicodeAttribute()
    event_id = UnicodeAttribute(null=True)
    ticket_id = UnicodeAttribute()
    received_at = UnicodeAttribute()

    @staticmethod
    def key(provider: str, chat_id: str) -> tuple[str, str]:
        return f"CHAT#{provider}#{chat_id}", "CHAT"


class PhoneEntry(TableItem, discriminator="PhoneEntry"):
    """One person with this phone (a number may be shared: a family's, an office's): who a WhatsApp message is
    from. Kept by the tickets worker from the accounts' events (functions/tickets/phonebook.py)."""

    phone = UnicodeAttribute()  # E.164
    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)  # none: the holder

    @staticmethod
    def key(phone: str, client_id: str, contact_id: str | None) -> tuple[str, str]:
        return f"PHONEBOOK#{phone}", f"PERSON#{client_id}#{contact_id or 'holder'}"


class PersonPhone(TableItem, discriminator="PersonPhone"):
    """The phone a person's PhoneEntry is under, so a changed or removed number's entry is found and deleted."""

    phone = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str | None) -> tuple[str, str]:
        return f"PHONEBOOK#PERSON#{client_id}#{contact_id or 'holder'}", "PHONE"


class WhatsAppThread(TableItem, discriminator="WhatsAppThread"):
    """One phone's WhatsApp conversation with support: the ticket it goes into, when the person last wrote (the
    Cloud API's 24-hour window for free-form answers), and the last messages filed (a redelivered event files
    nothing twice)."""

    phone = UnicodeAttribute()
    ticket_id = UnicodeAttribute(null=True)
    last_inbound_at = UnicodeAttribute(null=True)
    filed = ListAttribute(of=UnicodeAttribute, default=list)  # the last wamids, newest last (at most 50)
    auto_replied_on = UnicodeAttribute(null=True)  # local date of the last automatic answer (one a day)
    version = VersionAttribute()

    @staticmethod
    def key(phone: str) -> tuple[str, str]:
        return f"WATHREAD#{phone}", "THREAD"


class TelegramChat(TableItem, discriminator="TelegramChat"):
    """One Telegram user's private chat with our bot (a private chat's id is the user's id): the person of an
    account it is linked to (none: a stranger, told once a day how to link), the ticket its messages go into,
    and the last messages filed (a redelivered event files nothing twice). Telegram has no answering window:
    staff's replies go back whenever they are written, unless the person blocked the bot."""

    user_id = UnicodeAttribute()  # Telegram's numeric id, as text
    client_id = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)  # none with a client: the holder
    username = UnicodeAttribute(null=True)
    linked_at = UnicodeAttribute(null=True)
    ticket_id = UnicodeAttribute(null=True)
    last_inbound_at = UnicodeAttribute(null=True)
    filed = ListAttribute(of=UnicodeAttribute, default=list)  # the last update ids, newest last (at most 50)
    auto_replied_on = UnicodeAttribute(null=True)  # local date of the last automatic answer (one a day)
    failed_codes = IntegerAttribute(default=0)  # wrong link codes on codes_tried_on: after a few, none is tried
    codes_tried_on = UnicodeAttribute(null=True)  # local date
    blocked_at = UnicodeAttribute(null=True)  # the bot was blocked: nothing more is sent until they write again
    version = VersionAttribute()

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"TGCHAT#{user_id}", "CHAT"


class TelegramPerson(TableItem, discriminator="TelegramPerson"):
    """A person's Telegram: the user linked to them, or the one-time code they were given to link one."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    linked_at = UnicodeAttribute(null=True)
    pending_code = UnicodeAttribute(null=True)
    code_expires_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str | None) -> tuple[str, str]:
        return f"TGPERSON#{client_id}#{contact_id or 'holder'}", "TELEGRAM"


class TelegramLinkCode(TableItem, discriminator="TelegramLinkCode"):
    """A one-time code the panel gave a person: sent to the bot (``/start <code>``), it links that Telegram user
    to them. Deleted when used or replaced; expires (TTL) otherwise."""

    code = UnicodeAttribute()
    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    valid_until = UnicodeAttribute()

    @staticmethod
    def key(code: str) -> tuple[str, str]:
        return f"TGCODE#{code}", "CODE"


class TelegramUpdate(TableItem, discriminator="TelegramUpdate"):
    """An update the bot's webhook received, by ``update_id``: written with its event, so Telegram's redeliveries
    (it retries until a 2xx) are one message. Kept a week (TTL): Telegram gives up on an update within a day."""

    update_id = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()

    @staticmethod
    def key(update_id: str) -> tuple[str, str]:
        return f"TGUPDATE#{update_id}", "UPDATE"


class TelegramSent(TableItem, discriminator="TelegramSent"):
    """One message the bot sends for one cause (a staff reply's event, an update answered): claimed before the
    Bot API is called, so a redelivered event sends nothing twice."""

    cause = UnicodeAttribute()
    chat_id = UnicodeAttribute()
    status = UnicodeAttribute()  # sending | sent | failed
    telegram_message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(cause: str, chat_id: str) -> tuple[str, str]:
        return f"TGSENT#{cause}#{chat_id}", "SENT"


class TicketFigure(TableItem, discriminator="TicketFigure"):
    """One measured fact for the reports: a first response (its business minutes, within the SLA or not) or a
    breach. Kept by local month, so a date range is one Query a month."""

    figure = UnicodeAttribute()  # first_response | breach
    ticket_id = UnicodeAttribute()
    at = UnicodeAttribute()
    plan = UnicodeAttribute()
    sla_class = UnicodeAttribute()
    deadline = UnicodeAttribute(null=True)  # breach: first_response | next_response | resolution
    business_minutes = IntegerAttribute(null=True)
    within_sla = BooleanAttribute(null=True)

    @staticmethod
    def key(month: str, at: str, ticket_id: str, what: str) -> tuple[str, str]:
        return f"TICKETFIGURES#{month}", f"{at}#{ticket_id}#{what}"


class Tickets:
    def get_ticket(self, ticket_id: str, *, consistent: bool = True) -> Ticket:
        return get_by_id(Ticket, ticket_id, consistent=consistent)

    def conversation(self, ticket_id: str) -> tuple[Ticket | None, list[TicketMessage], list[TicketNote]]:
        """The ticket with its messages and notes, oldest first: one Query of its partition."""
        if not is_valid_id(ticket_id):
            return None, [], []
        items = list(TableItem.query(Ticket.key(ticket_id)[0], consistent_read=True))
        ticket = next((i for i in items if isinstance(i, Ticket)), None)
        return (ticket, [i for i in items if isinstance(i, TicketMessage)],
                [i for i in items if isinstance(i, TicketNote)])

    def tickets_of(self, client_id: str, status: str | None = None, *, limit: int | None = None,
                   before: str | None = None) -> list[Ticket]:
        """A client's tickets, newest first (by_owner; a status filter in the same Query). ``before`` is a
        ticket id: the page after it (ids sort by time, so the id is the cursor)."""
        if not is_valid_id(client_id) or (before is not None and not is_valid_id(before)):
            return []
        condition = Ticket.status == status if status else None
        key = (Ticket.gsi1sk.between("TICKET#", f"TICKET#{before}") if before
               else Ticket.gsi1sk.startswith("TICKET#"))
        found = Ticket.by_owner.query(f"CLIENT#{client_id}", key, filter_condition=condition,
                                      scan_index_forward=False, page_size=limit + 1 if limit else None)
        page = (t for t in found if t.ticket_id != before)  # between is inclusive: the cursor itself is not news
        return list(islice(page, limit)) if limit else list(page)

    def due_before(self, at: str) -> list[Ticket]:
        """The open tickets whose next SLA step is due by ``at`` (the sparse by_due index, every shard)."""
        found: list[Ticket] = []
        for partition in due_partitions(DUE_KIND):
            found.extend(Ticket.by_due.query(partition, Ticket.due_sk <= f"{at}#~"))
        return found

    def open_tickets(self) -> list[Ticket]:
        """Every ticket not closed: each has an entry on by_due (its next step), so the staff queue reads the
        index, not the table."""
        found: list[Ticket] = []
        for partition in due_partitions(DUE_KIND):
            found.extend(Ticket.by_due.query(partition))
        return found

    def find_inbound(self, email_key: str) -> InboundEmail | None:
        try:
            return InboundEmail.get(*InboundEmail.key(email_key), consistent_read=True)
        except DoesNotExist:
            return None

    def quarantined(self, limit: int = 100) -> list[InboundEmail]:
        """Emails held for staff (spam or virus verdicts), newest first (by_owner)."""
        return list(islice(InboundEmail.by_owner.query("INBOUND#quarantined", scan_index_forward=False), limit))

    def whatsapp_thread(self, phone: str) -> WhatsAppThread | None:
        try:
            return WhatsAppThread.get(*WhatsAppThread.key(phone), consistent_read=True)
        except DoesNotExist:
            return None

    def people_with_phone(self, phone: str) -> list[PhoneEntry]:
        return list(PhoneEntry.query(f"PHONEBOOK#{phone}", PhoneEntry.sk.startswith("PERSON#")))

    def phone_of_person(self, client_id: str, contact_id: str | None) -> PersonPhone | None:
        try:
            return PersonPhone.get(*PersonPhone.key(client_id, contact_id), consistent_read=True)
        except DoesNotExist:
            return None

    def chat_transcript(self, provider: str, chat_id: str) -> ChatTranscript | None:
        try:
            return ChatTranscript.get(*ChatTranscript.key(provider, chat_id), consistent_read=True)
        except DoesNotExist:
            return None

    def telegram_chat(self, user_id: str) -> TelegramChat | None:
        return find_item(TelegramChat, TelegramChat.key(user_id))

    def telegram_person(self, client_id: str, contact_id: str | None) -> TelegramPerson | None:
        return find_item(TelegramPerson, TelegramPerson.key(client_id, contact_id))

    def telegram_code(self, code: str) -> TelegramLinkCode | None:
        return find_item(TelegramLinkCode, TelegramLinkCode.key(code))

    def telegram_sent(self, cause: str, chat_id: str) -> TelegramSent | None:
        return find_item(TelegramSent, TelegramSent.key(cause, chat_id))

    def closed_days(self) -> list[ClosedDay]:
        return ClosedDays().listed()

    def closed_day_set(self) -> frozenset[date]:
        return ClosedDays().day_set()

    def figures(self, month: str, start: str, end: str) -> list[TicketFigure]:
        return list(TicketFigure.query(f"TICKETFIGURES#{month}", TicketFigure.sk.between(start, f"{end}~")))
