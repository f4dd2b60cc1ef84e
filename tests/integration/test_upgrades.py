"""Plan changes through the real handlers on moto: options, orders, payment, sweep, manual requests."""

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from devstack.fake_whm import FakeWhm
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import FixedClock, from_storage, to_storage
from shared.dal.accounts import Client, Contact
from shared.dal.billing import Invoice, InvoiceLine
from shared.dal.catalog import Product
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from shared.dal.upgrades import Upgrade
from shared.ids import new_id
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, provision, relay

STAFF = claims_for(staff=True, sub="staff-1")
WHM_TOKEN = "test-whm-token"


@pytest.fixture
def client_id(api, catalog):
    body = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
    client_id = api.call("POST", "/clients", body=body).json()["client_id"]
    client = Client.get(*Client.key(client_id))
    client.account_executive = "Laura (ventas)"
    client.save()
    return client_id


@pytest.fixture
def holder(client_id):
    return claims_for(client_id=client_id)


def _active(client_id, product_id="hosting-inicial", cycle="annually", months_ago=6, **extra) -> Service:
    """An active service in the middle of its cycle, as activation leaves it."""
    product = Product.get(*Product.key(product_id))
    start = local_midnight(add_months(local_date(datetime.now(UTC)), -months_ago))
    service_id = new_id()
    now = to_storage(datetime.now(UTC))
    service = Service(
        *Service.key(service_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"SERVICE#{service_id}",
        service_id=service_id, client_id=client_id, product_id=product_id, product_name=product.name,
        product_group=product.group, status="active", billing_cycle=cycle, currency=product.currency,
        recurring_amount=int(product.prices.as_dict()[cycle]), period_start=to_storage(start),
        period_end=to_storage(local_midnight(add_months(start.date(), 12 if cycle == "annually" else 1))),
        domain="ana.com.ar", activation_mode=product.activation_mode, activation_state="active",
        provisioning_module=product.provisioning_module, created_at=now, updated_at=now,
    )
    for name, value in extra.items():
        setattr(service, name, value)
    service.save()
    return service




def _events(kind):
    return [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == kind]


def _all(model):
    return [i for i in TableItem.scan() if isinstance(i, model)]


def _snapshot():
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


def _sweep(at):
    from upgrade.sweep import accounts, billing, plan_changes, run, services

    return run(plan_changes, services, billing, accounts, FixedClock(at))


def _renewals(at):
    from lifecycle.renewal_sweep import Repositories, accounts, billing, lifecycles, plan_changes, run, services

    from shared.lifecycle import LifecyclePolicy

    return run(Repositories(lifecycles, services, billing, accounts, plan_changes), FixedClock(at), LifecyclePolicy())


def _renewal_paid(service_id) -> Service:
    """The service's next period is paid (as its paid renewal invoice leaves it), on the renewal engine's index."""
    from shared import lifecycle

    service = Service.get(*Service.key(service_id))
    service.next_cycle_paid = service.recurring_amount
    lifecycle.schedule(service, lifecycle.LifecyclePolicy())
    service.save()
    return service


def test_the_help_centre_example_annual_100_to_150_in_the_middle_of_the_year_pays_50(api, store, holder, client_id):
    service = _active(client_id)
    options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()
    # The manual request is always on offer, and names the executive even when automatic changes exist.
    assert options["manual_request"]["account_executive"] == "Laura (ventas)"
    assert options["message"] == "Elija el nuevo plan: solo abona la diferencia."

    assert options["automatic"] is True and options["blockers"] == []
    annual = {o["product_id"]: o for o in options["options"] if o["billing_cycle"] == "annually"}
    assert annual["hosting-avanzado"]["due_now"]["amount"] == 5000
    assert annual["hosting-avanzado"]["due_now"]["display"] == "ARS 50,00"
    assert annual["hosting-empresa"]["due_now"]["amount"] == 15000
    assert options["options"][0]["billing_cycle"] == "annually"  # the current cycle first
    assert annual["hosting-avanzado"]["next_due_on"] == local_date(from_storage(service.period_end)).isoformat()

    ordered = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                       body={"target": "hosting-avanzado"})
    assert ordered.status == 201, ordered
    body = ordered.json()
    assert (body["upgrade"]["status"], body["invoice"]["total"]["amount"]) == ("awaiting_payment", 5000)
    assert body["invoice"]["lines"][0]["description"].startswith("Cambio de plan: Hosting Inicial → Hosting Avanzado")
    assert Service.get(*Service.key(service.service_id)).product_id == "hosting-inicial"  # not before payment

    assert pay(store, body["invoice"]["invoice_id"]) == "applied"

    after = Service.get(*Service.key(service.service_id))
    assert (after.product_id, after.product_name, int(after.recurring_amount)) == (
        "hosting-avanzado", "Hosting Avanzado", 15000)
    assert (after.period_start, after.period_end) == (service.period_start, service.period_end)  # due date stays
    assert after.pending_upgrade_id is None and after.activation_state == "active"
    (upgrade,) = _all(Upgrade)
    assert upgrade.status == "completed"
    assert [e["to_product"] for e in _events("upgrade.completed")] == ["Hosting Avanzado"]
    assert _events("service.provisioning_requested") == []  # no server account on this service: no command






