"""Settlement: a provider payment applied to its invoice exactly once.

Exactly once rests on the Payment item, keyed by provider + provider payment id and written in the
same unit of work as the invoice it changes: a redelivered notification (the same webhook hours later,
Mercado Pago and Stripe both retrying, twenty concurrent deliveries) either finds it or loses the
race on its condition, and changes nothing. The consumer also uses Powertools idempotency, so a
redelivered SQS message does not even call the provider again.

Rules (docs/payments.md):
- the invoice comes from the payment's reference (Mercado Pago external_reference, Stripe
  metadata.invoice_id); amount and status come from the provider, never from the notification;
- an amount that is not a positive whole number of minor units is recorded for staff review
  (`invalid_amount`) and changes nothing; another currency than the invoice's: `currency_mismatch`;
- less than the balance: applied, the invoice stays unpaid (`underpaid`), nothing is activated;
- more than the balance: the invoice is paid and the excess goes to the client's credit;
- an invoice already closed: the whole payment goes to credit; a `refunded` invoice (its money went
  back) is open again and takes the payment;
- a refund or charge-back undoes exactly what that payment did (applied amount, credit). A refund that
  arrives before its payment (Stripe does not order events) is recorded as a tombstone, so the late
  payment event finds it and is not applied.
What a paid or unsettled invoice means to its services and plan changes is not decided here: the
reactions registered by those capabilities run in the same unit of work (shared.reactions).
"""

from datetime import datetime

from payments.providers import ProviderPayment

from shared.clock import Clock, to_storage
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing, Invoice, Payment, PaymentAlreadyRecorded
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification
from shared.events import EventType, new_event
from shared.invoices import apply_payment, credit, take_back

# Recorded payments a later notification of the same payment must leave alone.
NOTHING_TO_UNDO = ("refunded", "refunded_unseen", "unmatched", "currency_mismatch", "invalid_amount")


def settle(billing: Billing, accounts: Accounts, clock: Clock, reported: ProviderPayment) -> str:
    """Apply what the provider reports; returns what was done (for logs and tests)."""
    if reported.status in ("pending", "failed"):
        return f"ignored:{reported.status}"
    existing = billing.get_payment(reported.provider, reported.payment_id)
    if reported.status == "refunded":
        if existing is None:
            try:
                return _refund_first(billing, clock, reported)
            except PaymentAlreadyRecorded:  # the payment was recorded meanwhile: undo it
                existing = billing.get_payment(reported.provider, reported.payment_id)
        if existing is None or existing.status in NOTHING_TO_UNDO:
            return "ignored:refund-of-nothing-applied"
        read = iter([existing])  # the payment just read, then read again on each retry

        def refund_once():
            payment = next(read, None) or billing.get_payment(reported.provider, reported.payment_id)
            if payment is None or payment.status in NOTHING_TO_UNDO:
                return "ignored:refund-of-nothing-applied"  # a concurrent delivery undid it meanwhile
            return _refund(billing, accounts, clock, payment)

        return _again_on_conflict(refund_once)
    if existing is not None:
        return "ignored:refunded-before-payment" if existing.status == "refunded_unseen" else "duplicate"
    if reported.provider == "stripe" and not reported.invoice_id and reported.problem is None:
        # A PaymentIntent does not carry the Checkout Session's metadata: its session event will.
        return "ignored:no-reference"
    try:
        return _again_on_conflict(lambda: _apply(billing, accounts, clock, reported))
    except PaymentAlreadyRecorded:
        return "duplicate"  # a concurrent delivery of the same payment won the race


CONFLICT_ATTEMPTS = 4


