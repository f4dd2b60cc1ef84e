"""Service lifecycle against the real table: renewals, overdue suspension and termination, cancellations
(holder only, password, policies, withdrawal, exactly once), domains, and the account removed from WHM."""

import json
import threading
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest

from devstack.fake_whm import FakeWhm
from shared import lifecycle
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import FixedClock, from_storage, to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.billing import Invoice
from shared.dal.catalog import Product
from shared.dal.lifecycle import BackupRetention, Cancellation
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from shared.ids import new_id
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, provision, relay

PASSWORD = "Segura123"
POLICY = lifecycle.LifecyclePolicy()


@pytest.fixture
def client_id(api, catalog):
    body = {"email": "ana@ejemplo.com.ar", "password": PASSWORD, "name": "Ana"}
    return api.call("POST", "/clients", body=body).json()["client_id"]


@pytest.fixture
def holder(client_id):
    return claims_for(client_id=client_id)


def _active(client_id, product_id="hosting-inicial", cycle="annually", start=None, **extra) -> Service:
    """An active service as activation leaves it: on the lifecycle sweep's index at its next step."""
    product = Product.get(*Product.key(product_id))
    start = start or local_midnight(add_months(local_date(datetime.now(UTC)), -6))
    service_id = new_id()
    now = to_storage(datetime.now(UTC))
    service = Service(
        *Service.key(service_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"SERVICE#{service_id}",
        service_id=service_id, client_id=client_id, product_id=product_id, product_name=product.name,
        product_group=product.group, product_kind=product.kind, status="active", billing_cycle=cycle,
        currency=product.currency, recurring_amount=product.price_list()[cycle], period_start=to_storage(start),
        period_end=to_storage(local_midnight(add_months(start.date(), 12 if cycle == "annually" else 1))),
        domain="ana.com.ar", activation_mode=product.activation_mode, activation_state="active",
        provisioning_module=product.provisioning_module, created_at=now, updated_at=now,
    )
    for name, value in extra.items():
        setattr(service, name, value)
    lifecycle.started(service)
    lifecycle.schedule(service, POLICY)
    service.save()
    return service


def _service(service_id) -> Service:
    return Service.get(*Service.key(service_id), consistent_read=True)


def _invoice(invoice_id) -> Invoice:
    return Invoice.get(*Invoice.key(invoice_id), consistent_read=True)


def _events(kind):
    return [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == kind]


def _snapshot():
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


def _renewals(at):
    from lifecycle.renewal_sweep import Repositories, accounts, billing, lifecycles, plan_changes, run, services

    return run(Repositories(lifecycles, services, billing, accounts, plan_changes), FixedClock(at), POLICY)


def _cancellations(at):
    from lifecycle.cancellations import billing, lifecycles, plan_changes, services, sweep

    return sweep(lifecycles, services, billing, plan_changes, FixedClock(at))


def _end(service) -> datetime:
    return from_storage(service.period_end)


# --- renewals ----------------------------------------------------------------------------------------


def test_the_renewal_invoice_is_issued_14_days_before_the_end_once_and_renews_on_the_anniversary(store, client_id):
    start = local_midnight(datetime(2026, 1, 31).date())
    service = _active(client_id, "hosting-inicial", "monthly", start=start,
                      period_start=to_storage(local_midnight(datetime(2027, 1, 31).date())),
                      period_end=to_storage(local_midnight(datetime(2027, 2, 28).date())))
    lifecycle.schedule(service, POLICY)
    service.save()
    issue_at = _end(service) - timedelta(days=14)

    assert _renewals(issue_at - timedelta(minutes=1))["issue_renewal"] == 0
    assert _renewals(issue_at + timedelta(minutes=5))["issue_renewal"] == 1
    assert _renewals(issue_at + timedelta(hours=6))["issue_renewal"] == 0  # exactly once per period
    renewed = _service(service.service_id)
    invoice = _invoice(renewed.renewal_invoice_id)
    assert (invoice.purpose, invoice.total, invoice.due_at, invoice.status) == ("renewal", 1000, service.period_end,
                                                                                "unpaid")
    assert invoice.lines[0].period_end == to_storage(local_midnight(datetime(2027, 3, 31).date()))
    assert [e["invoice_id"] for e in _events("invoice.renewal_created")] == [invoice.invoice_id]

    pay(store, invoice.invoice_id, at=issue_at + timedelta(days=1))
    assert _service(service.service_id).next_cycle_paid == 1000
    assert _renewals(_end(service) - timedelta(minutes=1))["advance"] == 0
    assert _renewals(_end(service) + timedelta(minutes=5))["advance"] == 1
    after = _service(service.service_id)
    # 31 Jan → 28 Feb → 31 Mar: the anniversary day, not the 28th.
    assert (after.period_start, after.period_end) == (service.period_end,
                                                      to_storage(local_midnight(datetime(2027, 3, 31).date())))
    assert (after.renewal_invoice_id, after.next_cycle_paid, after.paid_this_cycle) == (None, None, 1000)
    assert len(_events("service.renewed")) == 1


def test_unpaid_it_is_suspended_then_paid_late_it_is_unsuspended_at_once_without_moving_the_anniversary(
        stack, aws, store, client_id):
    service = _active(client_id, provisioning_account="anacomar", renewal_invoice_id=None)
    _renewals(_end(service) - timedelta(days=13))
    invoice_id = _service(service.service_id).renewal_invoice_id

    assert _renewals(_end(service) + timedelta(days=4))["suspend"] == 0
    assert _renewals(_end(service) + timedelta(days=5, minutes=5))["suspend"] == 1
    suspended = _service(service.service_id)
    assert (suspended.status, suspended.suspension_reason, suspended.suspension_invoice_id) == (
        "suspended", "overdue", invoice_id)
    relay(stack, aws)
    sqs = boto3.client("sqs", region_name="us-east-1")
    commands = [json.loads(m["Body"])["payload"] for m in sqs.receive_message(
        QueueUrl=stack.refs["ProvisioningQueue"], MaxNumberOfMessages=10).get("Messages", [])]
    assert [c["action"] for c in commands] == ["suspend"]

    pay(store, invoice_id, at=_end(service) + timedelta(days=8))
    paid = _service(service.service_id)
    assert (paid.status, paid.suspension_reason) == ("active", None)
    year_later = local_midnight(add_months(local_date(_end(service)), 12))
    assert (paid.period_start, paid.period_end) == (service.period_end, to_storage(year_later))
    assert len(_events("service.unsuspended")) == 1


def test_paying_a_renewal_does_not_lift_a_suspension_for_a_refunded_invoice(store, client_id):
    service = _active(client_id)
    _renewals(_end(service) - timedelta(days=13))
    renewal_id = _service(service.service_id).renewal_invoice_id
    held = _service(service.service_id)
    held.status, held.suspension_reason, held.suspension_invoice_id = "suspended", "payment_refunded", new_id()
    held.save()

    pay(store, renewal_id, at=_end(service) - timedelta(days=2))

    assert (_service(service.service_id).status, _service(service.service_id).next_cycle_paid) == ("suspended", 10000)


def test_unpaid_30_days_after_the_end_it_is_terminated_and_its_renewal_voided(store, client_id):
    service = _active(client_id)
    _renewals(_end(service) - timedelta(days=13))
    _renewals(_end(service) + timedelta(days=6))
    renewal_id = _service(service.service_id).renewal_invoice_id

    assert _renewals(_end(service) + timedelta(days=30, minutes=5))["terminate"] == 1

    ended = _service(service.service_id)
    assert (ended.status, ended.end_cause, ended.due_sk, ended.credentials_ciphertext) == (
        "terminated", "overdue", None, None)
    assert _invoice(renewal_id).status == "cancelled"
    assert [e["cause"] for e in _events("service.terminated")] == ["overdue"]
    pay_late = _renewals(_end(service) + timedelta(days=400))
    assert sum(pay_late.values()) == 0  # off the index for good


def test_a_downgrade_scheduled_for_the_renewal_applies_at_the_boundary_and_prices_the_renewal(api, store, holder,
                                                                                               client_id):
    service = _active(client_id, "hosting-avanzado")
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()
    assert body["upgrade"]["status"] == "scheduled"

    _renewals(_end(service) - timedelta(days=13))
    renewal = _invoice(_service(service.service_id).renewal_invoice_id)
    assert renewal.total == 10000  # the plan the next period will be on
    pay(store, renewal.invoice_id, at=_end(service) - timedelta(days=10))
    assert _service(service.service_id).product_id == "hosting-avanzado"  # until the boundary
    assert _renewals(_end(service) + timedelta(minutes=5))["advance"] == 1

    after = _service(service.service_id)
    assert (after.product_id, after.recurring_amount, after.pending_upgrade_id, after.paid_this_cycle) == (
        "hosting-inicial", 10000, None, 10000)
    assert after.period_start == service.period_end


# --- cancellation -------------------------------------------------------------------------------------


def _cancel(api, claims, service, kind="end_of_period", password=PASSWORD):
    return api.call("POST", f"/services/{service.service_id}/cancellation", claims=claims,
                    body={"type": kind, "reason": "Ya no lo uso", "password": password})


def test_only_the_holder_files_a_cancellation(api, client_id, holder):
    service = _active(client_id)
    contact = Contact(*Contact.key(client_id, new_id()), client_id=client_id, contact_id="x", email="c@e.com",
                      name="C", permissions=["services", "manage_services"], created_at=to_storage(datetime.now(UTC)))
    contact.contact_id = contact.sk.split("#")[1]
    contact.save()
    before = _snapshot()
    assert _cancel(api, claims_for(client_id=client_id, contact_id=contact.contact_id), service).status == 403
    assert _cancel(api, claims_for(staff=True), service).json()["code"] == "staff_has_no_account"
    assert _cancel(api, claims_for(client_id=new_id()), service).status == 404
    assert _snapshot() == before


def test_a_wrong_password_is_refused_counted_and_locks_after_five(api, client_id, holder):
    service = _active(client_id)
    answers = [_cancel(api, holder, service, password="Incorrecta1") for _ in range(5)]
    assert [a.status for a in answers] == [403, 403, 403, 403, 429]
    assert answers[0].json()["code"] == "wrong_password"
    # Locked: even the right password waits.
    locked = _cancel(api, holder, service)
    assert (locked.status, locked.json()["code"]) == (429, "too_many_attempts")
    assert _service(service.service_id).cancellation_type is None


def test_the_preview_tells_what_will_happen_and_changes_nothing(api, client_id, holder):
    service = _active(client_id, provisioning_account="anacomar")
    before = _snapshot()
    preview = api.call("GET", f"/services/{service.service_id}/cancellation-preview?type=end_of_period",
                       claims=holder).json()
    assert preview["effective_at"] == from_storage(service.period_end).isoformat().replace("+00:00", "Z")
    assert (preview["refund"], preview["renewal_policy"]) == ("none", "stands")
    assert "sitio web" in preview["deleted"] and preview["backup_retained_until"]
    assert any("No se reintegra" in m for m in preview["messages"])
    assert _snapshot() == before
    bad = api.call("GET", f"/services/{service.service_id}/cancellation-preview?type=maybe", claims=holder)
    assert bad.status == 422


def test_end_of_period_stays_active_then_the_sweep_ends_it_once_even_when_swept_concurrently(api, store, client_id,
                                                                                           holder):
    service = _active(client_id)
    answer = _cancel(api, holder, service)
    assert answer.status == 201, answer
    assert _cancel(api, holder, service).json()["code"] == "cancellation_pending"
    pending = _service(service.service_id)
    assert (pending.status, pending.auto_renew, pending.cancellation_type) == ("active", False, "end_of_period")
    assert _renewals(_end(service) - timedelta(days=13))["issue_renewal"] == 0  # never renewed

    assert _cancellations(_end(service) - timedelta(minutes=1))["executed"] == 0
    results = []
    threads = [threading.Thread(target=lambda: results.append(_cancellations(_end(service) + timedelta(minutes=1))))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["executed"] for r in results) == 1
    assert _service(service.service_id).status == "cancelled"
    assert len(_events("service.cancelled")) == 1
    assert api.call("DELETE", f"/services/{service.service_id}/cancellation", claims=holder).status == 409


def test_a_withdrawn_cancellation_leaves_the_service_renewing(api, client_id, holder):
    service = _active(client_id)
    assert _cancel(api, holder, service).status == 201
    answer = api.call("DELETE", f"/services/{service.service_id}/cancellation", claims=holder)
    assert (answer.status, answer.json()["status"]) == (200, "withdrawn")
    assert _cancellations(_end(service) + timedelta(days=1))["executed"] == 0
    assert _renewals(_end(service) - timedelta(days=13))["issue_renewal"] == 1
    assert _cancel(api, holder, service).status == 201  # may be filed again


@pytest.mark.parametrize("policy", ["stands", "void"])
def test_a_renewal_issued_before_the_request_stands_or_is_voided(api, client_id, holder, monkeypatch, policy):
    monkeypatch.setenv("LATE_CANCELLATION_RENEWAL", policy)
    service = _active(client_id)
    _renewals(_end(service) - timedelta(days=13))
    renewal_id = _service(service.service_id).renewal_invoice_id

    body = _cancel(api, holder, service).json()

    assert (body["renewal_policy"], body["standing_invoice_id"]) == (policy, renewal_id if policy == "stands" else None)
    assert _invoice(renewal_id).status == ("unpaid" if policy == "stands" else "cancelled")
    # Not suspended while the standing invoice is unpaid: the cancellation ends it at the period end.
    assert sum(_renewals(_end(service) + timedelta(days=6)).values()) == 0
    _cancellations(_end(service) + timedelta(minutes=1))
    assert _service(service.service_id).status == "cancelled"
    assert _invoice(renewal_id).status == ("unpaid" if policy == "stands" else "cancelled")


def test_under_stands_paying_the_standing_invoice_moves_the_end_to_the_period_it_pays(api, store, client_id, holder):
    service = _active(client_id)
    _renewals(_end(service) - timedelta(days=13))
    renewal_id = _service(service.service_id).renewal_invoice_id
    _cancel(api, holder, service)

    pay(store, renewal_id, at=_end(service) - timedelta(days=3))
    next_end = local_midnight(add_months(local_date(_end(service)), 12))

    assert Cancellation.get(*Cancellation.key(service.service_id)).effective_at == to_storage(next_end)
    assert _cancellations(_end(service) + timedelta(minutes=1))["executed"] == 0
    _renewals(_end(service) + timedelta(minutes=5))
    assert _service(service.service_id).period_end == to_storage(next_end)
    assert _cancellations(next_end + timedelta(minutes=1))["executed"] == 1


def test_an_immediate_cancellation_runs_through_the_queue_and_removes_the_account_from_whm_once(
        api, stack, aws, store, client_id, holder):
    whm = FakeWhm("test-whm-token").start()
    try:
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=stack.refs["ProvisioningSecrets"],
            SecretString=json.dumps({"whm_url": whm.url, "whm_token": "test-whm-token"}))
        whm.handle("createacct", {"username": "anacomar", "domain": "ana.com.ar", "plan": "hosting-inicial"})
        whm.add_backup("anacomar", date(2026, 11, 20))
        service = _active(client_id, provisioning_account="anacomar", credentials_ciphertext="x")

        assert _cancel(api, holder, service, kind="immediate").status == 201
        relay(stack, aws)
        sqs = boto3.client("sqs", region_name="us-east-1")
        got = sqs.receive_message(QueueUrl=stack.refs["CancellationsQueue"], MaxNumberOfMessages=10)["Messages"]
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]} for m in got]
        from devstack.runtime import Runtime

        runtime = Runtime(stack)
        assert runtime.invoke("CancellationWorkerFunction", {"Records": records}) == {"batchItemFailures": []}
        runtime.invoke("CancellationWorkerFunction", {"Records": records})  # redelivered: nothing more
        assert _service(service.service_id).status == "cancelled"
        assert _cancellations(datetime.now(UTC) + timedelta(hours=1))["executed"] == 0

        relay(stack, aws)
        records, result = provision(stack)
        assert [json.loads(r["body"])["payload"]["action"] for r in records] == ["terminate"]
        assert result == {"batchItemFailures": []}
        Runtime(stack).invoke("ProvisioningFunction", {"Records": records})  # a redelivered command
        assert "anacomar" not in whm.accounts
        assert whm.calls_to("removeacct") == 1
        ended = _service(service.service_id)
        newest = max(whm.backups["anacomar"])  # the account's creation day, or the 20th
        kept = newest.replace(year=newest.year + 10)
        assert (ended.account_removal, ended.last_backup_on, ended.backup_retained_until) == (
            "removed", newest.isoformat(), kept.isoformat())
        retention = BackupRetention.get(*BackupRetention.key(service.service_id))
        assert retention.retained_until == kept.isoformat() and retention.expires_at is not None
        detail = api.call("GET", f"/me/services/{service.service_id}", claims=holder).json()
        assert f"Backup disponible hasta {kept.strftime('%d/%m/%Y')}" in detail["lifecycle"]["message"]
        restore = api.call("POST", f"/services/{service.service_id}/backup-restore-requests", claims=holder, body={})
        assert restore.status == 201
        listed = api.call("GET", "/staff/backup-restore-requests", claims=claims_for(staff=True)).json()
        assert [r["request_id"] for r in listed] == [restore.json()["request_id"]]
    finally:
        whm.stop()


