"""A contact by invitation on `make dev`: the demo holder invites a developer limited to the demo hosting, the
invitation's email (in /local/emails) carries the link, the developer accepts it with a password of its own,
signs in and sees that hosting and its credentials, and nothing else of the account."""

import re
import uuid

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e]


def test_the_holder_invites_a_developer_who_sees_only_the_site_it_was_given(local_stack):
    http = local_stack
    holder = http.token("demo@ejemplo.com.ar")
    services = http.json("GET", "/me/services", token=holder)[1]
    (hosting,) = [s for s in services if s["product_id"] == "hosting-inicial"]
    email = f"dev-{uuid.uuid4().hex[:8]}@ejemplo.com.ar"
    status, contact = http.json("POST", "/me/contacts", token=holder, body={
        "email": email, "name": "Desarrollador", "permissions": ["services", "manage_services"],
        "service_ids": [hosting["service_id"]]})
    assert status == 201 and contact["status"] == "invited", contact
    (invitation,) = wait_for(lambda: [m for m in http.json("GET", "/local/emails")[1]["emails"] if m["to"] == [email]],
                             bool)
    token = re.search(r"token=([A-Za-z0-9_-]+)", invitation["text"]).group(1)
    status, accepted = http.json("POST", "/invitations/accept", body={"token": token, "password": "Clave1234"})
    assert status == 200 and accepted["contact_id"] == contact["contact_id"], accepted

    developer = http.token(email, "Clave1234")
    seen = http.json("GET", "/me/services", token=developer)[1]
    assert [s["service_id"] for s in seen] == [hosting["service_id"]]
    status, detail = http.json("GET", f"/me/services/{hosting['service_id']}", token=developer)
    assert status == 200 and {c["name"] for c in detail["credentials"]} >= {"usuario cPanel", "clave cPanel"}
    others = [s for s in services if s["service_id"] != hosting["service_id"]]
    assert others and all(http.json("GET", f"/me/services/{s['service_id']}", token=developer)[0] == 404
                          for s in others)
