"""A contact's rights limited to chosen services (a developer who may see one site's credentials and nothing
else): every route about a service, or an invoice of one, answers another service like a missing one; lists
show only the scope; a scoped contact orders no new service; the holder widens or narrows the scope."""

import pytest

from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="sub-staff")
EVERY_RIGHT = ["profile", "services", "manage_services", "invoices", "tickets", "orders", "manage_domains"]


@pytest.fixture
def account(api, catalog):
    made = api.call("POST", "/clients", body={"email": "agencia@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Agencia"})
    client_id = made.json()["client_id"]

    def order(domain):
        placed = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body={
            "product_id": "hosting-avanzado", "billing_cycle": "annually", "domain": domain,
            "credentials": {"usuario cPanel": domain.split(".")[0], "clave cPanel": "Clave-De-Prueba-1"}})
        assert placed.status == 201, placed
        return placed.json()

    site, other = order("sitio-uno.com.ar"), order("sitio-dos.com.ar")
    holder = claims_for(client_id=client_id, sub="sub-agencia")
    contact = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "dev@ejemplo.com.ar", "name": "Dev", "permissions": EVERY_RIGHT,
        "service_ids": [site["service"]["service_id"]]})
    assert contact.status == 201 and contact.json()["service_ids"] == [site["service"]["service_id"]], contact
    dev = claims_for(client_id=client_id, contact_id=contact.json()["contact_id"], sub="sub-dev")
    return {"holder": holder, "dev": dev, "site": site, "other": other, "client_id": client_id,
            "contact_id": contact.json()["contact_id"]}


def test_a_scoped_contact_reaches_its_service_and_nothing_else_of_the_account(api, account):
    dev = account["dev"]
    site, other = account["site"]["service"]["service_id"], account["other"]["service"]["service_id"]
    assert [s["service_id"] for s in api.call("GET", "/me/services", claims=dev).json()] == [site]
    shown = api.call("POST", f"/services/{site}/credentials/reveal", claims=dev, body={}).json()
    assert {c["name"] for c in shown["credentials"]} == {"usuario cPanel", "clave cPanel"}
    assert [i["invoice_id"] for i in api.call("GET", "/me/invoices", claims=dev).json()] == [
        account["site"]["invoice"]["invoice_id"]]
    missing = "01KBV3ZQ7N6C8R3Y1XQ6K2M9T4"
    outside_reveal = api.call("POST", f"/services/{other}/credentials/reveal", claims=dev, body={})
    assert outside_reveal.status == 404  # another service of the account: like a missing one
    for path in (f"/me/services/{other}", f"/services/{other}/upgrade-options", f"/services/{other}/upgrades",
                 f"/services/{other}/support-channels", f"/me/invoices/{account['other']['invoice']['invoice_id']}"):
        outside = api.call("GET", path, claims=dev)
        absent = api.call("GET", path.replace(other, missing).replace(
            account["other"]["invoice"]["invoice_id"], missing), claims=dev)
        assert (outside.status, outside.text) == (404, absent.text), path  # like a missing one: nothing confirmed
        assert api.call("GET", path, claims=account["holder"]).status == 200, path  # the holder reaches it
    refused = api.call("POST", "/me/orders", claims=dev, body={"product_id": "hosting-avanzado",
                                                               "billing_cycle": "annually", "domain": "nuevo.com.ar"})
    assert (refused.status, refused.json()["code"]) == (403, "scoped_contact")
    ticket = {"subject": "No carga", "body": "Da error 500."}
    assert api.call("POST", "/me/tickets", claims=dev, body={**ticket, "service_id": other}).status == 404
    assert api.call("POST", "/me/tickets", claims=dev, body={**ticket, "service_id": site}).status == 201


def test_the_holder_widens_or_narrows_the_scope_and_only_with_its_own_services(api, account):
    holder, dev = account["holder"], account["dev"]
    site, other = account["site"]["service"]["service_id"], account["other"]["service"]["service_id"]
    stranger = api.call("POST", "/clients", body={"email": "otra@ejemplo.com.ar", "password": "Segura123",
                                                   "name": "Otra"}).json()["client_id"]
    theirs = api.call("POST", f"/staff/clients/{stranger}/orders", claims=STAFF, body={
        "product_id": "soporte-standard", "billing_cycle": "monthly"}).json()["service"]["service_id"]
    before = sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan())
    for wrong in ([theirs], [site, "no-existe"]):
        refused = api.call("PATCH", f"/me/contacts/{account['contact_id']}", claims=holder,
                           body={"service_ids": wrong})
        assert (refused.status, refused.json()["code"], refused.json()["field"]) == (
            422, "service_not_in_account", "service_ids")
    assert sorted((i.pk, i.sk, getattr(i, "version", None)) for i in TableItem.scan()) == before
    emptied = api.call("PATCH", f"/me/contacts/{account['contact_id']}", claims=holder, body={"service_ids": []})
    assert emptied.json()["service_ids"] == []  # a scope of no service: what it reads back, sent back, keeps it
    assert api.call("GET", "/me/services", claims=dev).json() == []
    widened = api.call("PATCH", f"/me/contacts/{account['contact_id']}", claims=holder, body={"service_ids": None})
    assert widened.json()["service_ids"] is None
    assert {s["service_id"] for s in api.call("GET", "/me/services", claims=dev).json()} == {site, other}
    api.call("PATCH", f"/me/contacts/{account['contact_id']}", claims=holder, body={"service_ids": [other]})
    assert [s["service_id"] for s in api.call("GET", "/me/services", claims=dev).json()] == [other]
    assert api.call("GET", f"/me/services/{site}", claims=dev).status == 404


