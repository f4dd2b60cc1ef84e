"""Telegram conversations become tickets, for the accounts whose support plan includes Telegram (shared.sla
PLAN_CHANNELS: Full).

Telegram tells us a user's id, never their phone or email, so a person links their Telegram from the panel
(tickets.telegram_links): a one-time code, sent to the bot as ``/start <code>`` (the panel's t.me deep link
does it for them). A message (``telegram.message_received``, recorded by the bot's webhook) is then filed
for that person: into the chat's current ticket, or a new ticket of the account, with photos and documents
kept as attachments. A chat that is no one's, or whose account's plan has no Telegram, is told once a day
what to do instead; wrong codes are counted (a few a day, then the bot stops trying them).

Everything the bot says is a ``telegram.reply_requested`` event (or, for staff's replies, the
``ticket.answered`` event itself) sent once per cause (TelegramSent, claimed before the Bot API is called).
Telegram has no answering window: staff's reply goes back whenever it is written, unless the person
blocked the bot (recorded; nothing more is sent until they write again).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from tickets import chat_apps
from tickets.chat_apps import Contacts, answered_today
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender
from tickets.plans import plan_in_force
from tickets.records import Repositories
from tickets.telegram_bot import BotApi, BotApiFailed
from tickets.telegram_links import link_code_of

from shared.calendar import local_date
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.table import batch_get, save_one
from shared.dal.tickets import TelegramChat, TelegramPerson, TelegramSent
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event
from shared.ids import id_at
from shared.sla import includes

KEPT_IDS = 50
MAX_WRONG_CODES = 5  # a local day, per Telegram user: 30^8 codes make guessing hopeless at this pace
# Longer than the worker's 60 s timeout (a claim older than this belongs to a run that died), shorter than the
# queue's 6-minute visibility (the event comes back after it and finds the claim stale).
CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_REPLY = 3800  # of Telegram's 4096 characters, room for the signature and the link to the rest
SIGNATURE = "— Soporte Paneldecliente"


class RetryLater(Exception):
    """Telegram could not take the message now (throttled, down, the token refused), or another run is sending it:
    the event comes back."""


def _reply(chat_id: str, text: str, cause: str, now: datetime):
    return new_event(EventType.TELEGRAM_REPLY_REQUESTED, client_id=None, occurred_at=now,
                     payload={"chat_id": chat_id, "text": text, "cause": cause})


def _person(client_id: str, contact_id: str | None) -> tuple[Client | None, Contact | None]:
    keys = [Client.key(client_id)] + ([Contact.key(client_id, contact_id)] if contact_id else [])
    found = batch_get(keys, consistent=True)
    client = found.get(Client.key(client_id))
    contact = found.get(Contact.key(client_id, contact_id)) if contact_id else None
    return (client if isinstance(client, Client) else None), (contact if isinstance(contact, Contact) else None)


def _link(repos: Repositories, chat: TelegramChat, code: str, payload: dict, now: datetime, cause: str) -> str:
    today = local_date(now).isoformat()
    tried_today = chat.failed_codes if chat.codes_tried_on == today else 0
    if tried_today >= MAX_WRONG_CODES:
        return _seen(chat, "link:too_many_codes")  # silent: answering would help whoever is guessing
    record = repos.tickets.telegram_code(code)
    client, contact = _person(record.client_id, record.contact_id) if record else (None, None)
    valid = record is not None and from_storage(record.valid_until) > now and client is not None and (
        record.contact_id is None or contact is not None)
    uow = UnitOfWork()
    if not valid:
        chat.failed_codes, chat.codes_tried_on = tried_today + 1, today
        uow.save(chat)
        uow.emit([_reply(chat.user_id, "Ese código no es válido o ya venció. Genere uno nuevo en Paneldecliente → "
                                       "Soporte → Telegram y envíelo aquí.", cause, now)])
        uow.commit()
        return "link:invalid_code"
    person = repos.tickets.telegram_person(record.client_id, record.contact_id) or TelegramPerson(
        *TelegramPerson.key(record.client_id, record.contact_id), client_id=record.client_id,
        contact_id=record.contact_id)
    if person.user_id and person.user_id != chat.user_id:  # the person's previous Telegram is let go
        previous = repos.tickets.telegram_chat(person.user_id)
        if previous is not None and previous.client_id == record.client_id \
                and previous.contact_id == record.contact_id:
            previous.client_id = previous.contact_id = previous.linked_at = previous.ticket_id = None
            uow.save(previous)
    if chat.client_id and (chat.client_id, chat.contact_id) != (record.client_id, record.contact_id):
        other = repos.tickets.telegram_person(chat.client_id, chat.contact_id)  # this Telegram was someone else's
        if other is not None and other.user_id == chat.user_id:
            other.user_id = other.username = other.linked_at = None
            uow.save(other)
        chat.ticket_id = None
    stamp = to_storage(now)
    chat.client_id, chat.contact_id, chat.linked_at = record.client_id, record.contact_id, stamp
    chat.username, chat.failed_codes, chat.blocked_at = payload.get("username"), 0, None
    person.user_id, person.username, person.linked_at = chat.user_id, payload.get("username"), stamp
    person.pending_code = person.code_expires_at = None
    name = (contact or client).name
    uow.save(chat)
    uow.save(person)
    uow.delete(record)
    uow.emit([_reply(chat.user_id, f"Listo, {name}: su Telegram quedó vinculado a su cuenta de Paneldecliente. "
                                   "Escríbanos por aquí y lo atendemos como un ticket.", cause, now)])
    uow.commit()
    return "linked"


def _seen(chat: TelegramChat, outcome: str) -> str:
    """An update that needs nothing more is still recorded as handled, so that its redelivery, however late
    (after the chat was linked, say), is not filed."""
    save_one(chat)  # version-checked: a concurrent update of the chat makes this one come again
    return outcome


def _tell(chat: TelegramChat, why: str, where: Contacts, now: datetime, cause: str) -> str:
    """Once a local day per chat: what to do instead."""
    if answered_today(chat.auto_replied_on, now):
        return _seen(chat, why)
    reason = {"not_in_plan": "La atención por Telegram está incluida en el plan de soporte Full.",
              "not_allowed": "Su usuario de la cuenta no tiene permiso para abrir tickets.",
              "command": "Su Telegram ya está vinculado: escriba su consulta en un mensaje y la atendemos como un "
                         "ticket."}.get(
        why, "Este Telegram no está vinculado a una cuenta de Paneldecliente: vincúlelo desde Paneldecliente → "
             "Soporte → Telegram.")
    chat.auto_replied_on = local_date(now).isoformat()
    uow = UnitOfWork()
    uow.save(chat)  # version-checked: two messages at once answer once
    uow.emit([_reply(chat.user_id, f"Hola, recibimos su mensaje. {reason} También puede abrir un ticket en "
                                   f"{where.tickets_page} o escribirnos a {where.support_address}.", cause, now)])
    uow.commit()
    return f"{why}:answered"


OTHER_MEDIA_ES = {"voice": "una nota de voz", "audio": "un audio", "video": "un video",
                  "video_note": "un video", "sticker": "un sticker", "animation": "una animación"}


def _body(payload: dict, kept: bool, why_not: str | None) -> str:
    text = str(payload.get("text") or "").strip()
    other = OTHER_MEDIA_ES.get(str(payload.get("other_media") or ""))
    if other:  # not a type the panel keeps: not fetched at all
        text = (text + "\n\n" if text else "") + f"[El cliente envió {other}: se ve en Telegram.]"
    media = payload.get("media") if isinstance(payload.get("media"), dict) else None
    if media:
        named = "una foto" if media.get("kind") == "photo" else (
            f"un documento ({media['file_name']})" if media.get("file_name") else "un documento")
        if kept:
            return text or f"[El cliente envió {named}: está adjunto.]"
        text = (text + "\n\n" if text else "") + f"[El cliente envió {named}: no se pudo guardar ({why_not}).]"
    return text or "[Mensaje de Telegram sin texto.]"


def file(repos: Repositories, policy: TicketPolicy, now: datetime, envelope: dict, where: Contacts,
         shelf: chat_apps.MediaShelf | None = None) -> str:
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    update_id, user_id = str(payload.get("update_id") or ""), str(payload.get("user_id") or "")
    if not update_id.isdigit() or not user_id.isdigit() or payload.get("chat_id") != user_id:
        return "ignored"  # only private chats are recorded: their id is the user's
    cause = f"update-{update_id}"
    chat = repos.tickets.telegram_chat(user_id) or TelegramChat(*TelegramChat.key(user_id), user_id=user_id)
    if update_id in (chat.filed or []):
        return "duplicate"
    chat.filed = [*(chat.filed or []), update_id][-KEPT_IDS:]
    chat.last_inbound_at, chat.blocked_at = to_storage(now), None  # whoever writes has not blocked the bot
    text = str(payload.get("text") or "").strip()
    code = link_code_of(text) if not payload.get("media") else None
    if code is not None and (chat.client_id is None or text.startswith("/")):
        return _link(repos, chat, code, payload, now, cause)
    if chat.client_id is None:
        return _tell(chat, "unknown", where, now, cause)
    if text.startswith("/") and not payload.get("media"):  # /start again, /help: a command, not a question
        return _tell(chat, "command", where, now, cause)
    client, contact = _person(chat.client_id, chat.contact_id)
    if client is None or (chat.contact_id and contact is None):  # the contact was removed: the link goes with it
        chat.client_id = chat.contact_id = chat.linked_at = chat.ticket_id = None
        return _tell(chat, "unknown", where, now, cause)
    if not includes(plan_in_force(repos.services, client.client_id), "telegram"):
        return _tell(chat, "not_in_plan", where, now, cause)
    person = contact or client
    if not Sender(person.email, client, contact).may_see_tickets_of(client.client_id):
        return _tell(chat, "not_allowed", where, now, cause)
    current = chat_apps.current_ticket(chat.ticket_id, client.client_id)
    ticket_id = current.ticket_id if current else id_at(now)
    attached, why_not = chat_apps.attach(shelf, payload.get("media"), ticket_id, now)
    name = str(payload.get("name") or "") or person.name
    ticket, outcome, uow = chat_apps.file_for_person(
        repos, policy, now, client=client, person=person, current=current, channel="telegram",
        author=f"telegram:{user_id}", name=name, body=_body(payload, bool(attached), why_not), attached=attached,
        ticket_id=ticket_id)
    chat.ticket_id, chat.last_inbound_at, chat.blocked_at = ticket.ticket_id, to_storage(now), None
    uow.save(chat)  # version-checked: two messages of one chat at once are filed one after the other
    uow.commit()
    return outcome


def answer(repos: Repositories, clock: Clock, bot: Callable[[], BotApi], envelope: dict, panel_url: str) -> str:
    """``ticket.answered`` on a ticket opened by Telegram: staff's reply back to that chat, once."""
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    ticket, messages, _ = repos.tickets.conversation(str(payload.get("ticket_id") or ""))
    if ticket is None or not (ticket.opened_by or "").startswith("telegram:"):
        return "not_telegram"
    message = next((m for m in messages if m.message_id == payload.get("message_id")), None)
    chat = repos.tickets.telegram_chat(ticket.opened_by.removeprefix("telegram:"))
    if message is None or chat is None:
        return "ignored"
    if chat.client_id is None or chat.client_id != ticket.client_id:
        return "unlinked"  # the Telegram is no longer this account's: the email copy and the panel tell them
    client, contact = _person(chat.client_id, chat.contact_id)
    if client is None or (chat.contact_id and contact is None) or not Sender(
            (contact or client).email, client, contact).may_see_tickets_of(ticket.client_id):
        return "not_allowed"  # a removed contact, or one without `tickets` now, reads no answer of the account
    return send_once(repos, clock, bot, chat, reply_text(message.body, ticket.ticket_id, panel_url), envelope["id"])


