"""Events that touch tickets (TicketsQueue, relayed from the outbox):
- ``upgrade.requested``: a manual plan change becomes a ticket for the account executive (one per request:
  the ticket's id is the event's, so a redelivery finds it written and does nothing); ``transfer.requested``
  in the panel, likewise a ticket of the source account that records it;
- a service that starts or stops (activated, plan changed, suspended, back, ended, moved to another holder):
  when the account's support plan in force changed, its open tickets follow it — their running deadlines
  recomputed from their start under the new plan, and said in each ticket's history;
- ``ticket.answered``: the staff reply's copy by email; ``ticket.opened`` by email: its acknowledgement
  (tickets.email_copies);
- a client or contact registered, changed or removed: the phonebook (who a WhatsApp number is);
- ``whatsapp.message_received``: a WhatsApp message filed as a ticket, its media kept (tickets.whatsapp_tickets);
- ``telegram.message_received``: a message to the bot — a link code, or filed as a ticket — and
  ``telegram.reply_requested``, what the bot answers (tickets.telegram_tickets); staff's reply to a ticket opened
  by Telegram goes back there too.
No API models: the worker stays light.
"""

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tickets import clocks, phonebook
from tickets.clocks import TicketPolicy
from tickets.phonebook import PERSON_EVENTS
from tickets.plans import plan_in_force

from shared import config, email_delivery
from shared.aws import LazyClient, json_secret
from shared.batch import process_sqs
from shared.clock import Clock, SystemClock, to_storage
from shared.dal.accounts import Accounts
from shared.dal.mail import SentEmails
from shared.dal.services import Services
from shared.dal.tickets import Ticket, TicketMessage, Tickets
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict
from shared.events import EventType
from shared.ids import is_valid_id
from shared.sla import Priority, SlaClass, SupportPlan

logger = Logger()
clock = SystemClock()
tickets, services = Tickets(), Services()
sesv2 = LazyClient("sesv2")
s3 = LazyClient("s3")
# The ticket events that send an email (tickets.email_copies), and which of its functions sends it.
EMAILED = {EventType.TICKET_ANSWERED: "copy_of_reply", EventType.TICKET_OPENED: "acknowledgement",
           EventType.TICKET_AUTO_CLOSE_WARNING: "auto_close_warning"}
PLAN_LABELS_ES = {"standard": "Standard", "profesional": "Profesional", "full": "Full"}


class AlreadyOpened(Conflict):
    code = "ticket_exists"


def open_for_request(envelope: dict, now: datetime, policy: TicketPolicy) -> str:
    payload = envelope["payload"]
    target = payload.get("target") or "un plan a medida"
    return _system_ticket(envelope, now, policy, f"Pedido de cambio de plan: {payload.get('product')} → {target}",
                          payload.get("message") or "El cliente pidió un cambio de plan que requiere a su ejecutivo "
                          "de cuenta.", assignee=payload.get("account_executive"),
                          upgrade_request_id=payload.get("request_id"))


def record_transfer(envelope: dict, now: datetime, policy: TicketPolicy) -> str:
    """A change of holder asked in the panel is recorded as a ticket of the source account (one asked by ticket
    already has its ticket)."""
    payload = envelope["payload"]
    if payload.get("via") != "panel":
        return "ignored"
    return _system_ticket(envelope, now, policy, f"Cambio de titular: {payload.get('service')}",
                          f"El titular pidió transferir el servicio {payload.get('service')} a la cuenta de "
                          f"{payload.get('to_email')} (transferencia {payload.get('transfer_id')}). Sigue en "
                          "GET /staff/transfers: la acepta el otro titular y la aprueba el personal.")


