"""One login, several accounts: inviting an address that already signs in links that login (no second login, no
second marker); it accepts signed in, lists its accounts at GET /me/accounts and acts on each by naming it in
X-Account-Id — only as what it is there, and only that very login (its sub). Removing it, changing its email and
the tickets' email copies keep every account's view right."""

from datetime import timedelta

import boto3
import pytest

from devstack import mailbox
from shared.clock import shift_system_clock
from shared.dal.accounts import Contact, EmailMarker, Membership
from tests.integration.conftest import claims_for
from tests.integration.test_email_change import _code, _login
from tests.integration.test_invitations import accept, token_for

ANA = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana Núñez"}
BRUNO = {"email": "bruno@ejemplo.com.ar", "password": "Segura123", "name": "Bruno Díaz"}


def _person(client_id, sub, email, contact_id=None):
    return {**claims_for(client_id=client_id, contact_id=contact_id, sub=sub), "email": email}


@pytest.fixture
def ana(api):
    client_id = api.call("POST", "/clients", body=ANA).json()["client_id"]
    return client_id, _person(client_id, "sub-ana", ANA["email"])


@pytest.fixture
def bruno(api):
    client_id = api.call("POST", "/clients", body=BRUNO).json()["client_id"]
    return client_id, _person(client_id, "sub-bruno", BRUNO["email"])


def _invite(api, holder, email, permissions=("invoices", "tickets")):
    made = api.call("POST", "/me/contacts", claims=holder, body={"email": email, "name": "Invitado",
                                                                 "permissions": list(permissions)})
    assert made.status == 201, made
    return made.json()


def _carla_in_both(api, ana_claims, bruno_claims, permissions=("invoices", "tickets")):
    """Carla: invited by Ana first (her login's home is Ana's account), then by Bruno, accepted signed in."""
    a = ana_claims["custom:client_id"]
    at_a = _invite(api, ana_claims, "carla@ejemplo.com.ar")
    assert accept(api, "carla@ejemplo.com.ar").status == 200  # Carla's login is made for Ana's account
    carla = _person(a, "sub-carla", "carla@ejemplo.com.ar", at_a["contact_id"])
    at_b = _invite(api, bruno_claims, "carla@ejemplo.com.ar", permissions=permissions)
    assert api.call("POST", "/me/invitations/accept", claims=carla,
                    body={"token": token_for("carla@ejemplo.com.ar")}).status == 200
    return at_a, carla, at_b


def _on(account_id):
    return {"X-Account-Id": account_id}


