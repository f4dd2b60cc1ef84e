"""A person links their Telegram from the panel (holder, or a contact with ``tickets``: the channel opens tickets):

- ``POST /me/telegram-link``: a one-time code of 8 characters (no 0/O, 1/I/L, U: it can be read aloud and
  typed), valid for 15 minutes, with the deep link ``https://t.me/<bot>?start=<code>`` that sends it to the
  bot in one tap. A new code replaces the one before. Without Telegram in the account's plan, 409
  ``channel_not_in_plan`` names the plan that has it.
- ``GET /me/telegram-link``: whether a Telegram is linked (its @username), a code is pending, the plan has it.
- ``DELETE /me/telegram-link``: unlinks it (and drops a pending code); nothing linked is not an error. Any person
  of the account, with or without ``tickets`` (one who lost it may still let go of their Telegram).

The bot's side (a code received) is tickets.telegram_tickets.
"""

import secrets
from datetime import datetime, timedelta

from tickets.client_schemas import TelegramLinkOut
from tickets.phone_support import PLAN_LABELS_ES, ChannelNotInPlan
from tickets.plans import plan_in_force
from tickets.records import Repositories

from shared.auth import ContactRevoked, Identity, Permission, authorize, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.dal.tickets import TelegramLinkCode, TelegramPerson
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.sla import SupportPlan, includes, plan_with

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U: read aloud and typed without doubt
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=15)


class CodeTaken(Conflict):
    code = "code_taken"


def link_code_of(text: str) -> str | None:
    """``/start ABCD2345`` (what a t.me/<bot>?start=<code> link sends) or the code typed alone, in any case."""
    words = text.strip().split()
    if words and words[0].split("@")[0].lower() == "/start":
        words = words[1:]
    if len(words) != 1:
        return None
    code = words[0].upper()
    return code if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code) else None


def _person_of(repos: Repositories, identity: Identity) -> tuple[str, str | None]:
    client_id = require_account(identity)
    authorize(identity, client_id, Permission.TICKETS, repos.accounts.contact_permissions)
    return client_id, identity.contact_id


def _out(repos: Repositories, client_id: str, person: TelegramPerson | None, now: datetime, bot_username: str,
         code: str | None = None, plan: SupportPlan | None = None) -> TelegramLinkOut:
    plan = plan or plan_in_force(repos.services, client_id)
    pending = person is not None and person.pending_code and from_storage(person.code_expires_at) > now
    return TelegramLinkOut(
        linked=bool(person and person.user_id), username=person.username if person and person.user_id else None,
        linked_at=from_storage(person.linked_at) if person and person.linked_at else None,
        code=code, link=f"https://t.me/{bot_username}?start={code}" if code and bot_username else None,
        code_expires_at=from_storage(person.code_expires_at) if pending else None,
        included=includes(plan, "telegram"),
        plan_needed=None if includes(plan, "telegram") else (plan_with("telegram") or SupportPlan.FULL).value)


def link_status(repos: Repositories, clock: Clock, identity: Identity, bot_username: str) -> TelegramLinkOut:
    client_id, contact_id = _person_of(repos, identity)
    return _out(repos, client_id, repos.tickets.telegram_person(client_id, contact_id), clock.now(), bot_username)


def new_code(repos: Repositories, clock: Clock, identity: Identity, bot_username: str) -> TelegramLinkOut:
    client_id, contact_id = _person_of(repos, identity)
    plan = plan_in_force(repos.services, client_id)
    if not includes(plan, "telegram"):
        needed = PLAN_LABELS_ES[(plan_with("telegram") or SupportPlan.FULL).value]
        raise ChannelNotInPlan(f"La atención por Telegram está incluida en el plan de soporte {needed}; su cuenta "
                               f"tiene el plan {PLAN_LABELS_ES[plan.value]}. Puede contratarlo desde el panel.")
    now = clock.now()
    for attempt in range(3):  # a code already given to someone else (one in 10^11): another one
        person = repos.tickets.telegram_person(client_id, contact_id) or TelegramPerson(
            *TelegramPerson.key(client_id, contact_id), client_id=client_id, contact_id=contact_id)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        uow = UnitOfWork()
        if person.pending_code:
            uow.delete(TelegramLinkCode(*TelegramLinkCode.key(person.pending_code)))  # the one before is void
        uow.create(TelegramLinkCode(*TelegramLinkCode.key(code), code=code, client_id=client_id,
                                    contact_id=contact_id, valid_until=to_storage(now + CODE_LIFETIME),
                                    expires_at=now + CODE_LIFETIME + timedelta(days=1)), error=CodeTaken())
        person.pending_code, person.code_expires_at = code, to_storage(now + CODE_LIFETIME)
        uow.save(person)  # version-checked: of two requests at once, one code stands
        try:
            uow.commit()
        except CodeTaken:
            if attempt == 2:
                raise
            continue
        return _out(repos, client_id, person, now, bot_username, code, plan)
    raise AssertionError("unreachable")


def unlink(repos: Repositories, identity: Identity) -> None:
    """Any person of the account may let go of their own Telegram, with or without `tickets` now."""
    client_id, contact_id = require_account(identity), identity.contact_id
    if contact_id and repos.accounts.contact_permissions(client_id, contact_id) is None:
        raise ContactRevoked()
    person = repos.tickets.telegram_person(client_id, contact_id)
    if person is None:
        return
    uow = UnitOfWork()
    if person.user_id:
        chat = repos.tickets.telegram_chat(person.user_id)
        if chat is not None and (chat.client_id, chat.contact_id) == (client_id, contact_id):
            chat.client_id = chat.contact_id = chat.linked_at = chat.ticket_id = None
            uow.save(chat)
    if person.pending_code:
        uow.delete(TelegramLinkCode(*TelegramLinkCode.key(person.pending_code)))
    uow.delete(person)
    uow.commit()