def test_refusals_domain_ended_and_bad_input_change_nothing(api, client_id, holder):
    domain = _active(client_id, "dominio-com-ar")
    before = _snapshot()
    refused = _cancel(api, holder, domain)
    assert (refused.status, refused.json()["code"]) == (409, "domain_cannot_be_cancelled")
    assert "auto_renew" in refused.json()["message"]
    service = _active(client_id)
    before = _snapshot()
    for body in ({"type": "later", "reason": "x", "password": PASSWORD}, {"type": "immediate", "password": PASSWORD},
                 {"type": "immediate", "reason": "", "password": PASSWORD}, {"type": "immediate", "reason": "x"},
                 {"type": "immediate", "reason": "x", "password": PASSWORD, "extra": 1}):
        answer = api.call("POST", f"/services/{service.service_id}/cancellation", claims=holder, body=body)
        assert answer.status == 422, (body, answer)
    assert _snapshot() == before
    staff = api.call("POST", f"/staff/services/{service.service_id}/termination", claims=claims_for(staff=True),
                     body={"reason": "Orden judicial 123/2026"})
    assert (staff.status, staff.json()["status"]) == (200, "terminated")
    assert [e["reason"] for e in _events("service.terminated")] == ["Orden judicial 123/2026"]
    assert _cancel(api, holder, service).json()["code"] == "service_ended"