def test_a_holder_invited_elsewhere_accepts_signed_in_and_acts_on_each_account(api, stack, ana, bruno):
    a, ana_claims = ana
    b, bruno_claims = bruno
    contact = _invite(api, ana_claims, "Bruno@Ejemplo.com.ar")
    assert contact["status"] == "invited"
    assert EmailMarker.get(*EmailMarker.key("bruno@ejemplo.com.ar")).client_id == b  # still Bruno's own login
    assert "inicie sesión con su clave de siempre" in [
        m for m in mailbox.sent_emails() if m["to"] == [BRUNO["email"]]][-1]["text"]
    token = token_for(BRUNO["email"])

    public = accept(api, "", token=token)
    assert (public.status, public.json()["code"]) == (409, "sign_in_to_accept")
    someone_else = api.call("POST", "/me/invitations/accept", claims=ana_claims, body={"token": token})
    assert (someone_else.status, someone_else.json()["code"]) == (403, "invitation_for_another_email")
    before = api.call("GET", "/me", claims=bruno_claims, headers=_on(a))
    assert (before.status, before.json()["code"]) == (404, "account_not_found")  # pending: nobody acts through it
    accepted = api.call("POST", "/me/invitations/accept", claims=bruno_claims, body={"token": token})
    assert accepted.status == 200 and accepted.json()["client_id"] == a, accepted
    again = api.call("POST", "/me/invitations/accept", claims=bruno_claims, body={"token": token})
    assert (again.status, again.json()["code"]) == (404, "invitation_not_valid")

    listed = api.call("GET", "/me/accounts", claims=bruno_claims, headers=_on(a)).json()  # the header changes nothing
    assert [(x["client_id"], x["role"], x["home"]) for x in listed] == [(b, "holder", True), (a, "contact", False)]
    assert listed[1]["name"] == "Ana Núñez" and listed[1]["permissions"] == ["invoices", "tickets"]

    as_contact = api.call("GET", "/me", claims=bruno_claims, headers=_on(a)).json()
    assert as_contact["identity"] == {"role": "contact", "contact_id": contact["contact_id"],
                                      "permissions": ["invoices", "tickets"]}
    assert api.call("GET", "/me/invoices", claims=bruno_claims, headers=_on(a)).status == 200
    services = api.call("GET", "/me/services", claims=bruno_claims, headers=_on(a))
    assert (services.status, services.json()["code"]) == (403, "permission_denied")  # only what Ana granted
    contacts = api.call("GET", "/me/contacts", claims=bruno_claims, headers=_on(a))
    assert (contacts.status, contacts.json()["code"]) == (403, "holder_only")
    at_home = api.call("GET", "/me", claims=bruno_claims).json()
    assert at_home["identity"]["role"] == "holder" and at_home["account"]["client_id"] == b

    # Only that login: the same email with another sub, or another person, is refused the account.
    for claims in (_person(b, "sub-impostor", BRUNO["email"]), ana_claims | {"custom:client_id": b}):
        refused = api.call("GET", "/me", claims=claims, headers=_on(a))
        assert (refused.status, refused.json()["code"]) == (404, "account_not_found")
    for named in ("no-es-un-id", "01JZZZZZZZZZZZZZZZZZZZZZZZ"):
        assert api.call("GET", "/me", claims=bruno_claims, headers=_on(named)).status == 404
    own = api.call("GET", "/me", claims=ana_claims, headers=_on(a)).json()  # naming its own account: itself
    assert own["identity"]["role"] == "holder"

    twice = api.call("POST", "/me/contacts", claims=ana_claims, body={
        "email": BRUNO["email"], "name": "Otra vez", "permissions": ["invoices"]})
    assert (twice.status, twice.json()["code"]) == (409, "already_in_account")
    itself = api.call("POST", "/me/contacts", claims=ana_claims, body={
        "email": ANA["email"], "name": "Yo", "permissions": ["invoices"]})
    assert (itself.status, itself.json()["code"]) == (409, "already_in_account")

    # Removed: the account is gone from Bruno's list at once; his own login and account stay.
    assert api.call("DELETE", f"/me/contacts/{contact['contact_id']}", claims=ana_claims).status == 204
    gone = api.call("GET", "/me", claims=bruno_claims, headers=_on(a))
    assert (gone.status, gone.json()["code"]) == (404, "account_not_found")
    assert [x["client_id"] for x in api.call("GET", "/me/accounts", claims=bruno_claims).json()] == [b]
    assert _login(stack, BRUNO["email"])["custom:client_id"] == b
    assert EmailMarker.get(*EmailMarker.key(BRUNO["email"])).client_id == b


def test_removing_a_contacts_home_keeps_its_login_for_its_other_account_then_the_last_removal_frees_it(
        api, stack, ana, bruno):
    a, ana_claims = ana
    b, bruno_claims = bruno
    at_a, carla, at_b = _carla_in_both(api, ana_claims, bruno_claims, permissions=("services",))
    assert [x["client_id"] for x in api.call("GET", "/me/accounts", claims=carla).json()] == [a, b]

    assert api.call("DELETE", f"/me/contacts/{at_a['contact_id']}", claims=ana_claims).status == 204
    login = _login(stack, "carla@ejemplo.com.ar")
    assert (login["custom:client_id"], login["custom:contact_id"]) == (b, at_b["contact_id"])  # Bruno's is home now
    marker = EmailMarker.get(*EmailMarker.key("carla@ejemplo.com.ar"))
    assert (marker.client_id, marker.contact_id) == (b, at_b["contact_id"])
    # A token issued before (home: Ana's) still reaches Bruno's account by naming it; Ana's is gone.
    assert api.call("GET", "/me/services", claims=carla, headers=_on(b)).status == 200
    assert api.call("GET", "/me", claims=carla).json()["code"] == "contact_revoked"
    rehomed = _person(b, "sub-carla", "carla@ejemplo.com.ar", at_b["contact_id"])
    assert [(x["client_id"], x["home"]) for x in api.call("GET", "/me/accounts", claims=rehomed).json()] == [(b, True)]

    assert api.call("DELETE", f"/me/contacts/{at_b['contact_id']}", claims=bruno_claims).status == 204
    assert _login(stack, "carla@ejemplo.com.ar") is None  # no account left: the login and its email are freed
    assert api.call("POST", "/clients", body={**ANA, "email": "carla@ejemplo.com.ar", "name": "Carla"}).status == 201


