"""A staff order: a pending service and the invoice for its first period, written in one transaction."""

import hashlib
import re
from datetime import timedelta
from typing import Any

from orders.schemas import ClientOrder, CreateOrder, OrderOut

from shared.activation import CYCLE_MONTHS
from shared.auth import Identity, Permission, ScopedContact, authorize, require_account, require_staff
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import Clock, to_storage
from shared.credentials import encrypt_credentials
from shared.dal.accounts import Accounts, Client
from shared.dal.billing import InvoiceLine
from shared.dal.catalog import Product
from shared.dal.idempotency import AlreadyAnswered, Answers, IdempotencyRecord
from shared.dal.services import Service
from shared.dal.table import batch_get, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.domains import under_suffix
from shared.errors import ConcurrentModification, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at, is_valid_id
from shared.invoices import CYCLE_LABEL_ES, issue_invoice, settle_at_issue
from shared.money import Currency, Money
from shared.schemas import invoice_out, service_summary

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")



class ProductNotOffered(InvalidInput):
    code = "product_not_offered"
    message = "Ese producto no se ofrece en el panel. Consulte a nuestro equipo comercial."


class DomainRequired(InvalidInput):
    code = "domain_required"
    message = "Indique el dominio del servicio."


# What needs a domain to be ordered by a client (a hosting account is created for it, a domain is it).
NEEDS_DOMAIN = ("hosting", "domain")


def create_client_order(answers: Answers, accounts: Accounts, kms: Any, clock: Clock, identity: Identity,
                        order: ClientOrder, idempotency_key: str | None) -> OrderOut:
    """An order from the client area (the holder, or a contact with `orders`): the staff order's rules, and
    a product the panel offers, with its domain when it needs one. A cancelled service's client orders
    again this way: a new service and its invoice."""
    client_id = require_account(identity)
    grant = authorize(identity, client_id, Permission.ORDERS, accounts.contact_permissions)
    if grant is not None and grant.services is not None:
        raise ScopedContact()  # a new service would be outside the scope it was given
    return create_order(answers, kms, clock, identity, client_id, CreateOrder(**order.model_dump()),
                        idempotency_key, by_client=True)


