"""The status page through the real handlers: staff keep components, incidents and maintenance; the public page and
its feed carry no internal note; the accounts with live services on an affected server — exactly those — are told
once (also when the announcement is delivered twice); a maintenance's notice goes once however often it is edited,
and its reminder once; each service shows what touches its server."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from shared.clock import FixedClock, to_storage
from shared.dal.outbox import EventRecord
from shared.dal.status import StatusRepository
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for, hosting_on, signed_up
from tests.integration.flows import relay, status_notices

STAFF = claims_for(staff=True, sub="staff-status")
SRV12, SRV13 = "srv12.paneldecliente.com", "srv13.paneldecliente.com"
SECRET = "reinicio del RAID por la controladora vieja"
INCIDENT = {"title": "Sitios lentos en srv12", "impact": "major", "component_ids": ["srv12"],
            "message": "Estamos investigando demoras en los sitios alojados en srv12.", "internal_note": SECRET}


def _component(api, component_id, name, group, servers):
    answer = api.call("PUT", f"/staff/status/components/{component_id}", claims=STAFF,
                      body={"name": name, "group": group, "servers": servers})
    assert answer.status == 200, answer


@pytest.fixture
def components(api):
    _component(api, "srv12", "Servidor srv12", "Servidores", [SRV12])
    _component(api, "srv13", "Servidor srv13", "Servidores", [SRV13])
    _component(api, "panel", "Paneldecliente", "Plataforma", [])


def _events(kind):
    return [(e.client_id, json.loads(e.payload)) for e in TableItem.scan()
            if isinstance(e, EventRecord) and e.type == kind]


def test_staff_move_an_incident_through_its_lifecycle_and_the_public_never_sees_the_internal_note(api, components):
    opened = api.call("POST", "/staff/status/incidents", claims=STAFF, body=INCIDENT)
    assert opened.status == 201 and opened.json()["updates"][0]["internal_note"] == SECRET, opened
    incident_id = opened.json()["incident_id"]

    page = api.call("GET", "/status")  # no sign-in
    assert page.status == 200 and "max-age=30" in page.headers["Cache-Control"]
    body = page.json()
    assert (body["indicator"], [i["incident_id"] for i in body["incidents"]]) == ("major", [incident_id])
    states = {c["component_id"]: c["status"] for g in body["groups"] for c in g["components"]}
    assert states == {"srv12": "partial_outage", "srv13": "operational", "panel": "operational"}

    for status in ("identified", "monitoring"):
        step = api.call("POST", f"/staff/status/incidents/{incident_id}/updates", claims=STAFF,
                        body={"status": status, "message": f"Novedad: {status}.", "internal_note": SECRET})
        assert step.status == 200 and step.json()["status"] == status, step
    resolved = api.call("POST", f"/staff/status/incidents/{incident_id}/updates", claims=STAFF,
                        body={"status": "resolved", "message": "Los sitios responden con normalidad."})
    assert resolved.json()["resolved_at"] is not None
    again = api.call("POST", f"/staff/status/incidents/{incident_id}/updates", claims=STAFF,
                     body={"status": "monitoring", "message": "Otra vez lento."})
    assert (again.status, again.json()["code"]) == (409, "incident_resolved")

    page = api.call("GET", "/status")
    body = page.json()
    assert (body["indicator"], body["incidents"]) == ("none", [])
    (history,) = body["resolved_incidents"]
    assert [u["status"] for u in history["updates"]] == ["resolved", "monitoring", "identified", "investigating"]
    feed = api.call("GET", "/status/feed")
    assert feed.status == 200 and feed.headers["Content-Type"].startswith("application/atom+xml")
    entries = ET.fromstring(feed.text).findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries] == [
        "[Resuelto] Incidente: Sitios lentos en srv12"]
    assert SECRET not in page.text and SECRET not in feed.text
    staff = api.call("GET", "/staff/status", claims=STAFF).json()
    assert [u["internal_note"] for u in staff["incidents"][0]["updates"]][-1] == SECRET


def test_bad_changes_are_refused_and_change_nothing(api, components):
    unknown = api.call("POST", "/staff/status/incidents", claims=STAFF, body={**INCIDENT, "component_ids": ["srv99"]})
    assert (unknown.status, unknown.json()["code"], unknown.json()["field"]) == (422, "unknown_component",
                                                                                  "component_ids")
    start = datetime.now(UTC) + timedelta(days=2)
    window = {"title": "Cambio de discos", "message": "Cambiamos los discos.", "component_ids": ["srv12"]}
    past = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        **window, "starts_at": "2020-01-01T03:00:00Z", "ends_at": "2020-01-01T05:00:00Z"})
    backwards = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        **window, "starts_at": start.isoformat(), "ends_at": (start - timedelta(hours=1)).isoformat()})
    naive = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        **window, "starts_at": "2030-01-01T03:00:00", "ends_at": "2030-01-01T05:00:00"})
    assert [(a.status, a.json()["code"]) for a in (past, backwards, naive)] == [
        (422, "window_in_past"), (422, "invalid_window"), (422, "validation_error")]
    api.call("POST", "/staff/status/incidents", claims=STAFF, body={**INCIDENT, "component_ids": ["panel"]})
    in_use = api.call("DELETE", "/staff/status/components/panel", claims=STAFF)
    assert (in_use.status, in_use.json()["code"]) == (409, "component_in_use")
    staff = api.call("GET", "/staff/status", claims=STAFF).json()
    assert (len(staff["incidents"]), staff["maintenances"], len(staff["components"])) == (1, [], 3)
    assert api.call("DELETE", "/staff/status/components/srv13", claims=STAFF).status == 204


def test_staff_changes_at_once_all_reach_the_page(api, components):
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: api.call("POST", "/staff/status/incidents", claims=STAFF,
                                                   body={**INCIDENT, "title": f"Incidente número {n}"}).status,
                                range(4)))
    assert answers == [201] * 4
    assert len(api.call("GET", "/status").json()["incidents"]) == 4  # no change lost to another's write


def test_an_incident_tells_exactly_the_accounts_on_its_servers_once_and_shows_on_their_services(
        api, stack, aws, components):
    on_srv12, on_srv13, ended_on_srv12 = (signed_up(api, n) for n in range(3))
    mine = hosting_on(on_srv12, SRV12, "uno.com.ar")
    hosting_on(on_srv12, SRV12, "dos.com.ar")
    other = hosting_on(on_srv13, SRV13, "tres.com.ar")
    hosting_on(ended_on_srv12, SRV12, "cuatro.com.ar", status="terminated")

    incident = api.call("POST", "/staff/status/incidents", claims=STAFF, body=INCIDENT).json()
    relay(stack, aws)
    records, result = status_notices(stack)
    assert len(records) == 1 and result == {"batchItemFailures": []}
    from devstack.runtime import Runtime  # the same announcement delivered again tells nobody twice

    assert Runtime(stack).invoke("StatusNoticesFunction", {"Records": records}) == {"batchItemFailures": []}
    ((client_id, notice),) = _events("status.incident_opened_notice")
    assert client_id == on_srv12["custom:client_id"]
    assert set(notice["services"].split(", ")) == {"uno.com.ar", "dos.com.ar"} and notice["title"] == INCIDENT["title"]
    assert len(notice["service_ids"]) == 2

    shown = api.call("GET", f"/me/services/{mine}", claims=on_srv12).json()["status_notices"]
    assert [(n["kind"], n["id"], n["impact"]) for n in shown] == [("incident", incident["incident_id"], "major")]
    assert api.call("GET", f"/me/services/{other}", claims=on_srv13).json()["status_notices"] == []
    listed = api.call("GET", "/me/services", claims=on_srv12).json()
    assert all(len(s["status_notices"]) == 1 for s in listed)

    api.call("POST", f"/staff/status/incidents/{incident['incident_id']}/updates", claims=STAFF,
             body={"status": "resolved", "message": "Resuelto."})
    relay(stack, aws)
    status_notices(stack)
    assert [c for c, _ in _events("status.incident_resolved_notice")] == [on_srv12["custom:client_id"]]
    assert api.call("GET", f"/me/services/{mine}", claims=on_srv12).json()["status_notices"] == []


def test_a_maintenance_is_announced_once_however_edited_and_reminded_once(api, stack, aws, components):
    account = signed_up(api, 7)
    hosting_on(account, SRV13, "siete.com.ar")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    made = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        "title": "Actualización del kernel", "message": "Reiniciamos srv13 unos minutos.", "component_ids": ["srv13"],
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "internal_note": SECRET})
    assert made.status == 201, made
    maintenance_id = made.json()["maintenance_id"]
    later = start + timedelta(hours=6)
    for edit in ({"title": "Actualización del kernel y parches"},
                 {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat()}):
        edited = api.call("PATCH", f"/staff/status/maintenances/{maintenance_id}", claims=STAFF, body=edit)
        assert edited.status == 200, edited
    relay(stack, aws)
    status_notices(stack)
    ((client_id, notice),) = _events("status.maintenance_notice")
    assert client_id == account["custom:client_id"] and notice["title"] == "Actualización del kernel"

    repo = StatusRepository()
    from status.logic import send_due_reminders

    assert send_due_reminders(repo, FixedClock(later - timedelta(hours=25)))["announced"] == 0  # not yet
    assert send_due_reminders(repo, FixedClock(later - timedelta(hours=23)))["announced"] == 1  # the new window's
    assert send_due_reminders(repo, FixedClock(later - timedelta(hours=22)))["announced"] == 0  # once
    relay(stack, aws)
    status_notices(stack)
    ((_, reminder),) = _events("status.maintenance_reminder_notice")
    assert reminder["starts_at"] == to_storage(later)
    assert len(_events("status.maintenance_notice")) == 1

    page = api.call("GET", "/status").json()
    assert [m["title"] for m in page["maintenances"]] == ["Actualización del kernel y parches"]
    started = api.call("POST", f"/staff/status/maintenances/{maintenance_id}/updates", claims=STAFF,
                       body={"status": "in_progress", "message": "Empezamos."})
    assert started.json()["status"] == "in_progress"
    assert {c["component_id"]: c["status"] for g in api.call("GET", "/status").json()["groups"]
            for c in g["components"]}["srv13"] == "under_maintenance"
    late_edit = api.call("PATCH", f"/staff/status/maintenances/{maintenance_id}", claims=STAFF,
                         body={"title": "Otro título largo"})
    assert (late_edit.status, late_edit.json()["code"]) == (409, "maintenance_started")
    api.call("POST", f"/staff/status/maintenances/{maintenance_id}/updates", claims=STAFF,
             body={"status": "completed", "message": "Terminamos."})
    reopened = api.call("POST", f"/staff/status/maintenances/{maintenance_id}/updates", claims=STAFF,
                        body={"status": "in_progress", "message": "De nuevo."})
    assert (reopened.status, reopened.json()["code"]) == (409, "invalid_transition")
    final = api.call("GET", "/status")
    assert [m["maintenance_id"] for m in final.json()["completed_maintenances"]] == [maintenance_id]
    assert SECRET not in final.text


def test_the_backfill_records_the_services_made_before_on_their_servers(api, stack):
    from shared.dal.status import ServerMember
    from shared.dal.table import TableItem
    from tools.backfill_server_members import backfill

    holder = signed_up(api, 9)
    made = hosting_on(holder, SRV12, "antes.com.ar")
    for item in TableItem.scan():  # as before this deploy: the service on its server, no marker
        if isinstance(item, ServerMember):
            item.delete()
    assert StatusRepository().services_on([SRV12]) == []
    assert backfill(dry_run=True) == {"services": 1, "on_a_server": 1, "written": 0}
    assert backfill(dry_run=False)["written"] == 1 and backfill(dry_run=False)["written"] == 1  # twice: the same
    assert StatusRepository().services_on([SRV12]) == [made]


def test_a_resolution_reaches_whoever_heard_of_the_opening_even_after_staff_narrow_the_component(
        api, stack, aws, components):
    _component(api, "correo", "Correo", "Plataforma", [SRV12, SRV13])
    on_srv12, on_srv13 = signed_up(api, 20), signed_up(api, 21)
    hosting_on(on_srv12, SRV12, "doce.com.ar")
    ended = hosting_on(on_srv12, SRV12, "vieja.com.ar", status="terminated")
    hosting_on(on_srv13, SRV13, "trece.com.ar")
    incident = api.call("POST", "/staff/status/incidents", claims=STAFF,
                        body={**INCIDENT, "component_ids": ["correo"]}).json()
    _component(api, "correo", "Correo", "Plataforma", [SRV13])  # srv12 no longer counted in it
    api.call("POST", f"/staff/status/incidents/{incident['incident_id']}/updates", claims=STAFF,
             body={"status": "resolved", "message": "Resuelto."})
    relay(stack, aws)
    status_notices(stack)
    both = sorted(c["custom:client_id"] for c in (on_srv12, on_srv13))
    assert sorted(c for c, _ in _events("status.incident_opened_notice")) == both
    assert sorted(c for c, _ in _events("status.incident_resolved_notice")) == both
    assert api.call("GET", f"/me/services/{ended}", claims=on_srv12).json()["status_notices"] == []  # it ended


def test_an_edit_never_brings_back_a_reminder_the_notice_made_needless(api, components):
    from status.logic import send_due_reminders

    start = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)  # the notice is a day's warning
    made = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        "title": "Cambio de discos", "message": "Cambiamos los discos.", "component_ids": ["srv12"],
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}).json()
    api.call("PATCH", f"/staff/status/maintenances/{made['maintenance_id']}", claims=STAFF,
             body={"title": "Cambio de discos y memoria"})
    assert send_due_reminders(StatusRepository(), FixedClock(start - timedelta(hours=2)))["announced"] == 0
    far = api.call("POST", "/staff/status/maintenances", claims=STAFF, body={
        "title": "Cambio de discos", "message": "Cambiamos los discos.", "component_ids": ["srv12"],
        "starts_at": "9999-12-31T22:00:00-03:00", "ends_at": "9999-12-31T23:00:00-03:00"})
    assert (far.status, far.json()["code"]) == (422, "validation_error")


def test_the_page_sheds_its_oldest_history_to_stay_within_an_item():
    from shared import status_page as page

    ended = [{"incident_id": f"i{n}", "status": "resolved", "resolved_at": f"2026-11-{n + 1:02d}T00:00:00.000000Z",
              "updates": [{"message": "ñ" * 5000}]} for n in range(20)]
    active = {"incident_id": "abierto", "status": "monitoring", "updates": [{"message": "x"}]}
    trimmed = page.within({"incidents": [active, *ended]}, 200_000)
    assert page.size(trimmed) <= 200_000 and trimmed["incidents"][0] is active
    kept = [i["incident_id"] for i in trimmed["incidents"][1:]]
    assert kept == [f"i{n}" for n in range(20 - len(kept), 20)]  # the newest history stays
