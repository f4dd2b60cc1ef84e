"""A contact by invitation on `make dev`: the demo holder invites a developer limited to the demo hosting, the
invitation's email (in /local/emails) carries the link, the developer accepts it with a password of its own,
signs in and sees that hosting and its credentials, and nothing else of the account. Then the second demo client
invites the same developer: one login, signed in, accepts it and acts on each account by naming it. Last, the holder
removes the developer, who had seen the hosting's credentials: the audit says so, and the holder has the password
changed on the (fake) WHM."""

import re
import uuid

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]


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
    assert status == 200 and detail["credentials"]["may_reveal"], detail
    assert "srv12.paneldecliente.com:2083" in detail["manual"], detail["manual"]  # the manual, with its own data
    status, shown = http.json("POST", f"/services/{hosting['service_id']}/credentials/reveal", token=developer,
                              body={})
    assert status == 200 and {c["name"] for c in shown["credentials"]} >= {"usuario cPanel", "clave cPanel"}
    status, seen_by = http.json("GET", f"/services/{hosting['service_id']}/credential-reveals", token=holder)
    assert status == 200 and [(r["email"], r["still_has_access"]) for r in seen_by["reveals"]][:1] == [(email, True)]
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


def test_the_holder_has_the_password_changed_after_removing_a_developer_who_saw_it(local_stack):
    http = local_stack
    holder = http.token("demo@ejemplo.com.ar")
    (hosting,) = [s for s in http.json("GET", "/me/services", token=holder)[1] if s["product_id"] == "hosting-inicial"]
    service_id = hosting["service_id"]
    email = f"dev-{uuid.uuid4().hex[:8]}@ejemplo.com.ar"
    status, contact = http.json("POST", "/me/contacts", token=holder, body={
        "email": email, "name": "Dev saliente", "permissions": ["services", "manage_services"]})
    (invitation,) = wait_for(lambda: [m for m in http.json("GET", "/local/emails")[1]["emails"] if m["to"] == [email]],
                             bool)
    token = re.search(r"token=([A-Za-z0-9_-]+)", invitation["text"]).group(1)
    assert http.json("POST", "/invitations/accept", body={"token": token, "password": "Clave1234"})[0] == 200
    developer = http.token(email, "Clave1234")
    old = http.json("POST", f"/services/{service_id}/credentials/reveal", token=developer, body={})[1]["credentials"]
    assert http.json("DELETE", f"/me/contacts/{contact['contact_id']}", token=holder)[0] in (200, 204)

    seen_by = http.json("GET", f"/services/{service_id}/credential-reveals", token=holder)[1]
    assert seen_by["rotation_advised"] and not next(r for r in seen_by["reveals"] if r["email"] == email)[
        "still_has_access"], seen_by
    status, asked = http.json("POST", f"/services/{service_id}/credentials/rotation", token=holder, body={})
    assert (status, asked["rotation"]) == (202, "requested"), asked
    # outbox -> provisioning queue -> WHM passwd (fake) -> the service keeps the new password
    done = wait_for(lambda: http.json("GET", f"/me/services/{service_id}", token=holder)[1]["credentials"],
                    lambda c: c["rotation"] is None and c["rotated_at"], seconds=20)
    assert done["rotated_at"]
    new = http.json("POST", f"/services/{service_id}/credentials/reveal", token=holder, body={})[1]["credentials"]
    password = {c["name"]: c["value"] for c in new}["clave cPanel"]
    assert password != {c["name"]: c["value"] for c in old}["clave cPanel"]
    assert http.json("GET", "/local/whm")[1]["calls_by_user"]["demopyme"]["passwd"] == 1
    assert not http.json("GET", f"/services/{service_id}/credential-reveals", token=holder)[1]["rotation_advised"]
