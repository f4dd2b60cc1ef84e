"""A contact by invitation on `make dev`: the demo holder invites a developer limited to the demo hosting, the
invitation's email (in /local/emails) carries the link, the developer accepts it with a password of its own,
signs in and sees that hosting and its credentials, and nothing else of the account. Then the second demo client
invites the same developer: one login, signed in, accepts it and acts on each account by naming it."""

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

    second = http.token("otro@ejemplo.com.ar")
    status, joined = http.json("POST", "/me/contacts", token=second, body={
        "email": email, "name": "Desarrollador", "permissions": ["services"]})
    assert status == 201 and joined["status"] == "invited", joined
    (invitation,) = wait_for(lambda: [m for m in http.json("GET", "/local/emails")[1]["emails"]
                                      if m["to"] == [email] and "clave de siempre" in m["text"]], bool)
    token = re.search(r"token=([A-Za-z0-9_-]+)", invitation["text"]).group(1)
    status, refused = http.json("POST", "/invitations/accept", body={"token": token, "password": "Otra12345"})
    assert (status, refused["code"]) == (409, "sign_in_to_accept")
    status, accepted = http.json("POST", "/me/invitations/accept", token=developer, body={"token": token})
    assert status == 200, accepted
    accounts = http.json("GET", "/me/accounts", token=developer)[1]
    assert [a["home"] for a in accounts] == [True, False] and accounts[1]["client_id"] == accepted["client_id"]
    there = {"X-Account-Id": accepted["client_id"]}
    status, me = http.json("GET", "/me", token=developer, headers=there)
    assert status == 200 and me["identity"] == {"role": "contact", "contact_id": joined["contact_id"],
                                                "permissions": ["services"]}, me
    assert http.json("GET", "/me/services", token=developer, headers=there)[0] == 200
    assert http.json("GET", "/me/invoices", token=developer, headers=there)[1]["code"] == "permission_denied"
    assert [s["service_id"] for s in http.json("GET", "/me/services", token=developer)[1]] == [hosting["service_id"]]
