"""A finished chat becomes a ticket ("cuando usted nos contacta enviando un correo electrónico, chat, o usando
los formularios de contacto, todo se transforma en un ticket"): Tawk.to's ``chat:transcript_created``, filed
once per chat for the visitor's address (outside_tickets: the account's when it is a client's, else a guest
ticket), the conversation as its first message.

Answered in the chat: the ticket's first response was the agent's first line (the clock stops there), it is
``answered`` and closes on its own like any answered ticket unless the client writes again. Not answered
(the visitor wrote while nobody was online): it stays open and runs its SLA from now. Either way staff get
a note of how long the first answer took against the help centre's sales target, "la demora no supera los
10 minutos en horario hábil".

The payload (developer.tawk.to/webhooks): ``{"event": "chat:transcript_created", "time", "property": {id,
name}, "chat": {"id", "visitor": {"name", "email", ...}, "messages": [{"sender": {"t": "v"|"a"|"s", "n"},
"type": "msg", "msg", "time"}]}}``; the chat:start shape's ``sender.type`` / ``text`` are read too.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from tickets import clocks, outside_tickets
from tickets.clocks import TicketPolicy
from tickets.correspondents import Sender, who_is
from tickets.records import Repositories, system_note

from shared.calendar import business_minutes_between, local
from shared.clock import to_storage
from shared.dal.tickets import ChatTranscript, TicketNote
from shared.errors import Conflict, InvalidInput

PROVIDER = "tawkto"
SALES_TARGET_MINUTES = 10
MAX_BODY = 20_000
ROLES = {"v": "visitor", "visitor": "visitor", "a": "agent", "agent": "agent", "s": "system", "system": "system"}
ROLE_ES = {"visitor": "visitante", "agent": "soporte"}


@dataclass(frozen=True)
class Line:
    role: str  # visitor | agent | system
    name: str
    text: str
    at: datetime | None


@dataclass(frozen=True)
class Transcript:
    chat_id: str
    visitor_name: str
    visitor_email: str
    lines: tuple[Line, ...]


class AlreadyFiled(Conflict):
    code = "chat_already_filed"


def _at(value) -> datetime | None:
    """Tawk.to's ISO-8601 UTC time ("2024-07-03T01:02:37.780Z"); a time without a zone is taken as UTC."""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def transcript_of(payload: dict) -> Transcript:
    chat = payload.get("chat") if isinstance(payload.get("chat"), dict) else {}
    chat_id = str(chat.get("id") or payload.get("chatId") or "").strip()
    if not chat_id or len(chat_id) > 100:
        raise InvalidInput("El evento no trae el id del chat.", code="invalid_chat", field="chat.id")
    visitor = chat.get("visitor") if isinstance(chat.get("visitor"), dict) else {}
    lines = []
    listed = chat.get("messages") if isinstance(chat.get("messages"), list) else []
    for message in listed:
        if not isinstance(message, dict):
            continue
        sender = message.get("sender") if isinstance(message.get("sender"), dict) else {}
        role = ROLES.get(str(sender.get("t") or sender.get("type") or "").lower(), "system")
        text = str(message.get("msg") or message.get("text") or "").strip()
        if text:
            lines.append(Line(role, str(sender.get("n") or "")[:100], text, _at(message.get("time"))))
    email = str(visitor.get("email") or "").strip().lower()
    usable = "@" in email and len(email) <= 254 and not any(ch.isspace() for ch in email)
    return Transcript(chat_id, " ".join(str(visitor.get("name") or "").split())[:120], email if usable else "",
                      tuple(lines))


def render(transcript: Transcript) -> str:
    rendered = []
    for line in transcript.lines:
        if line.role == "system":
            continue
        stamp = local(line.at).strftime("%d/%m %H:%M") if line.at else "--:--"
        who = line.name or (transcript.visitor_name if line.role == "visitor" else "") or ROLE_ES[line.role]
        rendered.append(f"[{stamp}] {who} ({ROLE_ES[line.role]}): {line.text}")
    body = "\n".join(rendered) or "(El chat no tenía mensajes.)"
    return body if len(body) <= MAX_BODY else body[:MAX_BODY] + "\n[…] La conversación sigue en Tawk.to."