def test_a_paid_upgrade_changes_the_package_in_whm_then_completes(api, stack, aws, store, holder, client_id):
    fake = FakeWhm(WHM_TOKEN).start()
    try:
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=stack.refs["ProvisioningSecrets"],
            SecretString=json.dumps({"whm_url": fake.url, "whm_token": WHM_TOKEN}))
        order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                         body={"product_id": "hosting-inicial", "billing_cycle": "annually", "domain": "ana.com.ar"})
        service_id = order.json()["service"]["service_id"]
        pay(store, order.json()["invoice"]["invoice_id"])
        relay(stack, aws)
        provision(stack)
        (username,) = fake.accounts
        assert Service.get(*Service.key(service_id)).server == "127.0.0.1"  # where the account lives
        from shared.dal.status import StatusRepository  # … and the status page's alerts find it there

        assert StatusRepository().services_on(["127.0.0.1"]) == [service_id]

        upgrade = api.call("POST", f"/services/{service_id}/upgrades", claims=holder,
                           body={"target": "hosting-empresa"}).json()
        assert upgrade["invoice"]["total"]["amount"] == 15000  # 250 - 100 already paid this year
        pay(store, upgrade["invoice"]["invoice_id"])
        applying = Upgrade.get(*Upgrade.key(upgrade["upgrade"]["upgrade_id"]))
        assert applying.status == "applying" and _events("upgrade.completed") == []
        relay(stack, aws)
        records, result = provision(stack)

        # A fresh relay replays the stream from its start: the old create command comes again and is skipped.
        actions = [json.loads(r["body"])["payload"]["action"] for r in records]
        assert actions.count("change_package") == 1 and result == {"batchItemFailures": []}
        assert fake.accounts[username]["plan"] == "hosting-empresa"
        assert Upgrade.get(*Upgrade.key(applying.upgrade_id)).status == "completed"
        service = Service.get(*Service.key(service_id))
        assert (service.product_id, service.pending_upgrade_id) == ("hosting-empresa", None)
        assert len(_events("upgrade.completed")) == 1
    finally:
        fake.stop()


def test_fifty_concurrent_upgrade_orders_on_one_service_make_exactly_one(store, client_id):
    from upgrade.logic import order_upgrade
    from upgrade.pricing import PricingPolicy
    from upgrade.schemas import UpgradeOrder

    from shared.auth import identity_from_claims
    from shared.clock import SystemClock
    from shared.errors import DomainError

    service = _active(client_id)
    identity = identity_from_claims(claims_for(client_id=client_id))
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            order_upgrade(store, SystemClock(), PricingPolicy(), 7, identity, service.service_id,
                          UpgradeOrder(target="hosting-avanzado"))
            outcomes.append("ordered")
        except DomainError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ordered") == 1
    assert set(outcomes) - {"ordered"} <= {"upgrade_pending", "concurrent_modification"}
    assert len(_all(Upgrade)) == 1
    assert len([i for i in _all(Invoice) if i.upgrade_id]) == 1
    assert Service.get(*Service.key(service.service_id)).pending_upgrade_id == _all(Upgrade)[0].upgrade_id