# --- domains ------------------------------------------------------------------------------------------


def test_a_domain_stops_renewing_its_unpaid_renewal_is_voided_and_it_expires_at_the_end(api, client_id, holder):
    domain = _active(client_id, "dominio-com-ar")
    _renewals(_end(domain) - timedelta(days=13))
    renewal_id = _service(domain.service_id).renewal_invoice_id

    off = api.call("PATCH", f"/services/{domain.service_id}", claims=holder, body={"auto_renew": False})

    assert (off.status, off.json()["auto_renew"]) == (200, False)
    assert _invoice(renewal_id).status == "cancelled"
    assert _renewals(_end(domain) + timedelta(minutes=5))["expire"] == 1
    expired = _service(domain.service_id)
    assert (expired.status, expired.end_cause) == ("expired", "expired")
    assert _events("service.provisioning_requested") == []  # nothing deleted from a server


def test_turning_a_domains_renewal_on_again_issues_the_renewal_if_due(api, client_id, holder):
    domain = _active(client_id, "dominio-com-ar")
    api.call("PATCH", f"/services/{domain.service_id}", claims=holder, body={"auto_renew": False})
    from shared.clock import shift_system_clock

    shift = _end(domain) - timedelta(days=5) - datetime.now(UTC)
    shift_system_clock(shift)
    try:
        on = api.call("PATCH", f"/services/{domain.service_id}", claims=holder, body={"auto_renew": True})
    finally:
        shift_system_clock(-shift)
    assert on.status == 200
    assert _invoice(_service(domain.service_id).renewal_invoice_id).purpose == "renewal"
    hosting = _active(client_id)
    refused = api.call("PATCH", f"/services/{hosting.service_id}", claims=holder, body={"auto_renew": False})
    assert (refused.status, refused.json()["code"]) == (409, "not_a_domain")
    contact = claims_for(client_id=client_id, contact_id=new_id())
    assert api.call("PATCH", f"/services/{domain.service_id}", claims=contact, body={"auto_renew": False}).status == 403
    assert Client.get(*Client.key(client_id))  # untouched account


