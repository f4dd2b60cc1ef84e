"""Money taken back and paid again, refunds out of order, refunds during provisioning, upgrade refunds,
credit spent on new invoices and amounts no invoice may take (issue 9, defects 1-4, 12 and 14)."""

import json
from datetime import UTC, datetime

import pytest

from shared.clock import FixedClock
from shared.dal.accounts import Client
from shared.dal.billing import Invoice, Payment
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from shared.dal.upgrades import Upgrade
from shared.money import Currency, Money
from tests.integration.flows import pay, provision, relay
from tests.integration.test_activation import STAFF, _order, client_id, whm  # noqa: F401 (fixtures)

NOW = FixedClock(datetime.now(UTC))


def _settle(store, provider, payment_id, status, amount, invoice_id, provider_status="x"):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    money = Money(amount, Currency.ARS) if amount is not None else None
    return settle(store.billing, store.accounts, NOW,
                  ProviderPayment(provider, payment_id, status, money, invoice_id, provider_status))


def _service(service_id):
    return Service.get(*Service.key(service_id), consistent_read=True)


def _invoice(invoice_id):
    return Invoice.get(*Invoice.key(invoice_id), consistent_read=True)


def _events(kind):
    return [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == kind]


def _active_hosting(api, stack, aws, store, client_id):  # noqa: F811
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    provision(stack)
    return order["service"]["service_id"], order["invoice"]["invoice_id"]