def test_a_second_upgrade_while_one_is_pending_is_409(api, holder, client_id):
    service = _active(client_id)
    first = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                     body={"target": "hosting-avanzado"})
    second = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                      body={"target": "hosting-empresa"})
    options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()

    assert first.status == 201
    assert (second.status, second.json()["code"]) == (409, "upgrade_pending")
    assert options["pending_upgrade"]["upgrade_id"] == first.json()["upgrade"]["upgrade_id"]


def test_an_unpaid_upgrade_expires_and_frees_the_service(api, store, holder, client_id):
    service = _active(client_id)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()
    pay_by = from_storage(body["upgrade"]["pay_by"])
    assert (pay_by - datetime.now(UTC)) > timedelta(days=7)  # the whole 7th local day is still in time
    # One date for the client: the invoice is due on the change's last day to pay, not three days in.
    assert from_storage(body["invoice"]["due_at"].replace("+00:00", "Z")) == pay_by - timedelta(days=1)

    nothing = {"expired": 0, "skipped": 0}
    assert _sweep(pay_by - timedelta(minutes=1)) == nothing
    assert _sweep(pay_by + timedelta(minutes=1)) == {**nothing, "expired": 1}
    assert _sweep(pay_by + timedelta(hours=2)) == nothing  # off the index

    upgrade = Upgrade.get(*Upgrade.key(body["upgrade"]["upgrade_id"]))
    invoice = Invoice.get(*Invoice.key(body["invoice"]["invoice_id"]))
    assert (upgrade.status, invoice.status, invoice.due_pk) == ("expired", "cancelled", None)
    assert Service.get(*Service.key(service.service_id)).pending_upgrade_id is None
    assert [e["by"] for e in _events("upgrade.expired")] == ["sweep"]
    again = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                     body={"target": "hosting-empresa"})
    assert again.status == 201  # a forgotten upgrade never blocks the next one
    # Paying the expired invoice late changes no plan: the money goes to the account's credit.
    assert pay(store, body["invoice"]["invoice_id"]) == "credited"
    assert Service.get(*Service.key(service.service_id)).product_id == "hosting-inicial"


def test_the_client_cancels_a_pending_upgrade(api, holder, client_id):
    service = _active(client_id)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()
    path = f"/services/{service.service_id}/upgrades/{body['upgrade']['upgrade_id']}/cancel"

    cancelled = api.call("POST", path, claims=holder)
    again = api.call("POST", path, claims=holder)

    assert (cancelled.status, cancelled.json()["status"]) == (200, "cancelled")
    assert (again.status, again.json()["code"]) == (409, "upgrade_not_cancellable")
    assert Invoice.get(*Invoice.key(body["invoice"]["invoice_id"])).status == "cancelled"
    assert Service.get(*Service.key(service.service_id)).pending_upgrade_id is None
    history = api.call("GET", f"/services/{service.service_id}/upgrades", claims=holder).json()
    assert [u["status"] for u in history] == ["cancelled"]


