"""Secondary contacts by invitation: adding one emails a one-time token (only its hash is kept), valid 7 days and
once; accepting it with a password creates the contact's login with the account's ids; sending it again voids
the one before; removing the contact revokes it."""

import re
from datetime import timedelta

import boto3
import pytest

from devstack import mailbox
from shared.clock import shift_system_clock
from shared.dal.accounts import Invitation
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

HOLDER = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana Núñez"}


def token_for(address: str) -> str:
    """The token of the newest invitation emailed to ``address`` (as the contact clicks it)."""
    (latest, *_) = [m for m in reversed(mailbox.sent_emails()) if address in m["to"]]
    return re.search(r"token=([A-Za-z0-9_-]+)", latest["text"]).group(1)


def accept(api, address: str, password: str = "Segura123", token: str | None = None):
    return api.call("POST", "/invitations/accept", body={"token": token or token_for(address), "password": password})


def _cognito(stack, email):
    return boto3.client("cognito-idp", region_name="us-east-1").admin_get_user(
        UserPoolId=stack.refs["UserPool"], Username=email)


@pytest.fixture
def holder(api):
    return claims_for(client_id=api.call("POST", "/clients", body=HOLDER).json()["client_id"], sub="sub-ana")


def _invite(api, holder, email="contable@ejemplo.com.ar"):
    made = api.call("POST", "/me/contacts", claims=holder, body={"email": email, "name": "Estudio",
                                                                 "permissions": ["invoices"]})
    assert made.status == 201, made
    return made.json()


def test_an_invited_contact_accepts_once_and_signs_in_with_its_own_password(api, stack, holder):
    contact = _invite(api, holder)
    assert contact["status"] == "invited" and contact["invitation_expires_at"]
    (email,) = [m for m in mailbox.sent_emails() if m["to"] == ["contable@ejemplo.com.ar"]]
    assert email["subject"] == "Ana Núñez lo invita a Paneldecliente" and "7 días" in email["text"]
    token = token_for("contable@ejemplo.com.ar")
    stored = {i.pk for i in TableItem.scan() if isinstance(i, Invitation)}
    assert stored and all(token not in pk for pk in stored)  # only its hash is kept
    with pytest.raises(boto3.client("cognito-idp", region_name="us-east-1").exceptions.UserNotFoundException):
        _cognito(stack, "contable@ejemplo.com.ar")  # no login until it accepts

    wrong = accept(api, "", token="x" * 43)
    assert (wrong.status, wrong.json()["code"]) == (404, "invitation_not_valid")
    weak = accept(api, "contable@ejemplo.com.ar", password="sinmayusculas1")
    assert (weak.status, weak.json()["code"]) == (422, "weak_password")  # Cognito's policy; still valid after
    accepted = accept(api, "contable@ejemplo.com.ar", token=token)
    assert accepted.status == 200, accepted
    attributes = {a["Name"]: a["Value"] for a in _cognito(stack, "contable@ejemplo.com.ar")["UserAttributes"]}
    assert attributes["custom:contact_id"] == contact["contact_id"] == accepted.json()["contact_id"]
    assert api.call("GET", "/me/contacts", claims=holder).json()[0]["status"] == "active"
    again = accept(api, "contable@ejemplo.com.ar", token=token)
    assert (again.status, again.json()["code"]) == (404, "invitation_not_valid")  # single use
    resent = api.call("POST", f"/me/contacts/{contact['contact_id']}/invitation", claims=holder)
    assert (resent.status, resent.json()["code"]) == (409, "contact_already_active")


def test_sending_again_voids_the_old_link_removing_revokes_and_seven_days_end_it(api, holder):
    contact = _invite(api, holder)
    old = token_for("contable@ejemplo.com.ar")
    resent = api.call("POST", f"/me/contacts/{contact['contact_id']}/invitation", claims=holder)
    assert resent.status == 200 and resent.json()["status"] == "invited"
    new = token_for("contable@ejemplo.com.ar")
    assert new != old
    assert accept(api, "", token=old).json()["code"] == "invitation_not_valid"

    removed = _invite(api, holder, "socio@ejemplo.com.ar")
    token = token_for("socio@ejemplo.com.ar")
    assert api.call("DELETE", f"/me/contacts/{removed['contact_id']}", claims=holder).status == 204
    assert accept(api, "", token=token).json()["code"] == "invitation_not_valid"

    shift_system_clock(timedelta(days=7, minutes=1))
    try:
        late = accept(api, "", token=new)
    finally:
        shift_system_clock(-timedelta(days=7, minutes=1))
    assert (late.status, late.json()["code"]) == (404, "invitation_not_valid")
    assert accept(api, "", token=new).status == 200  # within its 7 days it still works
