"""Quotes: staff offer, the client (the holder, or a contact with `orders`) accepts or declines once, before
it expires; accepting issues its invoice in the same transaction, so two accepts make one invoice."""

from datetime import date, datetime

from quotes.schemas import AcceptedQuoteOut, CreateQuote, QuoteLineOut, QuoteOut

from shared.auth import Identity, Permission, authorize, require_account, require_staff, sees
from shared.calendar import local_date
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client
from shared.dal.billing import InvoiceLine
from shared.dal.quotes import Quote, QuoteLine, Quotes
from shared.dal.services import Service
from shared.dal.table import batch_get, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at, is_valid_id
from shared.invoices import issue_invoice, settle_at_issue
from shared.money import Currency, Money
from shared.schemas import MoneyOut, invoice_out


class QuoteAnswered(Conflict):
    code = "quote_already_answered"
    message = "Este presupuesto ya fue respondido."


class QuoteExpired(Conflict):
    code = "quote_expired"
    message = "Este presupuesto venció. Pida uno nuevo a nuestro equipo."


def status_of(quote: Quote, today: date) -> str:
    if quote.status == "open" and date.fromisoformat(quote.valid_until) < today:
        return "expired"
    return quote.status


def quote_out(quote: Quote, today: date) -> QuoteOut:
    currency = Currency(quote.currency)
    return QuoteOut(
        quote_id=quote.quote_id, client_id=quote.client_id, title=quote.title, purpose=quote.purpose,
        status=status_of(quote, today),
        lines=[QuoteLineOut(description=line.description, amount=MoneyOut.of(Money(line.amount, currency)))
               for line in quote.lines],
        total=MoneyOut.of(Money(quote.total, currency)), valid_until=date.fromisoformat(quote.valid_until),
        note=quote.note, ticket_id=quote.ticket_id, service_id=quote.service_id,
        created_at=from_storage(quote.created_at),
        answered_at=from_storage(quote.answered_at) if quote.answered_at else None, invoice_id=quote.invoice_id,
        paid_at=from_storage(quote.paid_at) if quote.paid_at else None,
    )



def create_quote(clock: Clock, identity: Identity, client_id: str, body: CreateQuote) -> QuoteOut:
    require_staff(identity)
    now = clock.now()
    today = local_date(now)
    if body.valid_until < today:
        raise InvalidInput("La validez del presupuesto no puede ser anterior a hoy.", code="valid_until_past",
                           field="valid_until")
    keys = [Client.key(client_id)] if is_valid_id(client_id) else []
    if body.service_id:
        if not is_valid_id(body.service_id):
            raise InvalidInput("No existe ese servicio en la cuenta.", code="service_not_found", field="service_id")
        keys.append(Service.key(body.service_id))
    found = batch_get(keys)
    client = found.get(Client.key(client_id)) if keys else None
    if not isinstance(client, Client):
        raise not_found()
    if body.service_id:
        service = found.get(Service.key(body.service_id))
        if not isinstance(service, Service) or service.client_id != client_id:
            raise InvalidInput("No existe ese servicio en la cuenta.", code="service_not_found", field="service_id")
    if body.ticket_id is not None and not is_valid_id(body.ticket_id):
        raise InvalidInput("El ticket indicado no es válido.", code="invalid_ticket_id", field="ticket_id")
    total = sum(line.amount for line in body.lines)
    quote_id = id_at(now)
    quote = Quote(
        *Quote.key(quote_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"QUOTE#{quote_id}", quote_id=quote_id,
        client_id=client_id, title=body.title, purpose=body.purpose,
        lines=[QuoteLine(description=line.description, amount=line.amount) for line in body.lines],
        currency=body.currency.value, total=total, valid_until=body.valid_until.isoformat(), note=body.note,
        ticket_id=body.ticket_id, service_id=body.service_id, status="open", created_by=identity.subject,
        created_at=to_storage(now),
    )
    uow = UnitOfWork()
    uow.create(quote)
    uow.check(Client, *Client.key(client_id), Client.pk.exists(), error=not_found())
    uow.emit([new_event(EventType.QUOTE_SENT, client_id=client_id, occurred_at=now, payload={
        "quote_id": quote_id, "title": body.title, "purpose": body.purpose, "total": total,
        "currency": body.currency.value, "valid_until": quote.valid_until, "ticket_id": body.ticket_id,
        "service_id": body.service_id,
    })])
    uow.commit()
    return quote_out(quote, today)


def _readable(accounts: Accounts, quotes: Quotes, identity: Identity, quote_id: str) -> Quote:
    quote, rights = accounts.with_rights(Quote, quote_id, identity.client_id, identity.contact_id)
    grant = authorize(identity, quote.client_id, Permission.ORDERS, rights)
    if not sees(grant, quote.service_id):
        raise not_found()  # a scoped contact: a quote of another service, or of none, is like a missing one
    return quote


def my_quotes(accounts: Accounts, quotes: Quotes, clock: Clock, identity: Identity) -> list[QuoteOut]:
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.ORDERS, accounts.contact_permissions)
    today = local_date(clock.now())
    return [quote_out(q, today) for q in quotes.quotes_of(client_id) if sees(grant, q.service_id)]


