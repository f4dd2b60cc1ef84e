"""Telegram's bot webhook: POST /webhooks/telegram (public: the X-Telegram-Bot-Api-Secret-Token, the secret given
to setWebhook, is the authentication). Each update a person sends in a private chat is recorded once, by its
``update_id``, with a ``telegram.message_received`` event that the tickets worker files
(tickets.telegram_tickets); anything else is acknowledged and ignored. Telegram retries an update until it gets
a 2xx, so a repeated one answers 200 too."""

from datetime import timedelta

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from tickets.telegram_bot import message_of, telegram_secrets, valid_secret

from shared.clock import SystemClock, to_storage
from shared.dal.tickets import TelegramUpdate
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, Unauthenticated
from shared.events import EventType, new_event
from shared.http import answers, create_app, lambda_handler_for, parse_json

app = create_app()
clock = SystemClock()
KEPT_DAYS = 7  # Telegram stops retrying an update within a day


class InvalidSecret(Unauthenticated):
    code = "invalid_secret_token"
    message = "El encabezado X-Telegram-Bot-Api-Secret-Token no es válido."


class AlreadyReceived(Conflict):
    code = "telegram_update_seen"


def record(message: dict) -> bool:
    """The update's record and event, in one transaction; False if it was received before."""
    now = clock.now()
    uow = UnitOfWork()
    uow.create(TelegramUpdate(*TelegramUpdate.key(str(message["update_id"])), update_id=str(message["update_id"]),
                              user_id=message["user_id"], received_at=to_storage(now),
                              expires_at=now + timedelta(days=KEPT_DAYS)), error=AlreadyReceived())
    uow.emit([new_event(EventType.TELEGRAM_MESSAGE_RECEIVED, client_id=None, occurred_at=now, payload=message)])
    try:
        uow.commit()
    except AlreadyReceived:
        return False
    return True


@app.post("/webhooks/telegram", tags=["Webhooks"], summary="Mensajes al bot de Telegram",
          responses=answers())
def telegram() -> dict:
    event = app.current_event
    if not valid_secret(event.headers.get("X-Telegram-Bot-Api-Secret-Token"), telegram_secrets()["webhook_secret"]):
        raise InvalidSecret()
    message = message_of(parse_json(event.body or "{}"))
    return {"received": True, "recorded": bool(message and record(message))}


lambda_handler = lambda_handler_for(app)
