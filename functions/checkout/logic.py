"""Paying an invoice from the panel: the client's credit first, then a checkout at the provider for the
balance left — never an amount from the request — reused while it is open for that same balance."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from checkout.providers import CheckoutGateway, CheckoutRequest
from checkout.schemas import CheckoutOut

from shared.auth import Identity, Permission, authorize, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Client, Contact, ContactRights
from shared.dal.billing import Checkout, Invoice
from shared.dal.services import ENDED_STATUSES, Service
from shared.dal.table import batch_get, not_found, save_one
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, InvalidInput
from shared.ids import is_valid_id
from shared.invoices import spend_credit
from shared.money import Currency, Money
from shared.schemas import MoneyOut, invoice_out

# A checkout is opened for a day (Stripe's longest) and reused while at least this much of it is left:
# the client should not land on a page that closes while they type their card.
OPEN_FOR = timedelta(hours=23)
REUSE_MARGIN = timedelta(minutes=30)


class NothingToPay(Conflict):
    code = "nothing_to_pay"
    message = "Esta factura no tiene saldo a pagar."


class InvoiceClosed(Conflict):
    code = "invoice_closed"
    message = ("Esta factura corresponde a un servicio que ya fue dado de baja y no puede pagarse. Para volver a "
               "usarlo, contrate un nuevo servicio.")


class CurrencyNotAccepted(InvalidInput):
    code = "currency_not_accepted"


# What each provider charges in: Mercado Pago Argentina (site MLA) only in pesos.
CURRENCIES = {"mercadopago": ("ARS",), "stripe": ("ARS", "USD")}
# A checkout's window starts on a 10-minute boundary: a retry within it sends the provider the very same
# request under the same idempotency key (Stripe refuses a key reused with other parameters).
WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Urls:
    """Where the providers notify us and where they send the client back (the panel's invoice page)."""

    api: str  # our public API base: Mercado Pago's notification_url is {api}/webhooks/mercadopago
    panel: str  # the client area: back to {panel}/facturas/{invoice_id}?pago=...

    def back(self, invoice_id: str, outcome: str) -> str:
        return f"{self.panel.rstrip('/')}/facturas/{invoice_id}?pago={outcome}"


def _read(identity: Identity, invoice_id: str, provider: str):
    """The invoice, its checkout at ``provider``, the caller's client (credit, email) and, for a contact, its
    own item (its current rights): one BatchGetItem."""
    if not is_valid_id(invoice_id):
        raise not_found()
    keys = [Invoice.key(invoice_id), Checkout.key(invoice_id, provider), Client.key(identity.client_id)]
    if identity.contact_id:
        keys.append(Contact.key(identity.client_id, identity.contact_id))
    found = batch_get(keys, consistent=True)
    invoice = found.get(Invoice.key(invoice_id))
    if not isinstance(invoice, Invoice):
        raise not_found()
    contact = found.get(Contact.key(identity.client_id, identity.contact_id)) if identity.contact_id else None
    authorize(identity, invoice.client_id, Permission.INVOICES, ContactRights(contact), services=invoice.service_ids())
    client = found.get(Client.key(identity.client_id))
    checkout = found.get(Checkout.key(invoice_id, provider))
    return invoice, checkout if isinstance(checkout, Checkout) else None, client, contact


def _reusable(checkout: Checkout | None, invoice: Invoice, now: datetime) -> bool:
    return (checkout is not None and checkout.amount == invoice.balance and checkout.currency == invoice.currency
            and from_storage(checkout.open_until) - now >= REUSE_MARGIN)


def _answer(invoice: Invoice, provider: str, checkout: Checkout | None, credit_applied: int) -> CheckoutOut:
    currency = Currency(invoice.currency)
    return CheckoutOut(
        provider=provider,
        url=checkout.url if checkout else None,
        reference=checkout.reference if checkout else None,
        amount=MoneyOut.of(Money(checkout.amount if checkout else 0, currency)),
        open_until=from_storage(checkout.open_until) if checkout else None,
        credit_applied=MoneyOut.of(Money(credit_applied, currency)),
        invoice=invoice_out(invoice),
    )


def _closed(invoice: Invoice) -> bool:
    """A refunded invoice whose services have all ended since: paying it would buy nothing (an unpaid one is
    voided when its service ends; a refunded one keeps its state for the records)."""
    if invoice.status != "refunded" or not invoice.service_ids():
        return False
    services = batch_get(Service.key(s) for s in invoice.service_ids()).values()
    return bool(services) and all(isinstance(s, Service) and s.status in ENDED_STATUSES for s in services)


def open_checkout(gateways: Mapping[str, CheckoutGateway], clock: Clock, urls: Urls, identity: Identity,
                  invoice_id: str, provider: str) -> CheckoutOut:
    require_account(identity)
    invoice, checkout, client, contact = _read(identity, invoice_id, provider)
    if invoice.balance <= 0:
        raise NothingToPay()
    if invoice.currency not in CURRENCIES[provider]:
        names = {"mercadopago": "Mercado Pago", "stripe": "Stripe"}
        raise CurrencyNotAccepted(f"{names[provider]} no cobra en {invoice.currency}: pague esta factura con "
                                  "tarjeta (Stripe).", field="provider")
    if _closed(invoice):
        raise InvoiceClosed()
    now = clock.now()
    credit_applied = 0
    if isinstance(client, Client) and client.credit_in(invoice.currency) > 0:
        # Credit received since the invoice was issued (a refund, an overpayment) pays first, in its own
        # transaction: the invoice's and the client's versions make a concurrent payment or spend retry.
        uow = UnitOfWork()
        credit_applied = spend_credit(uow, invoice, client, now)
        uow.commit()
        if invoice.balance <= 0:
            return _answer(invoice, provider, None, credit_applied)
    if _reusable(checkout, invoice, now):
        return _answer(invoice, provider, checkout, credit_applied)

    generation = checkout.generation + 1 if checkout else 1
    amount = invoice.money(invoice.balance)
    # Everything the request carries follows from the invoice, provider, balance, generation and window, and
    # so does its key: two clicks at once (or a retry after a lost answer) send one request, and the provider
    # answers the same checkout; whichever is stored first is the answer.
    window = datetime.fromtimestamp(now.timestamp() // WINDOW.total_seconds() * WINDOW.total_seconds(), UTC)
    title = f"Factura {invoice.number or invoice.invoice_id} - Paneldecliente"
    payer_email = client.email if isinstance(client, Client) else None  # the account's, whoever pays
    # The title (the number comes moments after issue) and the email are in the key too: a request that differs
    # in anything is another key, never a reused one (Stripe refuses that).
    key = hashlib.sha256(f"{invoice.invoice_id}|{provider}|{amount.amount}|{amount.currency}|{generation}|"
                         f"{window.isoformat()}|{title}|{payer_email}".encode()).hexdigest()[:40]
    open_until = window + OPEN_FOR
    request = CheckoutRequest(
        invoice_id=invoice.invoice_id,
        title=title,
        amount=amount,
        notification_url=f"{urls.api.rstrip('/')}/webhooks/mercadopago",
        success_url=urls.back(invoice.invoice_id, "aprobado"),
        pending_url=urls.back(invoice.invoice_id, "pendiente"),
        failure_url=urls.back(invoice.invoice_id, "cancelado"),
        payer_email=payer_email,
        open_until=open_until,
        idempotency_key=key,
    )
    opened = gateways[provider].open(request, window)
    fresh = Checkout(
        *Checkout.key(invoice.invoice_id, provider), invoice_id=invoice.invoice_id, client_id=invoice.client_id,
        provider=provider, amount=amount.amount, currency=amount.currency.value, reference=opened.reference,
        url=opened.url, generation=generation, created_at=to_storage(now), open_until=to_storage(open_until),
        expires_at=open_until + timedelta(days=30),  # kept a while for support, then TTL
    )
    if checkout is not None:
        fresh.version = checkout.version  # replaces the one read: a concurrent replacement is caught
    try:
        save_one(fresh, None if checkout else Checkout.pk.does_not_exist())
    except ConcurrentModification:
        # Another call stored its checkout first: the same one if it asked for the same balance.
        _, winner, _, _ = _read(identity, invoice_id, provider)
        if winner is not None and winner.reference != opened.reference:
            gateways[provider].close(opened.reference, now)  # ours lost: not left payable beside the winner
        if not _reusable(winner, invoice, now):
            raise
        return _answer(invoice, provider, winner, credit_applied)
    if checkout is not None and checkout.reference != fresh.reference:
        # The one it replaces asks for another amount: closed, so an old tab cannot pay it (best effort: if it
        # is paid anyway, the payment is applied or credited like any other).
        gateways[provider].close(checkout.reference, now)
    return _answer(invoice, provider, fresh, credit_applied)