def test_a_downgrade_waits_for_the_renewal_then_applies(api, holder, client_id):
    service = _active(client_id, "hosting-avanzado")
    options = {(o["product_id"], o["billing_cycle"]): o for o in api.call(
        "GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()["options"]}
    assert options[("hosting-empresa", "annually")]["takes_effect"] == "now"
    assert options[("hosting-inicial", "annually")]["takes_effect"] == "next_renewal"

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()

    assert (body["upgrade"]["status"], body["upgrade"]["change"], body["invoice"]) == ("scheduled", "downgrade", None)
    assert body["upgrade"]["effective_at"] == from_storage(service.period_end).isoformat().replace("+00:00", "Z")
    renewal_at = from_storage(service.period_end)
    _renewal_paid(service.service_id)
    assert _renewals(renewal_at - timedelta(minutes=1))["advance"] == 0
    assert _sweep(renewal_at + timedelta(minutes=1)) == {"expired": 0, "skipped": 0}  # the renewal engine's
    assert Service.get(*Service.key(service.service_id)).product_id == "hosting-avanzado"
    assert _renewals(renewal_at + timedelta(minutes=1))["advance"] == 1

    after = Service.get(*Service.key(service.service_id))
    assert (after.product_id, int(after.recurring_amount), after.pending_upgrade_id) == ("hosting-inicial", 10000, None)
    assert Upgrade.get(*Upgrade.key(body["upgrade"]["upgrade_id"])).status == "completed"


def test_an_immediate_downgrade_with_credit_applies_at_once_with_nothing_to_pay(api, holder, client_id, monkeypatch):
    monkeypatch.setenv("DOWNGRADE_TIMING", "immediate_credit")
    service = _active(client_id, "hosting-avanzado")

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()

    assert (body["upgrade"]["status"], body["invoice"]) == ("completed", None)
    credit = body["upgrade"]["credit"]["amount"]
    assert 0 < credit < 5000  # the unused part of the 50 difference, never the whole of it
    assert Client.get(*Client.key(client_id)).credit.as_dict() == {"ARS": credit}
    assert Service.get(*Service.key(service.service_id)).product_id == "hosting-inicial"
    assert [e["reason"] for e in _events("client.credited")] == ["downgrade"]


def test_monthly_to_annual_restarts_the_cycle_from_the_day_it_was_priced(api, store, holder, client_id):
    service = _active(client_id, "hosting-inicial", cycle="monthly", months_ago=0)
    ordered_on = local_date(datetime.now(UTC))
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado", "billing_cycle": "annually"}).json()
    # Ordered on the first day of the month: (almost) the whole 10 paid counts towards the 150.
    assert 14000 <= body["invoice"]["total"]["amount"] < 15000
    pay(store, body["invoice"]["invoice_id"], at=datetime.now(UTC) + timedelta(days=5))

    after = Service.get(*Service.key(service.service_id))
    assert after.billing_cycle == "annually"
    # The unused days were counted up to the order day: the new year starts then, not on the payment day
    # (or the days between would be both credited and used).
    assert from_storage(after.period_start) == local_midnight(ordered_on)
    assert local_date(from_storage(after.period_end)) == add_months(ordered_on, 12)


def test_annual_to_monthly_is_scheduled_for_the_renewal(api, holder, client_id):
    service = _active(client_id)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado", "billing_cycle": "monthly"}).json()
    assert (body["upgrade"]["status"], body["upgrade"]["amount_due"]["amount"], body["upgrade"]["credit"]["amount"]) \
        == ("scheduled", 0, 0)


def test_usd_plans_are_invoiced_in_usd(api, holder, client_id):
    for spec in (dict(product_id="vps-chico", prices={"monthly": 2000}, upgrade_targets=["vps-grande"]),
                 dict(product_id="vps-grande", prices={"monthly": 3550}, upgrade_targets=[])):
        Product(*Product.key(spec["product_id"]), **spec, group="Servidores", name=spec["product_id"].upper(),
                currency="USD", activation_mode="manual").save()
    service = _active(client_id, "vps-chico", cycle="monthly", months_ago=0)

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "vps-grande"}).json()

    assert body["invoice"]["total"] == {"amount": 1550, "currency": "USD", "display": "USD 15,50"}


