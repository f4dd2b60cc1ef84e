"""HTTP against `make dev`'s stack: the foundation's done-when, end to end."""

import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

DEMO, CONTACT, STAFF = "demo@ejemplo.com.ar", "contable@ejemplo.com.ar", "staff@ejemplo.com.ar"


def test_banner_says_how_to_get_a_token_for_each_demo_user(local_stack):
    for email in (DEMO, CONTACT, STAFF):
        assert email in local_stack.banner
    assert "/local/token" in local_stack.banner and "/swagger" in local_stack.banner


def test_swagger_ui_is_served_offline_with_the_openapi_document(local_stack):
    status, page = local_stack.request("GET", "/swagger")
    assert status == 200 and b"swagger-ui-bundle.js" in page and b"https://" not in page
    assert local_stack.request("GET", "/swagger/assets/swagger-ui-bundle.js")[0] == 200
    assert local_stack.request("GET", "/swagger/assets/swagger-ui.css")[0] == 200
    status, spec = local_stack.json("GET", "/openapi.json")
    assert status == 200 and "/me/services" in spec["paths"]


def test_demo_client_token_lists_its_services(local_stack):
    status, services = local_stack.json("GET", "/me/services", token=local_stack.token(DEMO))
    assert status == 200
    assert {s["product_id"] for s in services} >= {"hosting-inicial", "vps-cloud"}


def test_no_or_forged_token_is_refused_by_the_authorizer(local_stack):
    token = local_stack.token(DEMO)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for auth in (None, forged, "not-a-jwt"):
        status, body = local_stack.json("GET", "/me/services", token=auth)
        assert (status, body["code"]) == (401, "unauthenticated")
    status, body = local_stack.json("GET", "/no/such/route")
    assert (status, body["code"]) == (404, "route_not_found")


def test_the_help_centre_is_searchable_without_signing_in(local_stack):
    status, found = local_stack.json("GET", "/kb/search?q=upgrade")
    assert status == 200 and found["results"][0]["slug"] == "upgrade-de-servicio", found
    assert "<mark>upgrade</mark>" in found["results"][0]["snippet"].lower()
    status, staff_created = local_stack.json("POST", "/staff/kb/articles", token=local_stack.token(STAFF), body={
        "slug": "e2e-outlook", "title": "Configurar Outlook", "category": "Correo", "body": "IMAP 993 y SMTP 465."})
    assert status == 201, staff_created
    local_stack.json("POST", "/staff/kb/articles/e2e-outlook/publish", token=local_stack.token(STAFF), body={})
    # kb.article_changed -> outbox -> KbIndexQueue -> the indexer -> kb/index.json -> the search
    results = wait_for(lambda: local_stack.json("GET", "/kb/search?q=outlook")[1]["results"],
                       lambda found: any(r["slug"] == "e2e-outlook" for r in found))
    assert results[0]["slug"] == "e2e-outlook", results  # its title says it: before the migration's mention


def test_contact_is_refused_what_its_permissions_do_not_allow(local_stack):
    token = local_stack.token(CONTACT)
    status, body = local_stack.json("GET", "/me/services", token=token)
    assert (status, body["code"]) == (403, "permission_denied")
    assert local_stack.json("GET", "/me/invoices", token=token)[0] == 200


def test_staff_token_creates_a_service_the_client_then_sees(local_stack):
    demo = local_stack.token(DEMO)
    client_id = local_stack.json("GET", "/me", token=demo)[1]["account"]["client_id"]
    status, order = local_stack.json(
        "POST", f"/staff/clients/{client_id}/orders", token=local_stack.token(STAFF),
        body={"product_id": "hosting-avanzado", "billing_cycle": "annually", "domain": "nuevo-e2e.com.ar"},
    )
    assert status == 201, order
    services = local_stack.json("GET", "/me/services", token=demo)[1]
    assert order["service"]["service_id"] in {s["service_id"] for s in services}
    invoice = local_stack.json("GET", f"/me/invoices/{order['invoice']['invoice_id']}", token=demo)[1]
    assert invoice["total"]["amount"] == 15000 and invoice["status"] == "unpaid"