def reply_text(body: str, ticket_id: str, panel_url: str) -> str:
    """Staff's reply as one Telegram message: a reply longer than a message ends with where to read the rest."""
    if len(body) > MAX_REPLY:
        body = body[:MAX_REPLY].rstrip() + f"… (sigue en {panel_url.rstrip('/')}/tickets/{ticket_id})"
    return f"{body}\n\n{SIGNATURE} (ticket {ticket_id})"


def send_requested(repos: Repositories, clock: Clock, bot: Callable[[], BotApi], envelope: dict) -> str:
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    chat_id, text, cause = (str(payload.get(k) or "") for k in ("chat_id", "text", "cause"))
    if not chat_id.isdigit() or not text.strip() or not cause:
        return "ignored"
    chat = repos.tickets.telegram_chat(chat_id) or TelegramChat(*TelegramChat.key(chat_id), user_id=chat_id)
    return send_once(repos, clock, bot, chat, text, cause)


def send_once(repos: Repositories, clock: Clock, bot: Callable[[], BotApi], chat: TelegramChat, text: str,
              cause: str) -> str:
    """One message to the chat for this cause: "sent", "failed", "blocked" or "done" (sent, or being sent, by
    an earlier delivery). RetryLater: nothing went out, the event is to come again."""
    now = clock.now()
    if chat.blocked_at and (not chat.last_inbound_at or chat.last_inbound_at < chat.blocked_at):
        return "blocked"
    try:
        api = bot()  # configuration first: a missing token must not cost a claim
    except BotApiFailed as failure:
        raise RetryLater(str(failure)) from None
    record = TelegramSent(*TelegramSent.key(cause, chat.user_id), cause=cause, chat_id=chat.user_id,
                          status="sending", sent_at=to_storage(now), expires_at=now + timedelta(days=30))
    claimed = _claim(repos, record, now)
    if claimed == "in_flight":  # another run is at it (or died at it): look again when the event comes back
        raise RetryLater("otro envío del mismo mensaje está en curso")
    if claimed != "claimed":
        return "done"
    outcome = "sent"
    try:
        record.telegram_message_id = api.send_message(chat.user_id, text)
        record.status = "sent"
    except BotApiFailed as failure:
        if failure.retryable:
            try:
                record.delete()  # the claim given back (version-checked: it is still ours)
            except Exception:  # noqa: BLE001, S110 - left as it is, it goes stale and is marked failed, never sent twice
                pass
            raise RetryLater(str(failure)) from None
        record.status, record.error = "failed", f"{failure.kind}: {failure.reason}"[:300]
        outcome = "blocked" if failure.kind == "blocked" else "failed"
        if failure.kind == "blocked":
            _mark_blocked(repos, chat.user_id, now)
    save_one(record)  # ours (version-checked); a failure here leaves the claim, marked failed after its timeout
    return outcome


def _claim(repos: Repositories, record: TelegramSent, now: datetime) -> str:
    """"claimed", "in_flight" (a claim younger than CLAIM_TIMEOUT) or "done" (sent, failed, or a stale claim now
    marked failed: a run died mid-call, the message may have gone out, and a second copy is worse than none)."""
    try:
        save_one(record, TelegramSent.pk.does_not_exist())
        return "claimed"
    except ConcurrentModification:
        pass
    found = repos.tickets.telegram_sent(record.cause, record.chat_id)
    if found is None or found.status != "sending":
        return "done"
    if from_storage(found.sent_at) > now - CLAIM_TIMEOUT:
        return "in_flight"
    found.status, found.error = "failed", "Envío interrumpido: no se sabe si salió; no se reintenta."
    try:
        save_one(found)
    except ConcurrentModification:
        pass
    return "done"


def _mark_blocked(repos: Repositories, user_id: str, now: datetime) -> None:
    chat = repos.tickets.telegram_chat(user_id)
    if chat is None:
        return
    chat.blocked_at = to_storage(now)
    try:
        save_one(chat)
    except ConcurrentModification:
        pass  # a message from them just came in: they are reachable again