def test_a_login_that_changes_its_email_changes_it_in_every_account(api, stack, ana, bruno):
    a, ana_claims = ana
    b, bruno_claims = bruno
    contact = _invite(api, ana_claims, BRUNO["email"])
    api.call("POST", "/me/invitations/accept", claims=bruno_claims, body={"token": token_for(BRUNO["email"])})
    asked = api.call("POST", "/me/email-change", claims=bruno_claims, headers=_on(a),  # his login's, wherever
                     body={"new_email": "bruno.nuevo@ejemplo.com.ar", "password": "Segura123"})
    assert asked.status == 202, asked
    confirmed = api.call("POST", "/me/email-change/confirm", claims=bruno_claims,
                         body={"code": _code("bruno.nuevo@ejemplo.com.ar")})
    assert confirmed.status == 200 and confirmed.json()["account"]["email"] == "bruno.nuevo@ejemplo.com.ar"

    assert Contact.get(*Contact.key(a, contact["contact_id"])).email == "bruno.nuevo@ejemplo.com.ar"
    moved = Membership.get(*Membership.key("bruno.nuevo@ejemplo.com.ar", a))
    assert (moved.contact_id, moved.login_sub) == (contact["contact_id"], "sub-bruno")
    with pytest.raises(Membership.DoesNotExist):
        Membership.get(*Membership.key(BRUNO["email"], a))
    renewed = {**bruno_claims, "email": "bruno.nuevo@ejemplo.com.ar"}
    assert api.call("GET", "/me", claims=renewed, headers=_on(a)).json()["identity"]["role"] == "contact"
    assert api.call("GET", "/me", claims=bruno_claims, headers=_on(a)).status == 404  # the old address binds nothing
    assert api.call("GET", "/me/contacts", claims=ana_claims).json()[0]["email"] == "bruno.nuevo@ejemplo.com.ar"


def test_a_linked_contact_is_known_by_email_in_the_account_it_joined(api, ana, bruno):
    from tickets.correspondents import who_is

    a, ana_claims = ana
    b, bruno_claims = bruno
    _invite(api, ana_claims, BRUNO["email"], permissions=("tickets",))
    pending = who_is(BRUNO["email"])
    assert pending.may_see_tickets_of(b) and not pending.may_see_tickets_of(a)  # not until he accepts
    api.call("POST", "/me/invitations/accept", claims=bruno_claims, body={"token": token_for(BRUNO["email"])})
    sender = who_is(BRUNO["email"])
    assert sender.client_id == b and sender.may_see_tickets_of(a) and sender.may_see_tickets_of(b)


def test_an_invitation_to_a_staff_login_is_refused_on_accepting(api, stack, ana):
    a, ana_claims = ana
    boto3.client("cognito-idp", region_name="us-east-1").admin_create_user(
        UserPoolId=stack.refs["UserPool"], Username="soporte@ejemplo.com.ar", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "soporte@ejemplo.com.ar"}])
    _invite(api, ana_claims, "soporte@ejemplo.com.ar")
    refused = accept(api, "soporte@ejemplo.com.ar")
    assert (refused.status, refused.json()["code"]) == (409, "email_has_login")


