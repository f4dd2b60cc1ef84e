"""A person changes the email they sign in with: a code of ours to the new address, confirmed with it; the table's
marker moves in one transaction and then the login's email in Cognito; the old address is told; a sign-up that
claims the address first wins, and nothing changes for the one who lost."""

import re
from datetime import timedelta

import boto3
import pytest

from devstack import mailbox
from shared.clock import shift_system_clock
from shared.dal.accounts import Client, EmailMarker
from tests.integration.conftest import claims_for
from tests.integration.test_invitations import accept

ANA = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana"}


def _code(address: str) -> str:
    (latest, *_) = [m for m in reversed(mailbox.sent_emails()) if address in m["to"]]
    return re.search(r"\b(\d{6})\b", latest["text"]).group(1)


def _login(stack, email):
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    try:
        user = cognito.admin_get_user(UserPoolId=stack.refs["UserPool"], Username=email)
    except cognito.exceptions.UserNotFoundException:
        return None
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


@pytest.fixture
def ana(api):
    client_id = api.call("POST", "/clients", body=ANA).json()["client_id"]
    return client_id, claims_for(client_id=client_id, sub="sub-ana")


def test_the_holder_moves_its_login_to_a_new_address_confirmed_by_a_code(api, stack, ana):
    client_id, holder = ana
    wrong = api.call("POST", "/me/email-change", claims=holder, body={"new_email": "ana.nueva@ejemplo.com.ar",
                                                                      "password": "NoEsLaClave1"})
    assert (wrong.status, wrong.json()["code"]) == (403, "wrong_password")
    asked = api.call("POST", "/me/email-change", claims=holder, body={"new_email": " Ana.Nueva@Ejemplo.com.ar ",
                                                                      "password": "Segura123"})
    assert asked.status == 202 and asked.json()["new_email"] == "ana.nueva@ejemplo.com.ar", asked
    code = _code("ana.nueva@ejemplo.com.ar")
    mistaken = api.call("POST", "/me/email-change/confirm", claims=holder,
                        body={"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert (mistaken.status, mistaken.json()["code"]) == (422, "wrong_code")
    assert "Le quedan 4 intentos" in mistaken.json()["message"]
    confirmed = api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": code})
    assert confirmed.status == 200 and confirmed.json()["account"]["email"] == "ana.nueva@ejemplo.com.ar", confirmed

    assert _login(stack, "ana@ejemplo.com.ar") is None
    assert _login(stack, "ana.nueva@ejemplo.com.ar")["custom:client_id"] == client_id
    assert Client.get(*Client.key(client_id)).email == "ana.nueva@ejemplo.com.ar"
    assert EmailMarker.get(*EmailMarker.key("ana.nueva@ejemplo.com.ar")).client_id == client_id
    notice = [m for m in mailbox.sent_emails() if m["to"] == ["ana@ejemplo.com.ar"]]
    assert notice and "an***@ejemplo.com.ar" in notice[-1]["text"]
    # The old address is free for someone else; the new one is taken.
    assert api.call("POST", "/clients", body={**ANA, "name": "Otra Ana"}).status == 201
    taken = api.call("POST", "/clients", body={**ANA, "email": "ana.nueva@ejemplo.com.ar"})
    assert (taken.status, taken.json()["code"]) == (409, "email_taken")
    again = api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": code})
    assert (again.status, again.json()["code"]) == (404, "no_email_change")  # used up


def test_a_sign_up_that_claims_the_address_first_wins_and_the_change_changes_nothing(api, stack, ana):
    client_id, holder = ana
    api.call("POST", "/me/email-change", claims=holder, body={"new_email": "disputado@ejemplo.com.ar",
                                                              "password": "Segura123"})
    code = _code("disputado@ejemplo.com.ar")
    assert api.call("POST", "/clients", body={**ANA, "email": "disputado@ejemplo.com.ar"}).status == 201
    lost = api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": code})
    assert (lost.status, lost.json()["code"]) == (409, "email_taken")
    assert Client.get(*Client.key(client_id)).email == "ana@ejemplo.com.ar"
    assert _login(stack, "ana@ejemplo.com.ar")["custom:client_id"] == client_id
    assert EmailMarker.get(*EmailMarker.key("ana@ejemplo.com.ar")).client_id == client_id


def test_a_contact_changes_its_own_and_codes_run_out_by_tries_or_time(api, stack, ana):
    client_id, holder = ana
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices"]}).json()["contact_id"]
    assert accept(api, "contable@ejemplo.com.ar", password="Contable1").status == 200
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contable")
    api.call("POST", "/me/email-change", claims=contact, body={"new_email": "estudio@ejemplo.com.ar",
                                                               "password": "Contable1"})
    shift_system_clock(timedelta(minutes=16))
    try:
        late = api.call("POST", "/me/email-change/confirm", claims=contact,
                        body={"code": _code("estudio@ejemplo.com.ar")})
    finally:
        shift_system_clock(-timedelta(minutes=16))
    assert (late.status, late.json()["code"]) == (404, "no_email_change")
    api.call("POST", "/me/email-change", claims=contact, body={"new_email": "estudio@ejemplo.com.ar",
                                                               "password": "Contable1"})
    code = _code("estudio@ejemplo.com.ar")
    for _ in range(5):
        api.call("POST", "/me/email-change/confirm", claims=contact, body={"code": f"{(int(code) + 7) % 10**6:06d}"})
    spent = api.call("POST", "/me/email-change/confirm", claims=contact, body={"code": code})
    assert (spent.status, spent.json()["code"]) == (404, "no_email_change")  # five wrong tries end it
    shift_system_clock(timedelta(minutes=16))  # a new request, once the spent one's 15 minutes are over
    try:
        api.call("POST", "/me/email-change", claims=contact, body={"new_email": "estudio@ejemplo.com.ar",
                                                                   "password": "Contable1"})
        done = api.call("POST", "/me/email-change/confirm", claims=contact,
                        body={"code": _code("estudio@ejemplo.com.ar")})
    finally:
        shift_system_clock(-timedelta(minutes=16))
    assert done.status == 200, done
    assert _login(stack, "estudio@ejemplo.com.ar")["custom:contact_id"] == contact_id
    assert api.call("GET", "/me/contacts", claims=holder).json()[0]["email"] == "estudio@ejemplo.com.ar"


def test_asking_again_buys_no_more_guesses_and_a_contact_cannot_lock_the_holder_out(api, stack, ana):
    client_id, holder = ana
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices"]}).json()["contact_id"]
    assert accept(api, "contable@ejemplo.com.ar", password="Contable1").status == 200
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contable")
    for _ in range(5):  # the contact's own wrong passwords lock the contact's confirmations, not the holder's
        api.call("POST", "/me/email-change", claims=contact, body={"new_email": "x@ejemplo.com.ar",
                                                                   "password": "NoEsLaClave1"})
    locked = api.call("POST", "/me/email-change", claims=contact, body={"new_email": "x@ejemplo.com.ar",
                                                                        "password": "Contable1"})
    assert (locked.status, locked.json()["code"]) == (429, "too_many_attempts")
    ask = {"new_email": "ana.otra@ejemplo.com.ar", "password": "Segura123"}
    def wrong() -> str:  # never the code just sent
        return f"{(int(_code('ana.otra@ejemplo.com.ar')) + 1) % 10**6:06d}"

    assert api.call("POST", "/me/email-change", claims=holder, body=ask).status == 202
    for _ in range(4):
        api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": wrong()})
    assert api.call("POST", "/me/email-change", claims=holder, body=ask).status == 202  # asked again...
    api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": wrong()})
    spent = api.call("POST", "/me/email-change/confirm", claims=holder, body={"code": _code("ana.otra@ejemplo.com.ar")})
    assert (spent.status, spent.json()["code"]) == (404, "no_email_change")  # ... with the tries it had left