def test_a_support_plan_moves_up_through_the_same_flow(api, store, holder, client_id):
    service = _active(client_id, "soporte-standard", cycle="monthly", months_ago=0)
    options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()
    assert [o["product_id"] for o in options["options"]] == ["soporte-profesional", "soporte-full"]

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "soporte-profesional"}).json()
    pay(store, body["invoice"]["invoice_id"])

    assert Service.get(*Service.key(service.service_id)).product_id == "soporte-profesional"


def _renewal_invoice(client_id, service: Service) -> str:
    """The unpaid invoice of the service's next cycle, as the renewal process records it."""
    renewal_id = new_id()
    Invoice(
        *Invoice.key(renewal_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"INVOICE#{renewal_id}",
        invoice_id=renewal_id, client_id=client_id, currency=service.currency, total=int(service.recurring_amount),
        status="unpaid", issued_at=to_storage(datetime.now(UTC)), due_at=service.period_end,
        lines=[InvoiceLine(service_id=service.service_id, description=f"{service.product_name} - renovación",
                           period_start=service.period_end, amount=int(service.recurring_amount))],
    ).save()
    service.renewal_invoice_id = renewal_id
    service.save()
    return renewal_id


def _renewal(renewal_id):
    invoice = Invoice.get(*Invoice.key(renewal_id))
    return int(invoice.total), invoice.lines[0].description, invoice.status


def test_a_pending_renewal_invoice_is_repriced_when_the_upgrade_applies(api, store, holder, client_id):
    service = _active(client_id)
    renewal_id = _renewal_invoice(client_id, service)

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()
    assert _renewal(renewal_id)[0] == 10000  # not before the upgrade is paid
    pay(store, body["invoice"]["invoice_id"])

    assert _renewal(renewal_id) == (15000, "Hosting Avanzado - renovación", "unpaid")


def test_a_scheduled_downgrade_reprices_the_renewal_and_cancelling_it_restores_the_price(api, holder, client_id):
    service = _active(client_id, "hosting-avanzado")
    renewal_id = _renewal_invoice(client_id, service)

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()
    assert _renewal(renewal_id) == (10000, "Hosting Inicial - renovación", "unpaid")  # the next cycle's plan
    api.call("POST", f"/services/{service.service_id}/upgrades/{body['upgrade']['upgrade_id']}/cancel",
             claims=holder)

    assert _renewal(renewal_id) == (15000, "Hosting Avanzado - renovación", "unpaid")


def test_a_cycle_that_restarts_cancels_the_old_cycles_renewal(api, store, holder, client_id):
    service = _active(client_id, "hosting-inicial", cycle="monthly", months_ago=0)
    renewal_id = _renewal_invoice(client_id, service)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado", "billing_cycle": "annually"}).json()
    pay(store, body["invoice"]["invoice_id"])

    assert _renewal(renewal_id)[2] == "cancelled"
    assert Service.get(*Service.key(service.service_id)).renewal_invoice_id is None


def test_staff_order_on_behalf_of_the_client_is_recorded(api, client_id):
    service = _active(client_id)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=STAFF,
                    body={"target": "hosting-avanzado"}).json()

    assert body["upgrade"]["requested_role"] == "staff"
    assert [(e["requested_by"], e["on_behalf"]) for e in _events("upgrade.ordered")] == [("staff-1", True)]


@pytest.mark.parametrize(
    ("setup", "body", "status", "code"),
    [
        ({}, {"target": "no-existe"}, 422, "unknown_target"),
        ({}, {"target": "vps-cloud"}, 422, "target_not_eligible"),  # another group and module
        ({}, {"target": "hosting-inicial"}, 422, "target_not_eligible"),  # the plan it is on
        ({}, {"target": "hosting-avanzado", "billing_cycle": "quarterly"}, 422, "billing_cycle_not_offered"),
        ({}, {"target": "hosting-avanzado", "price": 1}, 422, "validation_error"),
        ({}, {}, 422, "validation_error"),
        ({"status": "cancelled"}, {"target": "hosting-avanzado"}, 409, "upgrade_not_available"),
        ({"status": "suspended"}, {"target": "hosting-avanzado"}, 409, "upgrade_not_available"),
        ({"custom_package": True}, {"target": "hosting-avanzado"}, 409, "upgrade_not_available"),
    ],
)
def test_bad_upgrade_orders_are_clear_4xx_and_write_nothing(api, holder, client_id, setup, body, status, code):
    service = _active(client_id, **setup)
    before = _snapshot()

    response = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder, body=body)

    assert (response.status, response.json()["code"]) == (status, code), response
    assert response.json()["message"]
    assert _snapshot() == before