def test_an_expired_invitation_does_not_keep_its_address_from_signing_up(api, ana):
    a, ana_claims = ana
    contact = _invite(api, ana_claims, "carla@ejemplo.com.ar")
    squatted = api.call("POST", "/clients", body={**ANA, "email": "carla@ejemplo.com.ar", "name": "Carla"})
    assert (squatted.status, squatted.json()["code"]) == (409, "email_taken")  # within its 7 days a sign-up waits
    shift_system_clock(timedelta(days=7, minutes=1))
    try:
        signed_up = api.call("POST", "/clients", body={**ANA, "email": "carla@ejemplo.com.ar", "name": "Carla"})
    finally:
        shift_system_clock(-timedelta(days=7, minutes=1))
    assert signed_up.status == 201, signed_up  # the address was held by an expired invitation only: Carla's now
    resent = api.call("POST", f"/me/contacts/{contact['contact_id']}/invitation", claims=ana_claims)
    assert resent.status == 200  # Ana sends it again: it waits for Carla's login
    marker = EmailMarker.get(*EmailMarker.key("carla@ejemplo.com.ar"))
    assert (marker.client_id, marker.contact_id) == (signed_up.json()["client_id"], None)
    token = token_for("carla@ejemplo.com.ar")
    assert accept(api, "", token=token).json()["code"] == "sign_in_to_accept"  # Ana's invitation waits for her login
    carla = _person(signed_up.json()["client_id"], "sub-carla", "carla@ejemplo.com.ar")
    assert api.call("POST", "/me/invitations/accept", claims=carla, body={"token": token}).status == 200
    assert [(x["client_id"], x["role"]) for x in api.call("GET", "/me/accounts", claims=carla).json()] == [
        (signed_up.json()["client_id"], "holder"), (a, "contact")]
    there = api.call("GET", "/me", claims=carla, headers=_on(a)).json()
    assert there["identity"]["contact_id"] == contact["contact_id"]


def test_the_first_invitation_accepted_makes_the_login_and_the_other_waits_for_it(api, stack, ana, bruno):
    a, ana_claims = ana
    b, bruno_claims = bruno
    at_a = _invite(api, ana_claims, "carla@ejemplo.com.ar")
    from_a = token_for("carla@ejemplo.com.ar")
    at_b = _invite(api, bruno_claims, "carla@ejemplo.com.ar")
    from_b = token_for("carla@ejemplo.com.ar")
    assert from_a != from_b
    accepted = accept(api, "", token=from_b)  # nobody signs in with the address yet: Bruno's makes the login
    assert accepted.status == 200, accepted
    login = _login(stack, "carla@ejemplo.com.ar")
    assert (login["custom:client_id"], login["custom:contact_id"]) == (b, at_b["contact_id"])
    assert accept(api, "", token=from_a).json()["code"] == "sign_in_to_accept"
    carla = _person(b, "sub-carla", "carla@ejemplo.com.ar", at_b["contact_id"])
    assert api.call("POST", "/me/invitations/accept", claims=carla, body={"token": from_a}).status == 200
    assert [x["client_id"] for x in api.call("GET", "/me/accounts", claims=carla).json()] == [b, a]
    assert api.call("GET", "/me", claims=carla, headers=_on(a)).json()["identity"]["contact_id"] == at_a["contact_id"]


def test_invitations_and_email_codes_are_limited_per_hour_and_the_refused_one_writes_nothing(api, ana):
    a, ana_claims = ana
    from accounts.invitations import INVITATIONS_PER_HOUR

    for n in range(INVITATIONS_PER_HOUR):
        _invite(api, ana_claims, f"persona{n}@ejemplo.com.ar")
    refused = api.call("POST", "/me/contacts", claims=ana_claims, body={
        "email": "una.mas@ejemplo.com.ar", "name": "Una más", "permissions": ["invoices"]})
    assert (refused.status, refused.json()["code"]) == (429, "too_many_invitations")
    assert len(api.call("GET", "/me/contacts", claims=ana_claims).json()) == INVITATIONS_PER_HOUR == 20
    first = api.call("GET", "/me/contacts", claims=ana_claims).json()[0]["contact_id"]
    again = api.call("POST", f"/me/contacts/{first}/invitation", claims=ana_claims)
    assert (again.status, again.json()["code"]) == (429, "too_many_invitations")

    asked = [api.call("POST", "/me/email-change", claims=ana_claims,
                      body={"new_email": f"ana{n}@ejemplo.com.ar", "password": "Segura123"}).status for n in range(6)]
    assert asked == [202] * 5 + [429]
    sent = [m for m in mailbox.sent_emails() if m["to"][0].startswith("ana") and "código" in m["text"]]
    assert len(sent) == 5


def _removal_read_now(contact_id, client_id):
    """A removal of a contact that has read the login's state (as DELETE /me/contacts/{id} does) and not yet
    committed: what the other change of the race then does happens in between."""
    from accounts import memberships

    from shared.dal.accounts import Accounts
    from shared.dal.unit_of_work import UnitOfWork

    contact = Contact.get(*Contact.key(client_id, contact_id))
    uow = UnitOfWork()
    uow.delete(contact)
    memberships.stage_removal(Accounts(), uow, contact)
    return uow