def test_a_renewal_refunded_after_its_period_started_suspends_and_paid_again_buys_no_extra_period(store, client_id):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.money import Currency, Money

    service = _active(client_id)
    _renewals(_end(service) - timedelta(days=13))
    renewal_id = _service(service.service_id).renewal_invoice_id
    pay(store, renewal_id, at=_end(service) - timedelta(days=2))
    _renewals(_end(service) + timedelta(minutes=5))  # the paid period starts
    started = _service(service.service_id)

    refund = ProviderPayment("mercadopago", f"mp-{renewal_id}", "refunded", Money(10000, Currency("ARS")),
                             renewal_id, "refunded")
    settle(store.billing, store.accounts, FixedClock(_end(service) + timedelta(days=3)), refund)
    refunded = _service(service.service_id)
    assert (refunded.status, refunded.suspension_reason) == ("suspended", "payment_refunded")

    again = ProviderPayment("mercadopago", f"mp2-{renewal_id}", "approved", Money(10000, Currency("ARS")),
                            renewal_id, "approved")
    settle(store.billing, store.accounts, FixedClock(_end(service) + timedelta(days=4)), again)
    paid = _service(service.service_id)
    assert (paid.status, paid.next_cycle_paid, paid.renewal_invoice_id) == ("active", None, None)
    assert paid.period_end == started.period_end
    assert lifecycle.next_step(paid, POLICY)[0] == "issue_renewal"  # the next period needs its own invoice


