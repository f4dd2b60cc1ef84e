"""A staff order: a pending service and the invoice for its first period, written in one transaction."""

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from orders.schemas import CreateOrder, OrderOut

from shared.activation import CYCLE_MONTHS, start_activation
from shared.auth import Identity, require_staff
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import Clock, to_storage
from shared.dal.models import IdempotencyRecord, Invoice, InvoiceLine, Service, due_partition
from shared.dal.repositories import AlreadyAnswered, Store
from shared.errors import ConcurrentModification, InvalidInput
from shared.events import EventType, new_event
from shared.ids import new_id
from shared.money import Currency, Money
from shared.schemas import invoice_out, service_summary
from shared.secrets import encrypt_credentials

CYCLE_LABEL_ES = {
    "monthly": "mensual", "quarterly": "trimestral", "semiannually": "semestral",
    "annually": "anual", "biennially": "bienal",
}
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A new order's invoice is due this many days after it is issued (WHMCS' usual default is 0–7).
ORDER_INVOICE_DUE_DAYS = 3


def invoice_due_at(issued: datetime) -> datetime:
    """The due date of an invoice issued at ``issued``: a local calendar day, stored as the instant it
    starts (Buenos Aires midnight). It is overdue from the next local day on."""
    return local_midnight(local_date(issued) + timedelta(days=ORDER_INVOICE_DUE_DAYS))


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def create_order(
    store: Store,
    kms: Any,
    clock: Clock,
    identity: Identity,
    client_id: str,
    order: CreateOrder,
    idempotency_key: str | None = None,
) -> OrderOut:
    """With an Idempotency-Key, a retry (double click, network timeout) gets the first answer back
    instead of a second service and invoice; the same key with another order is refused."""
    require_staff(identity)
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise InvalidInput(
            "El encabezado Idempotency-Key debe tener de 1 a 64 letras, números, '-' o '_'.",
            code="invalid_idempotency_key",
            field="Idempotency-Key",
        )
    product = store.get_product(order.product_id)
    prices = product.prices.as_dict()
    if order.billing_cycle not in prices:
        offered = ", ".join(CYCLE_LABEL_ES[c] for c in prices if c in CYCLE_LABEL_ES)
        raise InvalidInput(
            f"El producto {product.name} no se ofrece con ciclo {CYCLE_LABEL_ES[order.billing_cycle]}. "
            f"Ciclos disponibles: {offered}.",
            code="billing_cycle_not_offered",
            field="billing_cycle",
        )
    price = Money(int(prices[order.billing_cycle]), Currency(product.currency))
    now = clock.now()
    service_id, invoice_id = new_id(_ms(now)), new_id(_ms(now))
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
        status="pending",
        billing_cycle=order.billing_cycle,
        currency=price.currency.value,
        recurring_amount=price.amount,
        domain=order.domain,
        manual=product.manual,
        activation_mode=product.activation_mode,
        activation_days_min=int(product.activation_days_min),
        activation_days_max=int(product.activation_days_max),
        provisioning_module=product.provisioning_module,
        requirements=list(product.requirements or []),
        created_at=to_storage(now),
        updated_at=to_storage(now),
    )
    if order.credentials:
        service.credentials_ciphertext = encrypt_credentials(kms, service_id, order.credentials)

    due_at = invoice_due_at(now)
    free = price.is_zero()  # e.g. Soporte Standard: nothing to pay, so the invoice is born paid
    invoice = Invoice(
        *Invoice.key(invoice_id),
        gsi1pk=f"CLIENT#{client_id}",
        gsi1sk=f"INVOICE#{invoice_id}",
        due_pk=None if free else due_partition("INVOICE", invoice_id),
        due_sk=None if free else f"{to_storage(due_at)}#{invoice_id}",
        invoice_id=invoice_id,
        client_id=client_id,
        lines=[
            InvoiceLine(
                service_id=service_id,
                description=(
                    f"{product.name} ({CYCLE_LABEL_ES[order.billing_cycle]})"
                    + (f" - {order.domain}" if order.domain else "")
                ),
                period_start=to_storage(period_start),
                period_end=to_storage(period_end),
                amount=price.amount,
            )
        ],
        currency=price.currency.value,
        total=price.amount,
        amount_paid=0,
        status="paid" if free else "unpaid",
        issued_at=to_storage(now),
        due_at=to_storage(due_at),
        paid_at=to_storage(now) if free else None,
    )
    events = [
        new_event(
            EventType.SERVICE_ORDERED,
            client_id=client_id,
            payload={"service_id": service_id, "product_id": product.product_id, "ordered_by": identity.subject},
            occurred_at=now,
        ),
        new_event(
            EventType.INVOICE_CREATED,
            client_id=client_id,
            payload={
                "invoice_id": invoice_id, "total": price.amount, "currency": price.currency.value,
                "due_at": invoice.due_at,
            },
            occurred_at=now,
        ),
    ]
    if free:
        events.append(new_event(
            EventType.INVOICE_PAID,
            client_id=client_id,
            payload={"invoice_id": invoice_id, "total": 0, "currency": price.currency.value, "provider": None},
            occurred_at=now,
        ))
        events.extend(start_activation(service, now))  # nothing to wait for
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
    try:
        store.create_order([service], invoice, events, record)
    except AlreadyAnswered:
        previous = store.get_answer(f"orders#{client_id}", idempotency_key or "")
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