def create_order(
    answers: Answers,
    kms: Any,
    clock: Clock,
    identity: Identity,
    client_id: str,
    order: CreateOrder,
    idempotency_key: str | None = None,
    *,
    by_client: bool = False,
) -> OrderOut:
    """With an Idempotency-Key, a retry (double click, network timeout) gets the first answer back
    instead of a second service and invoice; the same key with another order is refused."""
    if not by_client:
        require_staff(identity)
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise InvalidInput(
            "El encabezado Idempotency-Key debe tener de 1 a 64 letras, números, '-' o '_'.",
            code="invalid_idempotency_key",
            field="Idempotency-Key",
        )
    # The product and the client (whose credit may pay the invoice) in one BatchGetItem.
    found = batch_get([Product.key(order.product_id), *([Client.key(client_id)] if is_valid_id(client_id) else [])])
    product, client = found.get(Product.key(order.product_id)), found.get(Client.key(client_id))
    if not isinstance(client, Client):
        raise not_found()
    if not isinstance(product, Product):
        if by_client:  # the client chose from the catalog: tell them, it is not someone else's secret
            raise ProductNotOffered(field="product_id")
        raise not_found()
    if by_client and not product.orderable:
        raise ProductNotOffered(field="product_id")
    if by_client and product.kind in NEEDS_DOMAIN and not order.domain:
        raise DomainRequired(field="domain")
    if product.domain_suffix and order.domain and not under_suffix(order.domain, product.domain_suffix):
        raise InvalidInput(f"{product.name} registra dominios terminados en {product.domain_suffix}, por ejemplo "
                           f"ejemplo{product.domain_suffix}.", code="domain_not_for_product", field="domain")
    prices = product.prices.as_dict()
    if order.billing_cycle not in prices:
        offered = ", ".join(CYCLE_LABEL_ES[c] for c in prices if c in CYCLE_LABEL_ES)
        raise InvalidInput(
            f"El producto {product.name} no se ofrece con ciclo {CYCLE_LABEL_ES[order.billing_cycle]}. "
            f"Ciclos disponibles: {offered}.",
            code="billing_cycle_not_offered",
            field="billing_cycle",
        )
    price = Money(prices[order.billing_cycle], Currency(product.currency))
    now = clock.now()
    service_id, invoice_id = id_at(now), id_at(now)
    period_start = local_midnight(local_date(now))
    period_end = local_midnight(add_months(period_start.date(), CYCLE_MONTHS[order.billing_cycle]))

    service = Service(
        *Service.key(service_id),
        gsi1pk=f"CLIENT#{client_id}",
        gsi1sk=f"SERVICE#{service_id}",
        service_id=service_id,
        client_id=client_id,
        product_id=product.product_id,
        product_name=product.name,
        product_group=product.group,
        product_kind=product.kind,
        status="pending",
        billing_cycle=order.billing_cycle,
        currency=price.currency.value,
        recurring_amount=price.amount,
        domain=order.domain,
        manual=product.manual,
        upgrade_targets=list(product.upgrade_targets or []),
        activation_mode=product.activation_mode,
        activation_days_min=product.activation_days_min,
        activation_days_max=product.activation_days_max,
        provisioning_module=product.provisioning_module,
        requirements=list(product.requirements or []),
        custom_package=order.custom_package,
        created_at=to_storage(now),
        updated_at=to_storage(now),
    )
    if order.credentials:
        service.credentials_ciphertext = encrypt_credentials(kms, service_id, order.credentials)

    line = InvoiceLine(
        service_id=service_id,
        description=(
            f"{product.name} ({CYCLE_LABEL_ES[order.billing_cycle]})" + (f" - {order.domain}" if order.domain else "")
        ),
        period_start=to_storage(period_start),
        period_end=to_storage(period_end),
        amount=price.amount,
    )
    # A free product (e.g. Soporte Standard) has nothing to pay: its invoice is born paid.
    invoice, invoice_events = issue_invoice(invoice_id, client_id, [line], price, now)
    events = [
        new_event(
            EventType.SERVICE_ORDERED,
            client_id=client_id,
            payload={"service_id": service_id, "product_id": product.product_id, "ordered_by": identity.subject,
                     "channel": "panel" if by_client else "staff"},
            occurred_at=now,
        ),
        *invoice_events,
    ]
    uow = UnitOfWork()
    uow.create(service)
    uow.create(invoice)
    uow.emit(events)
    # The client's credit pays what it can; a paid invoice (free, or covered) starts the activation.
    settle_at_issue(uow, invoice, client, now)
    answer = OrderOut(service=service_summary(service), invoice=invoice_out(invoice))
    record = None
    if idempotency_key is not None:
        request_hash = hashlib.sha256(f"{client_id}|{order.model_dump_json()}".encode()).hexdigest()
        record = IdempotencyRecord(
            *IdempotencyRecord.key(f"orders#{client_id}", idempotency_key),
            request_hash=request_hash,
            response=answer.model_dump_json(),
            expires_at=now + timedelta(days=1),
        )
        answers.add_answer(uow, record)
    uow.check(Client, *Client.key(client_id), Client.pk.exists(), error=not_found())
    try:
        uow.commit()
    except AlreadyAnswered:
        previous = answers.get_answer(f"orders#{client_id}", idempotency_key or "")
        if previous is None:  # expired between the two calls: let the caller retry cleanly
            raise ConcurrentModification() from None
        if previous.request_hash != record.request_hash:
            raise InvalidInput(
                "Ese Idempotency-Key ya se usó para otro pedido. Use una clave nueva para cada pedido.",
                code="idempotency_key_reused",
                field="Idempotency-Key",
            ) from None
        return OrderOut.model_validate_json(previous.response)
    return answer