def test_a_renewal_paid_late_applies_the_downgrade_scheduled_for_it_then_starts_the_period(api, store, holder,
                                                                                           client_id):
    service = _active(client_id, "hosting-avanzado")
    api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder, body={"target": "hosting-inicial"})
    _renewals(_end(service) - timedelta(days=13))
    renewal_id = _service(service.service_id).renewal_invoice_id
    _renewals(_end(service) + timedelta(days=6))
    assert _service(service.service_id).status == "suspended"

    pay(store, renewal_id, at=_end(service) + timedelta(days=8))

    after = _service(service.service_id)
    assert (after.status, after.product_id, after.pending_upgrade_id) == ("active", "hosting-inicial", None)
    assert (after.period_start, after.paid_this_cycle) == (service.period_end, 10000)


def test_refunding_the_current_periods_renewal_keeps_the_next_one_and_paying_it_again_lifts_only_its_suspension(
        store, client_id):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.money import Currency, Money

    service = _active(client_id, "hosting-inicial", "monthly", start=local_midnight(
        add_months(local_date(datetime.now(UTC)), -1)))
    _renewals(_end(service) - timedelta(days=13))
    first = _service(service.service_id).renewal_invoice_id
    pay(store, first, at=_end(service) - timedelta(days=5))
    _renewals(_end(service) + timedelta(minutes=5))
    started = _service(service.service_id)
    _renewals(_end(started) - timedelta(days=13))  # the next period's renewal is issued
    second = _service(service.service_id).renewal_invoice_id
    assert second != first

    money = Money(1000, Currency("ARS"))
    at = _end(started) - timedelta(days=10)
    settle(store.billing, store.accounts, FixedClock(at),
           ProviderPayment("mercadopago", f"mp-{first}", "refunded", money, first, "refunded"))
    refunded = _service(service.service_id)
    assert (refunded.status, refunded.suspension_invoice_id, refunded.renewal_invoice_id) == (
        "suspended", first, second)

    pay(store, second, at=at + timedelta(hours=1))  # the next period: paid ahead, the suspension stays
    assert (_service(service.service_id).status, _service(service.service_id).next_cycle_paid) == ("suspended", 1000)
    settle(store.billing, store.accounts, FixedClock(at + timedelta(hours=2)),
           ProviderPayment("mercadopago", f"mp3-{first}", "approved", money, first, "approved"))
    assert _service(service.service_id).status == "active"


def test_services_active_before_the_lifecycle_are_put_on_the_renewal_index_once(client_id):
    from tools.backfill_lifecycle import backfill

    service = _active(client_id)
    legacy = _service(service.service_id)
    legacy.anniversary_on = legacy.due_pk = legacy.due_sk = None
    legacy.save()

    assert backfill()["scheduled"] == 1
    assert backfill()["scheduled"] == 0  # re-running changes nothing
    assert _renewals(_end(service) - timedelta(days=13))["issue_renewal"] == 1