def test_someone_elses_service_is_404_and_a_contact_needs_the_orders_right(api, store, client_id):
    service = _active(client_id)
    other = api.call("POST", "/clients", body={"email": "otro@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Otro"}).json()["client_id"]
    contacts = {}
    for name, permissions in (("facturas", ["invoices"]), ("pedidos", ["orders"])):
        contact_id = new_id()
        Contact(*Contact.key(client_id, contact_id), client_id=client_id, contact_id=contact_id,
                email=f"{name}@ejemplo.com.ar", name=name, permissions=permissions,
                created_at=to_storage(datetime.now(UTC))).save()
        contacts[name] = claims_for(client_id=client_id, contact_id=contact_id)
    path = f"/services/{service.service_id}/upgrade-options"

    assert api.call("GET", path, claims=claims_for(client_id=other)).status == 404
    assert api.call("POST", f"/services/{service.service_id}/upgrades", claims=claims_for(client_id=other),
                    body={"target": "hosting-avanzado"}).status == 404
    denied = api.call("GET", path, claims=contacts["facturas"])
    assert (denied.status, denied.json()["code"]) == (403, "permission_denied")
    assert api.call("GET", path, claims=contacts["pedidos"]).status == 200
    ordered = api.call("POST", f"/services/{service.service_id}/upgrades", claims=contacts["pedidos"],
                       body={"target": "hosting-avanzado"})
    assert (ordered.status, ordered.json()["upgrade"]["requested_role"]) == (201, "contact")


def test_options_explain_why_nothing_is_automatic_and_offer_the_manual_request(api, holder, client_id):
    diseno = _active(client_id, "diseno-web")  # one cycle, no targets configured
    custom = _active(client_id, custom_package=True)
    flagged = _active(client_id, server="srv12.paneldecliente.com")
    pending = _active(client_id, status="pending")
    flag = api.call("PUT", "/staff/servers/SRV12.paneldecliente.com", claims=STAFF,
                    body={"upgrades_enabled": False, "note": "servidor completo"})
    assert flag.status == 200 and flag.json()["name"] == "srv12.paneldecliente.com"

    for service, code in ((diseno, "no_upgrade_paths"), (custom, "custom_package"),
                          (flagged, "server_not_upgradable"), (pending, "service_not_active")):
        options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()
        assert (options["automatic"], options["options"]) == (False, []), code
        assert code in [b["code"] for b in options["blockers"]]
        assert options["manual_request"]["path"] == f"/services/{service.service_id}/upgrade-requests"
        assert options["manual_request"]["account_executive"] == "Laura (ventas)"
        assert "ejecutivo de cuentas" in options["message"]
    assert "servidor completo" in api.call("GET", f"/services/{flagged.service_id}/upgrade-options",
                                           claims=holder).json()["message"]
    bad_name = api.call("PUT", "/staff/servers/no_valido!", claims=STAFF, body={"upgrades_enabled": False})
    assert (bad_name.status, bad_name.json()["code"]) == (422, "invalid_server_name")