def first_answer_minutes(transcript: Transcript) -> tuple[int, int] | None:
    """(business minutes, clock minutes) from the visitor's first line to the first agent line after it."""
    asked = next((line.at for line in transcript.lines if line.role == "visitor" and line.at), None)
    answered = next((line.at for line in transcript.lines if line.role == "agent" and line.at and asked
                     and line.at >= asked), None)
    if asked is None or answered is None:
        return None
    return business_minutes_between(asked, answered), int((answered - asked).total_seconds() // 60)


def file(repos: Repositories, policy: TicketPolicy, now: datetime, transcript: Transcript,
         event_id: str | None) -> tuple[str, bool]:
    """(ticket id, whether this delivery filed it): a chat already filed answers its ticket again."""
    found = repos.tickets.chat_transcript(PROVIDER, transcript.chat_id)
    if found is not None:
        return found.ticket_id, False
    sender = who_is(transcript.visitor_email) if transcript.visitor_email else Sender("")
    first_line = next((line.text for line in transcript.lines if line.role == "visitor"), "Chat")
    subject = " ".join(f"Chat: {first_line}".split())[:200]  # one line: it is every email's subject
    arrival = outside_tickets.Arrival(sender=sender, trusted=True, subject=subject,
                                      body=render(transcript), channel="chat", name=transcript.visitor_name)
    ticket, _, uow = outside_tickets.open_ticket(repos, policy, now, arrival,
                                                 acknowledge=False)  # they saw the answer in the chat
    agent_times = [line.at for line in transcript.lines if line.role == "agent" and line.at]
    if agent_times and ticket.response is not None:
        ticket.response.met_at = ticket.first_response_at = to_storage(min(agent_times))
        ticket.last_staff_reply_at = to_storage(max(agent_times))
        ticket.status = "answered"
        closed_days = repos.tickets.closed_day_set()
        clocks.note(ticket, now, "system", "answered", "Respondido en el chat.")
        clocks.start_autoclose(ticket, now, closed_days, policy)
        clocks.refresh(ticket, closed_days, policy)
        clocks.schedule(ticket)
    uow.create(_note(ticket.ticket_id, now, transcript))
    uow.create(ChatTranscript(*ChatTranscript.key(PROVIDER, transcript.chat_id), provider=PROVIDER,
                              chat_id=transcript.chat_id, event_id=event_id, ticket_id=ticket.ticket_id,
                              received_at=to_storage(now)), error=AlreadyFiled())
    try:
        uow.commit()
    except AlreadyFiled:  # the same chat delivered twice at once: the other delivery filed it
        return repos.tickets.chat_transcript(PROVIDER, transcript.chat_id).ticket_id, False
    return ticket.ticket_id, True


def _note(ticket_id: str, now: datetime, transcript: Transcript) -> TicketNote:
    timing = first_answer_minutes(transcript)
    if timing is None:
        text = "Chat de Tawk.to sin respuesta de soporte: hay que contestarlo."
    else:
        business, clock_minutes = timing
        verdict = "dentro" if business <= SALES_TARGET_MINUTES else "fuera"
        text = (f"Chat de Tawk.to: la primera respuesta llegó a los {clock_minutes} min ({business} min hábiles), "
                f"{verdict} del objetivo de {SALES_TARGET_MINUTES} minutos en horario hábil.")
    if not transcript.visitor_email:
        text += " El visitante no dejó su correo: solo se le puede responder por el chat."
    else:
        text += f" El correo {transcript.visitor_email} lo escribió el visitante: no está verificado."
    return system_note(ticket_id, now, text)