def _system_ticket(envelope: dict, now: datetime, policy: TicketPolicy, subject: str, body: str, *,
                   assignee: str | None = None, upgrade_request_id: str | None = None,
                   by_staff: str | None = None, closed_because: str | None = None) -> str:
    """A ticket the system opens for a request (one per event: the ticket's id is the event's, so a redelivery
    finds it written and does nothing). ``by_staff``: its message is that staff member's (a record of what they
    did); ``closed_because``: it is a record, closed at once (the client may still reply and reopen it)."""
    payload, client_id = envelope["payload"], envelope["client_id"]
    ticket_id = envelope["id"]
    if not is_valid_id(ticket_id) or not client_id:
        return "ignored"
    ticket, _ = clocks.new_ticket(
        ticket_id=ticket_id, client_id=client_id, subject=subject[:200], sla_class=SlaClass.ADVICE,
        priority=Priority.P3, plan=plan_in_force(services, client_id), service=None, client=None,
        opened_by="system", role="system", contact_id=None, channel="panel", now=now,
        closed_days=tickets.closed_day_set(), policy=policy)
    ticket.service_id, ticket.assignee = payload.get("service_id"), assignee
    ticket.upgrade_request_id = upgrade_request_id
    message = TicketMessage(*TicketMessage.key(ticket_id, ticket_id), ticket_id=ticket_id, message_id=ticket_id,
                            author_role="staff" if by_staff else "client", author=by_staff or "system",
                            author_name=None, created_at=to_storage(now), body=body)
    events = [clocks.ticket_event(EventType.TICKET_OPENED, ticket, now, opened_by_role="system",
                                  due_at=ticket.response.due_at)]
    if closed_because:
        events += clocks.close(ticket, now, "system", closed_because)
    uow = UnitOfWork()
    uow.create(ticket, error=AlreadyOpened())
    uow.create(message)
    uow.emit(events)
    try:
        uow.commit()
    except AlreadyOpened:
        return "duplicate"
    return "opened"


def record_remote_support(envelope: dict, now: datetime, policy: TicketPolicy) -> str:
    """A remote support session's outcome and the operator's notes, as a ticket of the account (closed: a record;
    the client may reply to it) — what was done stays with the account's support history."""
    from shared.calendar import local
    from shared.clock import from_storage

    payload = envelope["payload"]
    held = "atendido" if payload.get("outcome") == "done" else "ausente: no aceptó la conexión a la hora pactada"
    when = local(from_storage(payload["starts_at"])).strftime("%d/%m/%Y %H:%M") if payload.get("starts_at") else "-"
    return _system_ticket(envelope, now, policy, f"Soporte remoto del {when}",
                          f"Resultado: {held}.\n\n{payload.get('notes') or ''}".strip(),
                          by_staff=payload.get("by") or "staff", closed_because="remote_support_recorded")


def follow_plan(client_id: str, now: datetime, policy: TicketPolicy) -> int:
    """The account's open tickets under its plan in force; how many changed."""
    plan = plan_in_force(services, client_id)
    changed, closed_days = 0, None
    for ticket in tickets.tickets_of(client_id):
        if ticket.status == "closed" or ticket.plan == plan.value:
            continue
        closed_days = tickets.closed_day_set() if closed_days is None else closed_days
        for attempt in range(2):
            try:
                _replan(ticket, plan, now, closed_days, policy)
                changed += 1
                break
            except ConcurrentModification:
                if attempt:
                    raise  # the message comes back and the change is tried again
                ticket = tickets.get_ticket(ticket.ticket_id)
                if ticket.status == "closed" or ticket.plan == plan.value:
                    break
    return changed


def _replan(ticket: Ticket, plan: SupportPlan, now: datetime, closed_days, policy: TicketPolicy) -> None:
    before = ticket.plan
    ticket.plan = plan.value
    clocks.set_priority(ticket, Priority(ticket.requested_priority))
    clocks.retarget(ticket)
    clocks.refresh(ticket, closed_days, policy)
    clocks.note(ticket, now, "system", "plan", f"El plan de soporte cambió de {PLAN_LABELS_ES[before]} a "
                f"{PLAN_LABELS_ES[plan.value]}: los plazos abiertos se recalculan desde su inicio.")
    ticket.updated_at = to_storage(now)
    clocks.schedule(ticket)
    with UnitOfWork() as uow:
        uow.save(ticket)


def _repositories():
    from tickets.records import Repositories

    return Repositories(tickets, Accounts(), services)


def _contacts():
    from tickets.chat_apps import Contacts

    return Contacts(config.env(config.PANEL_URL), f"tickets@{config.env(config.SUPPORT_MAIL_DOMAIN).lower()}")


def _bot():
    from tickets.telegram_bot import BotApi, telegram_secrets

    return BotApi(config.env(config.TELEGRAM_API_URL), telegram_secrets()["bot_token"])