def test_a_manual_request_reaches_the_account_executive_and_staff_resolve_it(api, holder, client_id):
    service = _active(client_id, "hosting-empresa")
    created = api.call("POST", f"/services/{service.service_id}/upgrade-requests", claims=holder,
                       body={"message": "  Necesito 100 GB de disco.  "})
    assert created.status == 201
    request = created.json()
    assert (request["status"], request["account_executive"], request["message"]) == (
        "open", "Laura (ventas)", "Necesito 100 GB de disco.")
    assert [e["account_executive"] for e in _events("upgrade.requested")] == ["Laura (ventas)"]
    unknown = api.call("POST", f"/services/{service.service_id}/upgrade-requests", claims=holder,
                       body={"target": "no-existe", "message": "x"})
    assert (unknown.status, unknown.json()["code"]) == (422, "unknown_target")

    queue = api.call("GET", "/staff/upgrade-requests?account_executive=Laura%20(ventas)", claims=STAFF).json()
    assert [r["request_id"] for r in queue] == [request["request_id"]]
    assert api.call("GET", "/staff/upgrade-requests", claims=holder).status == 403
    path = f"/staff/upgrade-requests/{request['request_id']}/resolve"
    resolved = api.call("POST", path, claims=STAFF, body={"outcome": "done", "note": "Movido a un plan a medida."})
    again = api.call("POST", path, claims=STAFF, body={"outcome": "declined"})

    assert (resolved.status, resolved.json()["status"]) == (200, "done")
    assert (again.status, again.json()["code"]) == (409, "upgrade_request_closed")
    assert api.call("GET", "/staff/upgrade-requests", claims=STAFF).json() == []
    assert len(api.call("GET", "/staff/upgrade-requests?status=done", claims=STAFF).json()) == 1


def test_the_same_plan_moves_to_another_billing_cycle(api, holder, client_id):
    service = _active(client_id, "hosting-inicial", cycle="monthly", months_ago=0)
    options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()["options"]
    assert ("hosting-inicial", "annually") in {(o["product_id"], o["billing_cycle"]) for o in options}
    assert ("hosting-inicial", "monthly") not in {(o["product_id"], o["billing_cycle"]) for o in options}

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial", "billing_cycle": "annually"}).json()

    assert (body["upgrade"]["to_billing_cycle"], body["upgrade"]["takes_effect"]) == ("annually", "now")
    assert 9000 <= body["invoice"]["total"]["amount"] < 10000  # the year minus the unused month


@pytest.mark.parametrize("ending", ["cancel", "expire"])
def test_a_partly_paid_upgrade_that_ends_unapplied_credits_what_was_paid(api, store, holder, client_id, ending):
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.money import Money

    service = _active(client_id)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()
    invoice_id = body["invoice"]["invoice_id"]
    partial = ProviderPayment("mercadopago", "mp-parcial", "approved", Money(3000, "ARS"), invoice_id, "approved")
    assert settle(store.billing, store.accounts, FixedClock(datetime.now(UTC)), partial) == "underpaid"

    if ending == "cancel":
        path = f"/services/{service.service_id}/upgrades/{body['upgrade']['upgrade_id']}/cancel"
        assert api.call("POST", path, claims=holder).status == 200
    else:
        assert _sweep(from_storage(body["upgrade"]["pay_by"]) + timedelta(minutes=1))["expired"] == 1

    assert Invoice.get(*Invoice.key(invoice_id)).status == "cancelled"
    assert Client.get(*Client.key(client_id)).credit.as_dict() == {"ARS": 3000}
    assert [e["reason"] for e in _events("client.credited")] == ["upgrade_cancelled"]
    # A refund of that payment takes back the credit it became, not more.
    settle(store.billing, store.accounts, FixedClock(datetime.now(UTC)), ProviderPayment(
        "mercadopago", "mp-parcial", "refunded", Money(3000, "ARS"), invoice_id, "refunded"))
    assert Client.get(*Client.key(client_id)).credit.as_dict() == {"ARS": 0}


