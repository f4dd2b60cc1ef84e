"""Settlement: a provider payment applied to its invoice exactly once.

Exactly once rests on the Payment item, keyed by provider + provider payment id and written in the
same transaction as the invoice it changes: a redelivered notification (the same webhook hours later,
Mercado Pago and Stripe both retrying, twenty concurrent deliveries) either finds it or loses the
race on its condition, and changes nothing. The consumer also uses Powertools idempotency, so a
redelivered SQS message does not even call the provider again.

Rules (docs/billing.md):
- the invoice comes from the payment's reference (Mercado Pago external_reference, Stripe
  metadata.invoice_id); amount and status come from the provider, never from the notification;
- another currency than the invoice's: recorded as `currency_mismatch`, the invoice is untouched;
- less than the balance: applied, the invoice stays unpaid (`underpaid`), nothing is activated;
- more than the balance: the invoice is paid and the excess goes to the client's credit;
- an invoice already closed: the whole payment goes to credit;
- a refund or charge-back undoes exactly what that payment did (applied amount, credit); an invoice no
  longer settled becomes `refunded` (nothing left paid) or `unpaid` again, and its services are
  suspended, or their pending activation cancelled (policy: no service on money taken back).
"""

from datetime import datetime

from payments.providers import ProviderPayment

from shared import upgrades
from shared.activation import start_activation, withdraw
from shared.clock import Clock, to_storage
from shared.dal.models import Invoice, Payment, Service, due_partition
from shared.dal.repositories import PaymentAlreadyRecorded, Store
from shared.events import EventType, new_event
from shared.invoices import adjust_credit


def settle(store: Store, clock: Clock, reported: ProviderPayment) -> str:
    """Apply what the provider reports; returns what was done (for logs and tests)."""
    if reported.status in ("pending", "failed"):
        return f"ignored:{reported.status}"
    existing = store.get_payment(reported.provider, reported.payment_id)
    if reported.status == "refunded":
        if existing is None or existing.status in ("refunded", "unmatched", "currency_mismatch"):
            return "ignored:refund-of-nothing-applied"
        return _refund(store, clock, existing)
    if existing is not None:
        return "duplicate"
    if reported.provider == "stripe" and not reported.invoice_id:
        # A PaymentIntent does not carry the Checkout Session's metadata: its session event will.
        return "ignored:no-reference"
    try:
        return _apply(store, clock, reported)
    except PaymentAlreadyRecorded:
        return "duplicate"  # a concurrent delivery of the same payment won the race


def _apply(store: Store, clock: Clock, reported: ProviderPayment) -> str:
    now = clock.now()
    invoice = store.find_invoice(reported.invoice_id)
    payment = Payment(
        *Payment.key(reported.provider, reported.payment_id),
        provider=reported.provider,
        provider_payment_id=reported.payment_id,
        invoice_id=invoice.invoice_id if invoice else reported.invoice_id,
        client_id=invoice.client_id if invoice else None,
        amount=reported.amount.amount if reported.amount else 0,
        currency=reported.amount.currency.value if reported.amount else None,
        provider_status=reported.provider_status,
        received_at=to_storage(now),
        status="applied",
    )
    if invoice is None:
        payment.status = "unmatched"
        store.record_payment(payment, [], [_payment_event(EventType.PAYMENT_UNMATCHED, payment, now)])
        return "unmatched"
    if reported.amount is None or reported.amount.currency.value != invoice.currency:
        payment.status = "currency_mismatch"
        store.record_payment(payment, [], [_payment_event(EventType.PAYMENT_MISMATCHED, payment, now)])
        return "currency_mismatch"

    amount = reported.amount
    balance = int(invoice.total) - int(invoice.amount_paid) if invoice.status == "unpaid" else 0
    applied = min(amount.amount, max(balance, 0))
    excess = amount.amount - applied
    payment.applied, payment.credited = applied, excess
    changed: list = []
    events = []
    if applied:
        invoice.amount_paid = int(invoice.amount_paid) + applied
        if int(invoice.amount_paid) >= int(invoice.total):
            _mark_paid(invoice, now)
            events.append(new_event(
                EventType.INVOICE_PAID, client_id=invoice.client_id, occurred_at=now,
                payload={"invoice_id": invoice.invoice_id, "total": int(invoice.total),
                         "currency": invoice.currency, "provider": payment.provider},
            ))
            if invoice.upgrade_id:
                # An upgrade's invoice: the plan change takes effect in the same transaction.
                changed_by_upgrade, upgrade_events = _apply_upgrade(store, invoice, now)
                changed.extend(changed_by_upgrade)
                events.extend(upgrade_events)
            else:
                # Its services start activating in the same transaction (instant ones are queued to
                # provisioning through the outbox, so a crash cannot lose the command).
                for service in _services_of(store, invoice):
                    activation = start_activation(service, now)
                    if activation:
                        changed.append(service)
                        events.extend(activation)
        else:
            payment.status = "underpaid"
        changed.append(invoice)
    if excess:
        if not applied:
            payment.status = "credited"
        client = store.get_client(invoice.client_id)
        adjust_credit(client, amount.currency.value, excess)
        changed.append(client)
        events.append(new_event(
            EventType.CLIENT_CREDITED, client_id=client.client_id, occurred_at=now,
            payload={"client_id": client.client_id, "amount": excess, "currency": amount.currency.value,
                     "reason": "overpayment", "payment": payment.pk},
        ))
    events.insert(0, _payment_event(EventType.PAYMENT_RECEIVED, payment, now))  # with its final status
    store.record_payment(payment, changed, events)
    return payment.status