def test_twenty_concurrent_signups_with_one_email_make_one_client(local_stack):
    variants = ["carrera@ejemplo.com.ar", " CARRERA@EJEMPLO.com.ar", "Carrera@Ejemplo.Com.Ar  "]

    def sign_up(index):
        email = variants[index % len(variants)]
        return local_stack.json("POST", "/clients", body={"email": email, "password": "Segura123", "name": "C"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(sign_up, range(20)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    assert all(body["code"] == "email_taken" for status, body in results if status == 409)
    assert local_stack.token("carrera@ejemplo.com.ar", "Segura123")


def test_a_schedule_can_be_fired_now(local_stack):
    # The demo's VPS invoice was issued ten days ago and is unpaid: the daily sweep reminds it once.
    status = local_stack.request("POST", "/local/schedules/OverdueInvoicesFunction")[0]
    again = local_stack.json("POST", "/local/schedules/OverdueInvoicesFunction")[1]
    assert status == 200 and again["result"] == {"reminded": 0}
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=local_stack.aws_endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    # Test-only look at the outbox items the sweep wrote (whoever fired it first: us or the cron).
    overdue = [json.loads(i["payload"]["S"]) for i in ddb.scan(TableName="paneldecliente-local-Table")["Items"]
               if i.get("type", {}).get("S") == "invoice.overdue"]
    assert len(overdue) == 1 and overdue[0]["currency"] == "USD" and overdue[0]["days_overdue"] >= 6
    assert local_stack.json("POST", "/local/schedules/Nope")[0] == 404


def test_a_simulated_provider_payment_settles_and_activates_an_instant_service(local_stack):
    token = local_stack.token(DEMO)
    client_id = local_stack.json("GET", "/me", token=token)[1]["account"]["client_id"]
    order = local_stack.json("POST", f"/staff/clients/{client_id}/orders", token=local_stack.token(STAFF),
                             body={"product_id": "hosting-inicial", "billing_cycle": "annually",
                                   "domain": "pago-e2e.com.ar"})[1]
    invoice_id = order["invoice"]["invoice_id"]

    status, paid = local_stack.json("POST", "/local/payments", body={"invoice_id": invoice_id})

    assert status == 200 and paid["payment_id"]
    # webhook -> queue -> settlement, through the local event sources
    invoice = wait_for(lambda: local_stack.json("GET", f"/me/invoices/{invoice_id}", token=token)[1],
                        lambda i: i["status"] == "paid", seconds=15)
    assert invoice["status"] == "paid" and invoice["balance"]["amount"] == 0
    # invoice.paid -> outbox -> provisioning queue -> cPanel (fake)
    service = wait_for(lambda: local_stack.json("GET", f"/me/services/{order['service']['service_id']}",
                                                 token=token)[1], lambda s: s["status"] == "active", seconds=15)
    assert service["status"] == "active" and service["credentials"]["available"], service


def test_a_new_invoice_becomes_a_whatsapp_alert_or_waits_for_the_quiet_hours_to_end(local_stack):
    from datetime import UTC, datetime

    token = local_stack.token(DEMO)  # the demo holder has WhatsApp alerts on
    client_id = local_stack.json("GET", "/me", token=token)[1]["account"]["client_id"]
    started = datetime.now(UTC)
    order = local_stack.json("POST", f"/staff/clients/{client_id}/orders", token=local_stack.token(STAFF),
                             body={"product_id": "hosting-avanzado", "billing_cycle": "monthly"})[1]

    def alert():
        alerts = local_stack.json("GET", "/me/alerts", token=token)[1]
        fresh = [a for a in alerts if a["event_type"] == "invoice.created"
                 and datetime.fromisoformat(a["created_at"].replace("Z", "+00:00")) >= started]
        return fresh[0] if fresh else None

    # order -> outbox -> relay -> alerts queue -> fan-out -> deliveries queue -> sender -> fake Cloud API
    found = wait_for(alert, lambda a: a is not None and a["status"] in ("sent", "waiting"))
    assert found is not None, "no alert for the new invoice"
    if found["status"] == "waiting":  # ordered during the quiet hours (21:00-09:00 in Buenos Aires)
        assert datetime.fromisoformat(found["not_before"].replace("Z", "+00:00")) > started
        return
    sent = local_stack.json("GET", "/local/whatsapp")[1]["messages"]
    ours = [m for m in sent if m["parameters"][0] == order["invoice"]["invoice_id"][-8:]]
    assert [(m["template"], m["to"], m["language"]) for m in ours] == [
        ("factura_emitida", "5491123456789", "es_AR")]


def test_an_upgrade_is_quoted_ordered_paid_and_the_service_moves_to_the_new_plan(local_stack):
    token = local_stack.token(DEMO)
    client_id = local_stack.json("GET", "/me", token=token)[1]["account"]["client_id"]
    order = local_stack.json("POST", f"/staff/clients/{client_id}/orders", token=local_stack.token(STAFF),
                             body={"product_id": "hosting-inicial", "billing_cycle": "annually",
                                   "domain": "upgrade-e2e.com.ar"})[1]
    service_id = order["service"]["service_id"]
    local_stack.json("POST", "/local/payments", body={"invoice_id": order["invoice"]["invoice_id"]})
    active = wait_for(lambda: local_stack.json("GET", f"/me/services/{service_id}", token=token)[1],
                       lambda s: s["status"] == "active")
    assert active["status"] == "active", active

    status, options = local_stack.json("GET", f"/services/{service_id}/upgrade-options", token=token)
    quoted = next(o for o in options["options"]
                  if (o["product_id"], o["billing_cycle"]) == ("hosting-avanzado", "annually"))
    assert status == 200 and quoted["due_now"]["amount"] == 5000  # 150 - 100 already paid this year
    status, ordered = local_stack.json("POST", f"/services/{service_id}/upgrades", token=token,
                                       body={"target": "hosting-avanzado"})
    assert status == 201 and ordered["invoice"]["total"]["amount"] == 5000
    local_stack.json("POST", "/local/payments", body={"invoice_id": ordered["invoice"]["invoice_id"]})

    # payment -> settlement -> outbox -> provisioning queue -> WHM changepackage (fake) -> completed
    history = wait_for(lambda: local_stack.json("GET", f"/services/{service_id}/upgrades", token=token)[1],
                        lambda h: h[0]["status"] == "completed")
    assert history[0]["status"] == "completed", history
    service = local_stack.json("GET", f"/me/services/{service_id}", token=token)[1]
    assert (service["product_id"], service["recurring_price"]["amount"]) == ("hosting-avanzado", 15000)
    assert service["next_due_at"] == active["next_due_at"]  # the due date stays


def test_an_incident_on_the_demo_server_alerts_its_holder_and_shows_on_the_service(local_stack):
    """Staff open an incident on srv12 (the demo hosting's server): the public page shows it, the holder gets the
    WhatsApp alert (urgent: at any hour) and sees it on the service; resolved, it leaves the service."""
    token, staff = local_stack.token(DEMO), local_stack.token(STAFF)
    hosting = next(s for s in local_stack.json("GET", "/me/services", token=token)[1]
                   if s["product_id"] == "hosting-inicial" and s["domain"] == "demo-pyme.com.ar")
    status, incident = local_stack.json("POST", "/staff/status/incidents", token=staff, body={
        "title": "Demoras en srv12 (e2e)", "impact": "major", "component_ids": ["srv12"],
        "message": "Investigamos demoras en los sitios de srv12.", "internal_note": "disco 3 con errores"})
    assert status == 201, incident
    page = local_stack.json("GET", "/status")[1]
    assert incident["incident_id"] in [i["incident_id"] for i in page["incidents"]]
    assert "disco 3" not in json.dumps(page)

    def alert():
        alerts = local_stack.json("GET", "/me/alerts", token=token)[1]
        return next((a for a in alerts if a["event_type"] == "status.incident_opened_notice"
                     and a["status"] == "sent"), None)

    # outbox -> relay -> StatusNoticesQueue -> notices -> alerts fan-out -> sender -> fake Cloud API
    assert wait_for(alert, lambda a: a is not None, seconds=20) is not None, "no alert for the incident"
    sent = [m for m in local_stack.json("GET", "/local/whatsapp")[1]["messages"]
            if m["template"] == "incidente_abierto"]
    assert [(m["to"], m["parameters"]) for m in sent] == [
        ("5491123456789", ["demo-pyme.com.ar", "Demoras en srv12 (e2e)"])]
    shown = local_stack.json("GET", f"/me/services/{hosting['service_id']}", token=token)[1]["status_notices"]
    assert [(n["kind"], n["id"]) for n in shown] == [("incident", incident["incident_id"])]

    local_stack.json("POST", f"/staff/status/incidents/{incident['incident_id']}/updates", token=staff,
                     body={"status": "resolved", "message": "Cambiamos el disco."})
    assert local_stack.json("GET", f"/me/services/{hosting['service_id']}", token=token)[1]["status_notices"] == []


def test_the_demo_hosting_diagnoses_healthy_against_the_loopback_dns_and_website(local_stack):
    token = local_stack.token(DEMO)
    hosting = next(s for s in local_stack.json("GET", "/me/services", token=token)[1]
                   if s["product_id"] == "hosting-inicial" and s["domain"] == "demo-pyme.com.ar")
    status, found = local_stack.json("GET", f"/services/{hosting['service_id']}/diagnostics", token=token)
    assert status == 200 and found["status"] == "ok", found
    assert [c["check"] for c in found["checks"]] == ["delegation", "website_address", "mail", "certificate", "website"]
    article = local_stack.json("GET", "/kb/articles/delegar-dominio")  # what a failing check would link to
    assert article[0] == 200