def test_staff_complete_a_change_whose_server_command_kept_failing(api, store, holder, client_id):
    service = _active(client_id, provisioning_account="anacomar01")
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()
    pay(store, body["invoice"]["invoice_id"])
    path = f"/staff/upgrades/{body['upgrade']['upgrade_id']}/complete"
    assert Upgrade.get(*Upgrade.key(body["upgrade"]["upgrade_id"])).status == "applying"
    assert [e["action"] for e in _events("service.provisioning_requested")] == ["change_package"]

    assert api.call("POST", path, claims=holder).status == 403
    done = api.call("POST", path, claims=STAFF)
    again = api.call("POST", path, claims=STAFF)

    assert (done.status, done.json()["status"]) == (200, "completed")
    assert (again.status, again.json()["code"]) == (409, "upgrade_not_applying")
    assert Service.get(*Service.key(service.service_id)).pending_upgrade_id is None


def test_a_scheduled_change_of_a_service_no_longer_active_is_cancelled_at_the_renewal(api, holder, client_id):
    service = _active(client_id, "hosting-avanzado")
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()
    suspended = _renewal_paid(service.service_id)
    suspended.status = "suspended"
    suspended.save()

    assert _renewals(from_storage(service.period_end) + timedelta(minutes=1))["advance"] == 1
    after = Service.get(*Service.key(service.service_id))
    assert (after.product_id, after.pending_upgrade_id) == ("hosting-avanzado", None)
    assert Upgrade.get(*Upgrade.key(body["upgrade"]["upgrade_id"])).status == "cancelled"


def test_with_the_renewal_already_paid_an_upgrade_also_charges_the_next_cycles_difference(
        api, store, holder, client_id):
    service = _active(client_id)
    renewal_id = _renewal_invoice(client_id, service)
    pay(store, renewal_id)

    options = {(o["product_id"], o["billing_cycle"]): o for o in api.call(
        "GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()["options"]}
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado"}).json()

    assert options[("hosting-avanzado", "annually")]["due_now"]["amount"] == 10000  # as invoiced
    assert [line["amount"]["amount"] for line in body["invoice"]["lines"]] == [5000, 5000]
    assert body["invoice"]["lines"][1]["description"].startswith("Diferencia de la renovación ya pagada")
    pay(store, body["invoice"]["invoice_id"])
    after = Service.get(*Service.key(service.service_id))
    assert (after.product_id, int(after.paid_this_cycle)) == ("hosting-avanzado", 15000)  # not 20000
    assert _renewal(renewal_id)[:1] == (10000,)  # the paid renewal is not touched


def test_cancelling_a_scheduled_downgrade_is_refused_once_its_cheaper_renewal_is_paid(api, store, holder, client_id):
    service = _active(client_id, "hosting-avanzado")
    renewal_id = _renewal_invoice(client_id, service)
    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-inicial"}).json()
    pay(store, renewal_id)  # 100, the price of the plan the next cycle will be on

    refused = api.call("POST", f"/services/{service.service_id}/upgrades/{body['upgrade']['upgrade_id']}/cancel",
                       claims=holder)

    assert (refused.status, refused.json()["code"]) == (409, "upgrade_not_cancellable")


def test_a_longer_cycle_waits_for_the_renewal_once_the_next_cycle_is_paid(api, store, holder, client_id):
    service = _active(client_id, "hosting-inicial", cycle="monthly", months_ago=0)
    pay(store, _renewal_invoice(client_id, service))

    body = api.call("POST", f"/services/{service.service_id}/upgrades", claims=holder,
                    body={"target": "hosting-avanzado", "billing_cycle": "annually"}).json()

    assert (body["upgrade"]["status"], body["invoice"]) == ("scheduled", None)


def test_the_prorata_policy_does_not_promise_only_the_difference(api, holder, client_id, monkeypatch):
    from devstack.runtime import ENV_OVERRIDES

    monkeypatch.setitem(ENV_OVERRIDES, "UPGRADE_PRICING", "prorata")
    monkeypatch.setenv("UPGRADE_PRICING", "prorata")
    service = _active(client_id)

    options = api.call("GET", f"/services/{service.service_id}/upgrade-options", claims=holder).json()

    assert options["message"] == ("Elija el nuevo plan: abona la diferencia de precio por los días que quedan "
                                  "del período.")