def _service_bound_routes():
    """Every client route of the template about one service or one invoice (by its path)."""
    from devstack.cfn import load_template

    found = set()
    for resource in load_template()["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            path = event.get("Properties", {}).get("Path", "")
            if event["Type"] == "Api" and not path.startswith("/staff") and (
                    "{service_id}" in path or "{invoice_id}" in path):
                found.add((event["Properties"]["Method"].upper(), path))
    return sorted(found)


# Routes the holder alone may call: a contact, scoped or not, is refused before its scope matters.
HOLDER_ONLY = {("POST", "/services/{service_id}/cancellation"), ("DELETE", "/services/{service_id}/cancellation"),
               ("GET", "/services/{service_id}/cancellation-preview"), ("POST", "/services/{service_id}/transfer"),
               ("GET", "/services/{service_id}/credential-reveals"),
               ("POST", "/services/{service_id}/credentials/rotation")}


@pytest.mark.parametrize("route", _service_bound_routes(), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_route_about_a_service_or_its_invoice_answers_outside_the_scope_like_a_missing_one(api, account,
                                                                                                  route):
    from tools.bench import BODIES

    method, path = route
    other = account["other"]
    # Any other id in the path is a made-up one: the service decides first.
    ids = {"service_id": other["service"]["service_id"], "invoice_id": other["invoice"]["invoice_id"],
           "upgrade_id": "01KBV3ZQ7N6C8R3Y1XQ6K2M9T5", "download_id": "01KBV3ZQ7N6C8R3Y1XQ6K2M9T6"}
    missing = {**{name: "01KBV3ZQ7N6C8R3Y1XQ6K2M9T4" for name in ids}, "upgrade_id": ids["upgrade_id"],
               "download_id": ids["download_id"]}
    body = BODIES.get(route)
    outside = api.call(method, path.format(**ids), claims=account["dev"], body=body)
    if route in HOLDER_ONLY:
        assert (outside.status, outside.json()["code"]) == (403, "holder_only")
        return
    absent = api.call(method, path.format(**missing), claims=account["dev"], body=body)
    assert (outside.status, outside.text) == (404, absent.text)


def test_tickets_and_quotes_about_other_services_are_not_a_scoped_contacts(api, account):
    holder, dev = account["holder"], account["dev"]
    site, other = account["site"]["service"]["service_id"], account["other"]["service"]["service_id"]
    about = {}
    for name, service_id, who in (("site", site, holder), ("other", other, holder), ("none", None, holder),
                                  ("own", None, dev)):
        body = {"subject": f"Consulta {name}", "body": "Detalle.", **({"service_id": service_id} if service_id else {})}
        made = api.call("POST", "/me/tickets", claims=who, body=body)
        assert made.status == 201, made
        about[name] = made.json()["ticket_id"]
    listed = {t["ticket_id"] for t in api.call("GET", "/me/tickets", claims=dev).json()}
    assert listed == {about["site"], about["own"]}  # its service's, and the one it opened itself
    for hidden in ("other", "none"):
        assert api.call("GET", f"/me/tickets/{about[hidden]}", claims=dev).status == 404
        assert api.call("POST", f"/me/tickets/{about[hidden]}/replies", claims=dev, body={"body": "Hola"}).status == 404
    assert len(api.call("GET", "/me/tickets", claims=holder).json()) == 4
    quotes = {}
    for name, service_id in (("site", site), ("other", other)):
        made = api.call("POST", f"/staff/clients/{account['client_id']}/quotes", claims=STAFF, body={
            "title": f"Restauración {name}", "purpose": "backup_restore", "currency": "ARS", "service_id": service_id,
            "lines": [{"description": "Restauración", "amount": 150000}], "valid_until": "2099-12-31"})
        assert made.status == 201, made
        quotes[name] = made.json()["quote_id"]
    assert [q["quote_id"] for q in api.call("GET", "/me/quotes", claims=dev).json()] == [quotes["site"]]
    assert api.call("POST", f"/me/quotes/{quotes['other']}/accept", claims=dev, body={}).status == 404