def _shelf(app: str):
    """Where a chat app's files come from and go (the tickets' attachments); None where the stack keeps none."""
    from tickets.chat_apps import MediaShelf, MediaUnavailable

    bucket = config.env(config.ATTACHMENTS_BUCKET, "")
    if not bucket:
        return None

    def fetch(media: dict):
        try:
            if app == "telegram":
                from tickets.telegram_bot import TelegramFiles

                return TelegramFiles(_bot())(media)
            from tickets.whatsapp_media import WhatsAppMedia

            return WhatsAppMedia(config.env(config.WHATSAPP_API_URL, ""), _whatsapp_token())(media)
        except MediaUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - Secrets Manager out of reach: filed without the file
            raise MediaUnavailable(f"{type(error).__name__}") from None

    return MediaShelf(fetch, s3, bucket)


def _whatsapp_token() -> str:
    values = json_secret(config.WHATSAPP_SECRETS_ID)
    return str(values.get("access_token", ""))


def postroom(clock: Clock):
    from tickets.email_copies import Postroom

    courier = email_delivery.Courier(SentEmails(), sesv2, clock,
                                     config.env(config.MAIL_CONFIGURATION_SET, "") or None)
    return Postroom(tickets, courier,
                    config.env(config.SUPPORT_MAIL_DOMAIN).lower(), config.env(config.PANEL_URL))


def handle(envelope: dict, clock: Clock, policy: TicketPolicy) -> str:
    now = clock.now()
    kind = envelope.get("type")
    if kind == EventType.UPGRADE_REQUESTED:
        return open_for_request(envelope, now, policy)
    if kind == EventType.TRANSFER_REQUESTED:
        return record_transfer(envelope, now, policy)
    if kind == EventType.SERVICE_TRANSFERRED_IN and envelope["payload"].get("rotate_credentials"):
        # The previous holder knew the service's passwords: staff change them for the new holder.
        service = envelope["payload"].get("service")
        opened = _system_ticket(envelope, now, policy, f"Cambio de titular: nuevas claves de {service}",
                                f"El servicio {service} cambió de titular. Cambiamos sus claves de acceso (el titular "
                                "anterior las conocía) y se las enviamos por este ticket.")
        return f"credentials:{opened};replanned:{follow_plan(envelope['client_id'], now, policy)}"
    if kind == EventType.REMOTE_SUPPORT_ENDED:
        return record_remote_support(envelope, now, policy)
    if kind == EventType.MIGRATION_REQUESTED:
        payload = envelope["payload"]
        if payload.get("option") != "we_migrate":
            return "ignored"  # the client migrates it: its instructions go by email (functions/documents)
        return _system_ticket(envelope, now, policy, f"Migración de {payload.get('service') or '-'}", (
            f"Pedido de migración a nuestros servidores: panel {payload.get('panel_type') or '-'} en "
            f"{payload.get('old_host') or '-'}. El acceso al servidor anterior está cifrado: lo ve quien tome la "
            "migración (Personal → Migraciones). El cliente aceptó que el correo del webmail no se migra."),
                              assignee="migraciones")
    if kind in EMAILED:
        from tickets import email_copies

        emailed = getattr(email_copies, EMAILED[kind])(postroom(clock), envelope)
        if kind != EventType.TICKET_ANSWERED:
            return emailed
        from tickets import telegram_tickets, whatsapp_tickets

        whatsapp = whatsapp_tickets.answer(_repositories(), now, envelope)
        telegram = telegram_tickets.answer(_repositories(), clock, _bot, envelope, config.env(config.PANEL_URL))
        return f"{emailed};whatsapp:{whatsapp};telegram:{telegram}"
    if kind == EventType.WHATSAPP_MESSAGE_RECEIVED:
        from tickets import whatsapp_tickets

        return whatsapp_tickets.file(_repositories(), policy, now, envelope, _contacts(), _shelf("whatsapp"))
    if kind == EventType.TELEGRAM_MESSAGE_RECEIVED:
        from tickets import telegram_tickets

        return telegram_tickets.file(_repositories(), policy, now, envelope, _contacts(), _shelf("telegram"))
    if kind == EventType.TELEGRAM_REPLY_REQUESTED:
        from tickets import telegram_tickets

        return telegram_tickets.send_requested(_repositories(), clock, _bot, envelope)
    if kind in PERSON_EVENTS:
        return phonebook.react(tickets, envelope)
    client_id = envelope.get("client_id")
    if not client_id or not is_valid_id(client_id):
        return "ignored"
    return f"replanned:{follow_plan(client_id, now, policy)}"


def _record(record: SQSRecord) -> None:
    outcome = handle(json.loads(record.body), clock, TicketPolicy.from_env())
    logger.info("ticket event", extra={"message_id": record.message_id, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    return process_sqs(event, _record, context)