def client_quotes(quotes: Quotes, clock: Clock, identity: Identity, client_id: str) -> list[QuoteOut]:
    require_staff(identity)
    today = local_date(clock.now())
    return [quote_out(q, today) for q in quotes.quotes_of(client_id)]


def get_quote(accounts: Accounts, quotes: Quotes, clock: Clock, identity: Identity, quote_id: str) -> QuoteOut:
    require_account(identity)
    return quote_out(_readable(accounts, quotes, identity, quote_id), local_date(clock.now()))


def _answerable(quote: Quote, today: date) -> None:
    status = status_of(quote, today)
    if status == "expired":
        raise QuoteExpired()
    if status != "open":
        raise QuoteAnswered()


def _answered(quote: Quote, status: str, identity: Identity, now: datetime) -> None:
    quote.status = status
    quote.answered_at = to_storage(now)
    quote.answered_by = identity.contact_id or identity.subject


def _commit_answer(uow: UnitOfWork, quotes: Quotes, quote_id: str) -> None:
    """A concurrent answer (two accepts, an accept and a decline) moved the version: the first one stands,
    and this one is told so."""
    try:
        uow.commit()
    except ConcurrentModification:
        if quotes.get_quote(quote_id).status != "open":
            raise QuoteAnswered() from None
        raise


def accept_quote(accounts: Accounts, quotes: Quotes, clock: Clock, identity: Identity,
                 quote_id: str) -> AcceptedQuoteOut:
    require_account(identity)
    quote = _readable(accounts, quotes, identity, quote_id)
    now = clock.now()
    _answerable(quote, local_date(now))
    invoice_id = id_at(now)
    # The quote's lines bill no service of their own: paying the invoice starts nothing by itself (staff do
    # the work the quote describes), so no line names a service for the activation reaction to act on.
    lines = [InvoiceLine(service_id=None, description=line.description, amount=line.amount) for line in quote.lines]
    invoice, invoice_events = issue_invoice(invoice_id, quote.client_id, lines, Money(quote.total, quote.currency),
                                            now, purpose="quote", quote_id=quote.quote_id)
    _answered(quote, "accepted", identity, now)
    quote.invoice_id = invoice_id
    uow = UnitOfWork()
    uow.save(quote)
    uow.create(invoice)
    uow.emit([new_event(EventType.QUOTE_ACCEPTED, client_id=quote.client_id, occurred_at=now, payload={
        "quote_id": quote.quote_id, "title": quote.title, "invoice_id": invoice_id, "total": quote.total,
        "currency": quote.currency, "ticket_id": quote.ticket_id, "service_id": quote.service_id,
        "answered_by": quote.answered_by,
    }), *invoice_events])
    # Its credit pays what it can, as for any invoice.
    settle_at_issue(uow, invoice, accounts.get_client(quote.client_id), now)
    _commit_answer(uow, quotes, quote.quote_id)
    return AcceptedQuoteOut(quote=quote_out(quote, local_date(now)), invoice=invoice_out(invoice))


def decline_quote(accounts: Accounts, quotes: Quotes, clock: Clock, identity: Identity, quote_id: str) -> QuoteOut:
    require_account(identity)
    quote = _readable(accounts, quotes, identity, quote_id)
    now = clock.now()
    _answerable(quote, local_date(now))
    _answered(quote, "declined", identity, now)
    uow = UnitOfWork()
    uow.save(quote)
    uow.emit([new_event(EventType.QUOTE_DECLINED, client_id=quote.client_id, occurred_at=now, payload={
        "quote_id": quote.quote_id, "title": quote.title, "total": quote.total, "currency": quote.currency,
        "ticket_id": quote.ticket_id, "answered_by": quote.answered_by,
    })])
    _commit_answer(uow, quotes, quote.quote_id)
    return quote_out(quote, local_date(now))