def _mark_paid(invoice: Invoice, now: datetime) -> None:
    invoice.status = "paid"
    invoice.paid_at = to_storage(now)
    invoice.due_pk = invoice.due_sk = None  # off the overdue sweep's index


def _apply_upgrade(store: Store, invoice: Invoice, now: datetime) -> tuple[list, list]:
    upgrade = store.get_upgrade(invoice.upgrade_id)
    if upgrade.status != "awaiting_payment":
        return [], []  # cancelled or expired with its invoice, which then was not unpaid: never here
    service = store.get_service(upgrade.service_id)
    renewal = store.find_invoice(service.renewal_invoice_id)
    events = upgrades.apply(upgrade, service, now, renewal)
    return [upgrade, service, *([renewal] if renewal else [])], events


def _services_of(store: Store, invoice: Invoice) -> list[Service]:
    service_ids = sorted({line.service_id for line in invoice.lines if line.service_id})
    return [store.get_service(service_id) for service_id in service_ids]


def _refund(store: Store, clock: Clock, payment: Payment) -> str:
    """Undo exactly what this payment did: what it applied to its invoice, what it credited."""
    now = clock.now()
    was_applied, was_credited = int(payment.applied), int(payment.credited)
    payment.status = "refunded"
    changed: list = [payment]
    suspended: list[str] = []
    server_commands: list = []
    invoice = store.find_invoice(payment.invoice_id) if was_applied else None
    if invoice is not None:
        invoice.amount_paid = max(0, int(invoice.amount_paid) - was_applied)
        if invoice.status == "paid" and int(invoice.amount_paid) < int(invoice.total):
            # No longer settled: fully refunded, or owing again (back on the overdue sweep's index).
            if int(invoice.amount_paid) == 0:
                invoice.status = "refunded"
            else:
                invoice.status = "unpaid"
                invoice.due_pk = due_partition("INVOICE", invoice.invoice_id)
                invoice.due_sk = f"{invoice.due_at}#{invoice.invoice_id}"
            invoice.paid_at = None
            for service in _services_of(store, invoice):
                withdrawn = withdraw(service, now)
                if withdrawn is not None:
                    changed.append(service)
                    suspended.append(service.service_id)
                    server_commands.extend(withdrawn)
        changed.append(invoice)
    if invoice is not None and invoice.status == "cancelled":
        # Cancelling a partly paid invoice (an upgrade's) moved what this payment applied to credit.
        was_credited += was_applied
    if was_credited:
        client = store.get_client(payment.client_id)
        # May go below zero if the credit was already used: the client then owes it.
        adjust_credit(client, payment.currency, -was_credited)
        changed.append(client)
    events = [new_event(EventType.INVOICE_REFUNDED, client_id=payment.client_id, occurred_at=now, payload={
        "invoice_id": payment.invoice_id, "payment": payment.pk, "amount": int(payment.amount),
        "currency": payment.currency, "unapplied": was_applied, "uncredited": was_credited,
        "invoice_status": invoice.status if invoice else None, "suspended_services": sorted(suspended),
    }), *server_commands]
    store.save_with_events(changed, events)
    return "refunded"


def _payment_event(event_type: EventType, payment: Payment, now: datetime):
    return new_event(event_type, client_id=payment.client_id, occurred_at=now, payload={
        "provider": payment.provider, "payment_id": payment.provider_payment_id, "invoice_id": payment.invoice_id,
        "amount": int(payment.amount), "currency": payment.currency, "status": payment.status,
        "applied": int(payment.applied), "credited": int(payment.credited),
    })