def _again_on_conflict(change):
    """Run a change that reads what it writes, again (it reads afresh) when another writer moved one of its
    items meanwhile: the invoice numbered by the documents worker, the client's credit spent by a checkout.
    Sending the notification back to the queue would hold a paid client's service for a visibility timeout."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return change()
        except ConcurrentModification:
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _new_payment(reported: ProviderPayment, invoice: Invoice | None, now: datetime, status: str) -> Payment:
    return Payment(
        *Payment.key(reported.provider, reported.payment_id),
        provider=reported.provider,
        provider_payment_id=reported.payment_id,
        invoice_id=invoice.invoice_id if invoice else reported.invoice_id,
        client_id=invoice.client_id if invoice else None,
        amount=reported.amount.amount if reported.amount else 0,
        currency=reported.amount.currency.value if reported.amount else None,
        provider_status=reported.provider_status,
        reported_amount=reported.reported,
        received_at=to_storage(now),
        status=status,
    )


def _record_only(billing: Billing, payment: Payment, event_type: EventType, now: datetime) -> str:
    with UnitOfWork() as uow:
        billing.add_payment(uow, payment)
        uow.emit([_payment_event(event_type, payment, now)])
    return payment.status


def _apply(billing: Billing, accounts: Accounts, clock: Clock, reported: ProviderPayment) -> str:
    now = clock.now()
    invoice = billing.find_invoice(reported.invoice_id)
    if reported.problem == "amount":
        return _record_only(billing, _new_payment(reported, invoice, now, "invalid_amount"),
                            EventType.PAYMENT_TO_REVIEW, now)
    if invoice is None:
        return _record_only(billing, _new_payment(reported, None, now, "unmatched"), EventType.PAYMENT_UNMATCHED,
                            now)
    if reported.amount is None or reported.amount.currency.value != invoice.currency:
        return _record_only(billing, _new_payment(reported, invoice, now, "currency_mismatch"),
                            EventType.PAYMENT_MISMATCHED, now)

    amount = reported.amount.amount
    applied = min(amount, invoice.balance)
    payment = _new_payment(reported, invoice, now, "applied")
    payment.applied, payment.credited = applied, amount - applied
    with UnitOfWork() as uow:
        billing.add_payment(uow, payment)
        if applied:
            apply_payment(uow, invoice, applied, now, provider=payment.provider)
            if invoice.status != "paid":
                payment.status = "underpaid"
        if payment.credited:
            if not applied:
                payment.status = "credited"
            credit(uow, accounts.get_client(invoice.client_id), invoice.currency, payment.credited, now,
                   "overpayment", payment=payment.pk)
        uow.emit([_payment_event(EventType.PAYMENT_RECEIVED, payment, now)])  # with its final status
    return payment.status


def _refund_first(billing: Billing, clock: Clock, reported: ProviderPayment) -> str:
    """A refund of a payment we have not seen yet: its tombstone (nothing to undo, nothing applied)."""
    now = clock.now()
    invoice = billing.find_invoice(reported.invoice_id)
    payment = _new_payment(reported, invoice, now, "refunded_unseen")
    _record_only(billing, payment, EventType.PAYMENT_REFUND_FIRST, now)
    return "refund-recorded-before-payment"


def _refund(billing: Billing, accounts: Accounts, clock: Clock, payment: Payment) -> str:
    """Undo exactly what this payment did: what it applied to its invoice, what it credited."""
    now = clock.now()
    was_applied, was_credited = payment.applied, payment.credited
    payment.status = "refunded"
    invoice = billing.find_invoice(payment.invoice_id) if was_applied else None
    with UnitOfWork() as uow:
        uow.save(payment)
        if invoice is not None:
            if invoice.status == "cancelled":
                # Cancelling a partly paid invoice (an upgrade's) moved what this payment applied to credit.
                was_credited += was_applied
            take_back(uow, invoice, was_applied, now)
        if was_credited:
            # The balance may go below zero if the credit already paid another invoice: the client owes it.
            credit(uow, accounts.get_client(payment.client_id), payment.currency, -was_credited, now, "refund",
                   payment=payment.pk)
        uow.emit([new_event(EventType.INVOICE_REFUNDED, client_id=payment.client_id, occurred_at=now, payload={
            "invoice_id": payment.invoice_id, "payment": payment.pk, "amount": payment.amount,
            "currency": payment.currency, "unapplied": was_applied, "uncredited": was_credited,
            "invoice_status": invoice.status if invoice else None,
        })])
    return "refunded"


def _payment_event(event_type: EventType, payment: Payment, now: datetime):
    return new_event(event_type, client_id=payment.client_id, occurred_at=now, payload={
        "provider": payment.provider, "payment_id": payment.provider_payment_id, "invoice_id": payment.invoice_id,
        "amount": payment.amount, "currency": payment.currency, "status": payment.status,
        "applied": payment.applied, "credited": payment.credited, "reported": payment.reported_amount,
    })