def test_a_refunded_invoice_paid_again_unsuspends_the_account(api, stack, aws, store, whm, client_id):  # noqa: F811
    service_id, invoice_id = _active_hosting(api, stack, aws, store, client_id)
    (username,) = whm.accounts
    assert _settle(store, "mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id) == "refunded"
    relay(stack, aws)
    provision(stack)
    assert (_service(service_id).status, whm.accounts[username]["suspended"]) == ("suspended", True)
    assert _invoice(invoice_id).status == "refunded"

    # Paid again (a new provider payment): applied to the invoice, never swallowed into credit.
    assert _settle(store, "mercadopago", "mp-second", "approved", 10000, invoice_id) == "applied"
    relay(stack, aws)
    provision(stack)

    assert (_invoice(invoice_id).status, _invoice(invoice_id).amount_paid) == ("paid", 10000)
    assert (_service(service_id).status, _service(service_id).suspension_reason) == ("active", None)
    assert whm.accounts[username]["suspended"] is False
    assert [e["service_id"] for e in _events("service.restored")] == [service_id]
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 0


def test_an_activation_cancelled_by_a_refund_starts_over_when_paid_again(api, stack, aws, store, whm, client_id):  # noqa: F811
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    service_id, invoice_id = order["service"]["service_id"], order["invoice"]["invoice_id"]
    pay(store, invoice_id)  # queued, not provisioned yet
    _settle(store, "mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id)
    assert _service(service_id).activation_state == "cancelled"

    _settle(store, "mercadopago", "mp-again", "approved", 10000, invoice_id)
    assert _service(service_id).activation_state == "queued"
    relay(stack, aws)
    provision(stack)

    assert _service(service_id).status == "active" and len(whm.accounts) == 1


def test_a_stripe_refund_before_its_payment_is_kept_and_the_late_payment_applies_nothing(
        api, store, client_id):  # noqa: F811
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    invoice_id, service_id = order["invoice"]["invoice_id"], order["service"]["service_id"]

    first = _settle(store, "stripe", "pi_1", "refunded", 10000, invoice_id, "charge.refunded")
    late = _settle(store, "stripe", "pi_1", "approved", 10000, invoice_id, "succeeded")

    assert (first, late) == ("refund-recorded-before-payment", "ignored:refunded-before-payment")
    assert Payment.get(*Payment.key("stripe", "pi_1")).status == "refunded_unseen"
    assert (_invoice(invoice_id).status, _invoice(invoice_id).amount_paid) == ("unpaid", 0)
    assert _service(service_id).activation_state == "awaiting_payment"


def test_refunding_an_upgrade_reverts_the_plan_and_never_suspends(api, stack, aws, store, whm, client_id):  # noqa: F811
    service_id, _ = _active_hosting(api, stack, aws, store, client_id)
    (username,) = whm.accounts
    holder = {"sub": "s", "token_use": "id", "custom:client_id": client_id}
    ordered = api.call("POST", f"/services/{service_id}/upgrades", claims=holder,
                       body={"target": "hosting-avanzado"}).json()
    upgrade_invoice = ordered["invoice"]["invoice_id"]
    pay(store, upgrade_invoice)
    relay(stack, aws)
    provision(stack)
    assert (_service(service_id).product_id, whm.accounts[username]["plan"]) == ("hosting-avanzado",
                                                                                 "hosting-avanzado")
    assert _service(service_id).paid_this_cycle == 15000

    assert _settle(store, "mercadopago", f"mp-{upgrade_invoice}", "refunded", None, upgrade_invoice) == "refunded"
    relay(stack, aws)
    provision(stack)

    service = _service(service_id)
    assert (service.status, service.product_id, service.recurring_amount) == ("active", "hosting-inicial", 10000)
    assert (service.paid_this_cycle, service.pending_upgrade_id) == (10000, None)
    assert Upgrade.get(*Upgrade.key(ordered["upgrade"]["upgrade_id"])).status == "reverted"
    assert whm.accounts[username] == {**whm.accounts[username], "plan": "hosting-inicial", "suspended": False}
    # The change is over: its invoice is closed, and paying it again buys nothing, so it goes to credit.
    assert _invoice(upgrade_invoice).status == "cancelled"
    assert _settle(store, "mercadopago", "mp-late", "approved", 5000, upgrade_invoice) == "credited"
    assert _service(service_id).product_id == "hosting-inicial"


def test_a_refunds_suspend_delivered_after_the_repayments_unsuspend_is_skipped(
        api, stack, aws, store, whm, client_id):  # noqa: F811
    from activation.server_accounts import apply_to_server
    from activation.worker import whm as configured_whm

    service_id, invoice_id = _active_hosting(api, stack, aws, store, client_id)
    (username,) = whm.accounts
    _settle(store, "mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id)
    _settle(store, "mercadopago", "mp-again", "approved", 10000, invoice_id)  # paid again: active
    command = {"service_id": service_id, "module": "cpanel"}

    unsuspended = apply_to_server(store.services, store.upgrades, NOW, configured_whm(),
                                  {**command, "action": "unsuspend"})
    late = apply_to_server(store.services, store.upgrades, NOW, configured_whm(),
                           {**command, "action": "suspend", "reason": "Pago devuelto"})

    assert (unsuspended, late) == ("unsuspend:done", "skipped:suspend-stale")
    assert whm.accounts[username]["suspended"] is False and _service(service_id).status == "active"


def test_a_refund_cancels_a_failed_activation_so_a_staff_retry_cannot_provision_it(
        api, store, client_id):  # noqa: F811
    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    service_id, invoice_id = order["service"]["service_id"], order["invoice"]["invoice_id"]
    pay(store, invoice_id)
    failed = _service(service_id)
    failed.status, failed.activation_state = "activation_failed", "failed"
    failed.save()

    _settle(store, "mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id)
    retry = api.call("POST", f"/staff/services/{service_id}/activation", claims=STAFF, body={"action": "retry"})

    assert (_service(service_id).status, _service(service_id).activation_state) == ("pending", "cancelled")
    assert (retry.status, retry.json()["code"]) == (409, "not_failed")


def test_a_refund_during_provisioning_still_records_the_account_and_suspends_it(
        api, stack, aws, store, kms, whm, client_id):  # noqa: F811
    from activation import cpanel
    from activation.server_accounts import provision as create_account

    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    service_id, invoice_id = order["service"]["service_id"], order["invoice"]["invoice_id"]
    pay(store, invoice_id)

    class RefundedWhileCreating(cpanel.WhmApi):
        def call(self, function, **params):
            if function == "createacct":  # the refund lands while WHM creates the account
                _settle(store, "mercadopago", f"mp-{invoice_id}", "refunded", None, invoice_id)
            return super().call(function, **params)

    outcome = create_account(store.services, store.accounts, kms, NOW, RefundedWhileCreating(whm.url, "test-whm-token"),
                             service_id)

    service = _service(service_id)
    assert outcome == "recorded:suspend-queued"
    assert (service.activation_state, service.provisioning_account) == ("cancelled", next(iter(whm.accounts)))
    assert service.credentials_ciphertext
    suspend = [e for e in _events("service.provisioning_requested") if e["action"] == "suspend"]
    assert [e["service_id"] for e in suspend] == [service_id]


def test_credit_pays_new_invoices_at_issue_and_runs_the_paid_reactions(api, store, client_id):  # noqa: F811
    first = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    _settle(store, "mercadopago", "mp-over", "approved", 30000, first["invoice"]["invoice_id"])  # 200,00 extra
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 20000

    second = _order(api, client_id, product_id="hosting-avanzado", billing_cycle="annually", domain="b.com.ar")

    assert (second["invoice"]["status"], second["invoice"]["amount_paid"]["amount"]) == ("paid", 15000)
    assert _service(second["service"]["service_id"]).activation_state == "queued"
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 5000
    assert [e["invoice_id"] for e in _events("invoice.paid")][-1] == second["invoice"]["invoice_id"]
    (by_credit,) = [p for p in store.payments_of_invoice(second["invoice"]["invoice_id"])]
    assert (by_credit.provider, by_credit.applied, by_credit.status) == ("credit", 15000, "applied")

    third = _order(api, client_id, product_id="hosting-avanzado", billing_cycle="annually", domain="c.com.ar")
    assert (third["invoice"]["status"], third["invoice"]["amount_paid"]["amount"]) == ("unpaid", 5000)
    assert Client.get(*Client.key(client_id)).credit_in("ARS") == 0


@pytest.mark.parametrize("provider,amount,currency", [
    ("stripe", -5000, "ars"), ("stripe", 0, "ars"), ("stripe", 50.5, "ars"), ("stripe", True, "ars"),
    ("mercadopago", "-3.00", "ARS"), ("mercadopago", "0", "ARS"), ("mercadopago", "1.005", "ARS"),
    ("mercadopago", "NaN", "ARS"), ("mercadopago", None, "ARS"),
])
def test_amounts_no_invoice_may_take_are_kept_for_staff_and_change_nothing(
        api, store, client_id, provider, amount, currency):  # noqa: F811
    from payments.providers import ProviderPayment, reported_amount
    from payments.settlement import settle

    order = _order(api, client_id, product_id="hosting-inicial", billing_cycle="annually", domain="ana.com.ar")
    invoice_id = order["invoice"]["invoice_id"]
    money, problem, text = reported_amount(amount, currency, minor_units=provider == "stripe")
    reported = ProviderPayment(provider, "p-1", "approved", money, invoice_id, "approved", problem, text)

    assert settle(store.billing, store.accounts, NOW, reported) == "invalid_amount"
    assert (_invoice(invoice_id).amount_paid, _invoice(invoice_id).status) == (0, "unpaid")
    (kept,) = store.unmatched_payments()
    assert (kept.status, kept.applied, kept.reported_amount) == ("invalid_amount", 0, text)
    staff = api.call("GET", "/staff/payments/unmatched", claims=STAFF).json()
    assert [p["status"] for p in staff] == ["invalid_amount"]


def test_a_stripe_event_without_payment_id_is_refused_and_a_reference_not_a_string_is_unmatched(store):
    from payments.providers import MissingPaymentId, stripe_payment

    with pytest.raises(MissingPaymentId):
        stripe_payment({"type": "payment_intent.succeeded", "data": {"object": {"amount_received": 100,
                                                                                 "currency": "ars"}}})
    odd = stripe_payment({"type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_2", "amount_received": 100, "currency": "ars", "metadata": {"invoice_id": ["x"]}}}})
    assert odd.invoice_id is None
