"""Migrations to our servers: option 1 takes the old server's access, encrypted at once (never in a log, an event
or the table's plain text), revealed only to the staff member who took it — each reveal recorded — and destroyed
MigrationSecretDays after it ends; option 2 sends the "Habilitación del servicio" instructions. Steps are staff's;
the client cancels while nothing started; bad input changes nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="staff-migra")
OTHER_STAFF = claims_for(staff=True, sub="staff-otro")
HOLDER = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}
SECRET = "Vieja-Clave-del-Servidor-42"
WE_MIGRATE = {"option": "we_migrate", "panel_type": "cpanel", "host": "server.viejo-hosting.com",
              "username": "anacpanel", "password": SECRET, "notes": "Tiene dos sitios.",
              "webmail_caveat_accepted": True}


def active_service(api, client_id, product="hosting-inicial"):
    """A service of the account, active (its payment and provisioning are other tests' business)."""
    from shared.dal.services import Service

    order = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF,
                     body={"product_id": product, "billing_cycle": "monthly", "domain": "ana-sitio.com.ar"})
    assert order.status == 201, order
    service = Service.get(*Service.key(order.json()["service"]["service_id"]))
    service.status = "active"
    service.save()
    return service.service_id


@pytest.fixture
def ana(api, catalog):
    client_id = api.call("POST", "/clients", body=HOLDER).json()["client_id"]
    return client_id, claims_for(client_id=client_id, sub="sub-ana")


def _snapshot():
    return sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())


def test_the_access_is_encrypted_at_once_revealed_to_its_taker_only_and_destroyed_on_time(api, stack, aws, ana, capsys):
    from support.migrations import purge_due

    from shared.dal.migrations import MigrationAccess, Migrations
    from tests.integration.flows import relay, ticket_events

    client_id, holder = ana
    service_id = active_service(api, client_id)
    before = _snapshot()
    for body, code in (({**WE_MIGRATE, "webmail_caveat_accepted": False}, "webmail_caveat_not_accepted"),
                       ({k: v for k, v in WE_MIGRATE.items() if k != "password"}, "validation_error"),
                       ({**WE_MIGRATE, "host": "no es un host"}, "validation_error")):
        refused = api.call("POST", f"/services/{service_id}/migration", claims=holder, body=body)
        assert (refused.status, refused.json()["code"]) == (422, code), refused
    assert _snapshot() == before  # nothing written

    made = api.call("POST", f"/services/{service_id}/migration", claims=holder, body=WE_MIGRATE)
    assert made.status == 201, made
    migration = made.json()
    assert (migration["status"], migration["access_kept"], migration["old_host"]) == (
        "requested", True, "server.viejo-hosting.com")
    again = api.call("POST", f"/services/{service_id}/migration", claims=holder, body=WE_MIGRATE)
    assert (again.status, again.json()["code"]) == (409, "migration_under_way")
    relay(stack, aws)
    ticket_events(stack)
    (ticket,) = [t for t in api.call("GET", "/me/tickets", claims=holder).json() if t["subject"].startswith("Migr")]
    assert ticket["subject"] == "Migración de ana-sitio.com.ar"
    # The secret is nowhere in the clear: not in the table (any item), not in the logs.
    assert all(SECRET not in json.dumps(i.serialize(), default=str) for i in TableItem.scan())
    assert SECRET not in "".join(capsys.readouterr())

    url = f"/staff/migrations/{migration['migration_id']}"
    queue = api.call("GET", "/staff/migrations", claims=STAFF).json()
    assert [(m["migration_id"], m["assignee"]) for m in queue] == [(migration["migration_id"], None)]
    assert api.call("POST", f"{url}/access", claims=STAFF).json()["code"] == "not_the_assignee"
    assert api.call("POST", f"{url}/take", claims=STAFF).json()["assignee"] == "staff-migra"
    assert [m["assignee"] for m in api.call("GET", "/staff/migrations", claims=STAFF).json()] == ["staff-migra"]
    revealed = api.call("POST", f"{url}/access", claims=STAFF)
    assert revealed.status == 200 and revealed.json()["password"] == SECRET, revealed
    assert api.call("POST", f"{url}/access", claims=OTHER_STAFF).json()["code"] == "not_the_assignee"
    assert api.call("POST", f"{url}/access", claims=holder).json()["code"] == "staff_only"
    reveals = api.call("GET", f"{url}/reveals", claims=STAFF).json()
    assert [r["revealed_by"] for r in reveals] == ["staff-migra"]
    capsys.readouterr()

    for step in ("in_progress", "awaiting_dns", "completed"):
        moved = api.call("POST", f"{url}/status", claims=STAFF, body={"status": step})
        assert moved.status == 200 and moved.json()["status"] == step, moved
    backwards = api.call("POST", f"{url}/status", claims=STAFF, body={"status": "in_progress"})
    assert (backwards.status, backwards.json()["code"]) == (409, "wrong_migration_step")
    assert api.call("GET", "/staff/migrations", claims=STAFF).json() == []  # ended: off staff's queue
    ended = datetime.now(UTC)
    assert purge_due(Migrations(), FixedClock(ended + timedelta(days=7) - timedelta(minutes=5)))["purged"] == 0
    assert MigrationAccess.get(*MigrationAccess.key(migration["migration_id"])).expires_at is not None  # TTL too
    assert purge_due(Migrations(), FixedClock(ended + timedelta(days=7, minutes=5)))["purged"] == 1
    assert Migrations().access(migration["migration_id"]) is None
    gone = api.call("POST", f"{url}/access", claims=STAFF)
    assert (gone.status, gone.json()["code"]) == (409, "access_purged")
    mine = api.call("GET", "/me/migrations", claims=holder).json()
    assert mine[0]["access_kept"] is False and mine[0]["access_purged_at"]
    assert SECRET not in "".join(capsys.readouterr())
    events = [e.payload for e in TableItem.scan() if type(e).__name__ == "EventRecord" and e.type.startswith("migr")]
    assert len(events) >= 6 and all(SECRET not in p for p in events)


def test_the_client_cancels_before_it_starts_and_self_service_sends_the_instructions(api, stack, aws, ana):
    from devstack import mailbox
    from tests.integration.flows import mail, relay

    client_id, holder = ana
    service_id = active_service(api, client_id)
    made = api.call("POST", f"/services/{service_id}/migration", claims=holder, body=WE_MIGRATE).json()
    cancelled = api.call("POST", f"/me/migrations/{made['migration_id']}/cancel", claims=holder)
    assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
    late = api.call("POST", f"/me/migrations/{made['migration_id']}/cancel", claims=holder)
    assert (late.status, late.json()["code"]) == (409, "wrong_migration_step")

    mine = api.call("POST", f"/services/{service_id}/migration", claims=holder, body={"option": "self_service"})
    assert mine.status == 201 and mine.json()["access_kept"] is False
    relay(stack, aws)
    mail(stack)
    assert [m for m in mailbox.sent_emails() if m["subject"].startswith("Habilitación del servicio")
            and m["to"] == [HOLDER["email"]]]

    support = active_service(api, client_id, "soporte-standard")
    refused = api.call("POST", f"/services/{support}/migration", claims=holder, body={"option": "self_service"})
    assert (refused.status, refused.json()["code"]) == (409, "not_migratable")
    other = claims_for(client_id=api.call("POST", "/clients", body={**HOLDER, "email": "otro@ejemplo.com.ar"}).json()[
        "client_id"], sub="sub-otro")
    hidden = api.call("POST", f"/services/{service_id}/migration", claims=other, body={"option": "self_service"})
    assert (hidden.status, hidden.json()["code"]) == (404, "not_found")