def test_a_removal_and_an_acceptance_of_the_same_login_at_once_cannot_both_stand(api, stack, ana, bruno):
    from shared.errors import ConcurrentModification

    a, ana_claims = ana
    b, bruno_claims = bruno
    at_a = _invite(api, ana_claims, "carla@ejemplo.com.ar")
    accept(api, "carla@ejemplo.com.ar")
    carla = _person(a, "sub-carla", "carla@ejemplo.com.ar", at_a["contact_id"])
    _invite(api, bruno_claims, "carla@ejemplo.com.ar")
    removal = _removal_read_now(at_a["contact_id"], a)  # it read no heir: the login would go
    assert api.call("POST", "/me/invitations/accept", claims=carla,
                    body={"token": token_for("carla@ejemplo.com.ar")}).status == 200
    with pytest.raises(ConcurrentModification):
        removal.commit()
    assert api.call("DELETE", f"/me/contacts/{at_a['contact_id']}", claims=ana_claims).status == 204  # again
    assert _login(stack, "carla@ejemplo.com.ar")["custom:client_id"] == b  # it saw the acceptance: re-homed


def test_two_holders_removing_the_same_person_at_once_leave_no_marker_behind(api, stack, ana, bruno):
    from shared.errors import ConcurrentModification

    a, ana_claims = ana
    b, bruno_claims = bruno
    at_a, carla, at_b = _carla_in_both(api, ana_claims, bruno_claims)
    by_bruno = _removal_read_now(at_b["contact_id"], b)  # not the home: it would leave the login alone
    assert api.call("DELETE", f"/me/contacts/{at_a['contact_id']}", claims=ana_claims).status == 204  # re-homed to B
    with pytest.raises(ConcurrentModification):
        by_bruno.commit()
    assert api.call("DELETE", f"/me/contacts/{at_b['contact_id']}", claims=bruno_claims).status == 204
    with pytest.raises(EmailMarker.DoesNotExist):
        EmailMarker.get(*EmailMarker.key("carla@ejemplo.com.ar"))
    assert _login(stack, "carla@ejemplo.com.ar") is None


def test_a_rehome_cognito_missed_is_repaired_where_the_client_area_looks_first(api, stack, ana, bruno):
    a, ana_claims = ana
    b, bruno_claims = bruno
    at_a, carla, at_b = _carla_in_both(api, ana_claims, bruno_claims)
    assert api.call("DELETE", f"/me/contacts/{at_a['contact_id']}", claims=ana_claims).status == 204
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    cognito.admin_update_user_attributes(  # as if Cognito had not answered the re-home
        UserPoolId=stack.refs["UserPool"], Username="carla@ejemplo.com.ar", UserAttributes=[
            {"Name": "custom:client_id", "Value": a}, {"Name": "custom:contact_id", "Value": at_a["contact_id"]}])
    listed = api.call("GET", "/me/accounts", claims=carla).json()
    assert [(x["client_id"], x["home"]) for x in listed] == [(b, True)]
    login = _login(stack, "carla@ejemplo.com.ar")
    assert (login["custom:client_id"], login["custom:contact_id"]) == (b, at_b["contact_id"])


def test_a_login_joins_a_bounded_number_of_accounts(api, ana, bruno, monkeypatch):
    from accounts import memberships

    a, ana_claims = ana
    b, bruno_claims = bruno
    monkeypatch.setattr(memberships, "MAX_MEMBERSHIPS", 1)
    _invite(api, ana_claims, "carla@ejemplo.com.ar")  # her home: no membership
    _invite(api, bruno_claims, "carla@ejemplo.com.ar")  # one membership
    third = api.call("POST", "/clients", body={**ANA, "email": "dora@ejemplo.com.ar", "name": "Dora"}).json()
    refused = api.call("POST", "/me/contacts", claims=_person(third["client_id"], "sub-dora", "dora@ejemplo.com.ar"),
                       body={"email": "carla@ejemplo.com.ar", "name": "Carla", "permissions": ["invoices"]})
    assert (refused.status, refused.json()["code"]) == (409, "too_many_accounts")
