"""Sign-up, my details and contacts through the real handlers against moto."""

import threading

import boto3
import pytest
from pynamodb.models import Model

from shared.dal.accounts import Client, EmailMarker
from shared.dal.outbox import EventRecord
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

SIGNUP = {"email": "ana@ejemplo.com.ar", "password": "Segura123", "name": "Ana Pérez"}


def _items(kind: type[Model]) -> list:
    # Test-only inspection of everything stored (a Scan is fine here, never in request paths).
    return [i for i in TableItem.scan() if isinstance(i, kind)]


def _cognito_user(stack, email):
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    user = idp.admin_get_user(UserPoolId=stack.refs["UserPool"], Username=email)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def test_signup_creates_client_marker_event_and_login(api, stack):
    response = api.call("POST", "/clients", body={**SIGNUP, "phone": "011 15 2345-6789", "whatsapp_opt_in": True})

    assert response.status == 201, response
    body = response.json()
    assert body["email"] == "ana@ejemplo.com.ar"
    assert body["phone"] == "+5491123456789"
    assert body["support_plan"] == "standard"
    client_id = body["client_id"]
    assert [c.client_id for c in _items(Client)] == [client_id]
    assert [m.pk for m in _items(EmailMarker)] == ["EMAIL#ana@ejemplo.com.ar"]
    events = _items(EventRecord)
    assert [e.type for e in events] == ["client.registered"]
    assert events[0].client_id == client_id
    attributes = _cognito_user(stack, "ana@ejemplo.com.ar")
    assert attributes["custom:client_id"] == client_id
    assert "custom:contact_id" not in attributes


@pytest.mark.parametrize("variant", ["ANA@ejemplo.com.ar", "  ana@Ejemplo.COM.ar ", "Ana@EJEMPLO.com.ar\t"])
def test_duplicate_email_in_any_case_or_spacing_is_409_and_changes_nothing(api, variant):
    assert api.call("POST", "/clients", body=SIGNUP).status == 201

    response = api.call("POST", "/clients", body={**SIGNUP, "email": variant, "name": "Otra"})

    assert response.status == 409
    assert response.json()["code"] == "email_taken"
    assert "Ya existe una cuenta con ese email" in response.json()["message"]
    assert len(_items(Client)) == 1
    assert len(_items(EventRecord)) == 1


def test_twenty_concurrent_signups_with_one_email_create_exactly_one_client(stack, store, logins):
    from accounts.logic import register_client
    from accounts.schemas import RegisterClient

    from shared.clock import SystemClock
    from shared.dal.accounts import EmailTaken

    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def attempt(index: int) -> None:
        data = RegisterClient(email=f"  {'ANA' if index % 2 else 'ana'}@ejemplo.com.ar", password="Segura123",
                              name=f"Ana {index}")
        barrier.wait()
        try:
            register_client(store, logins, SystemClock(), data)
            outcomes.append("created")
        except EmailTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] + ["taken"] * 19
    assert len(_items(Client)) == 1
    assert len(_items(EmailMarker)) == 1


def test_refused_login_writes_nothing_and_announces_nothing(api, stack):
    response = api.call("POST", "/clients", body={**SIGNUP, "password": "sinmayusculas1"})

    assert response.status == 422
    assert response.json()["code"] == "weak_password"
    assert response.json()["field"] == "password"
    assert _items(Client) == [] and _items(EmailMarker) == [] and _items(EventRecord) == []
    # The email is free again.
    assert api.call("POST", "/clients", body=SIGNUP).status == 201


def test_refused_table_write_removes_the_new_login(api, stack):
    # An email already claimed in the table (say, by a contact whose login was removed by hand).
    EmailMarker(*EmailMarker.key("ana@ejemplo.com.ar"), client_id="someone-else").save()

    response = api.call("POST", "/clients", body=SIGNUP)

    assert (response.status, response.json()["code"]) == (409, "email_taken")
    assert _items(Client) == [] and _items(EventRecord) == []
    with pytest.raises(boto3.client("cognito-idp", region_name="us-east-1").exceptions.UserNotFoundException):
        _cognito_user(stack, "ana@ejemplo.com.ar")


def test_whatsapp_opt_in_requires_a_mobile(api):
    landline = api.call("POST", "/clients", body={**SIGNUP, "phone": "+54 11 4345-6789", "whatsapp_opt_in": True})
    missing = api.call("POST", "/clients", body={**SIGNUP, "whatsapp_opt_in": True})

    assert (landline.status, landline.json()["code"]) == (422, "phone_not_mobile")
    assert (missing.status, missing.json()["code"]) == (422, "phone_required")
    assert _items(Client) == []


def test_me_get_and_patch(api):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    me = claims_for(client_id=client_id)

    got = api.call("GET", "/me", claims=me)
    patched = api.call("PATCH", "/me", claims=me, body={"phone": "0351 15 555-1234", "whatsapp_opt_in": True,
                                                       "company": "Ana SRL", "tax_id": "20-12345678-6"})

    assert got.status == 200 and got.json()["identity"]["role"] == "holder"
    assert patched.status == 200, patched
    assert patched.json()["phone"] == "+5493515551234"
    assert patched.json()["tax_id"] == "20123456786"
    stored = Client.get(*Client.key(client_id))
    assert (stored.company, stored.whatsapp_opt_in, stored.version) == ("Ana SRL", True, 2)
    assert sorted(e.type for e in _items(EventRecord)) == ["client.registered", "client.updated"]


def test_patch_refuses_email_unknown_fields_and_bad_tax_id_without_changes(api):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    me = claims_for(client_id=client_id)

    for body, field in [({"email": "otro@ejemplo.com.ar"}, "email"), ({"tax_id": "20-12345678-1"}, "tax_id"),
                        ({"whatsapp_opt_in": "quizas"}, "whatsapp_opt_in"), ({}, None)]:
        response = api.call("PATCH", "/me", claims=me, body=body)
        assert response.status == 422, (body, response)
        assert response.json()["message"]
        if field:
            assert response.json()["field"] == field
    assert Client.get(*Client.key(client_id)).version == 1


def test_contacts_get_only_what_the_holder_granted(api, stack):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    holder = claims_for(client_id=client_id)

    created = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "Contable@Ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices", "tickets"]})
    assert created.status == 201, created
    contact_id = created.json()["contact_id"]
    assert created.json()["status"] == "invited"  # its login comes when it accepts (test_invitations)
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contact")

    assert api.call("GET", "/me/invoices", claims=contact).status == 200
    refused = api.call("GET", "/me/services", claims=contact)
    assert (refused.status, refused.json()["code"]) == (403, "permission_denied")
    me = api.call("GET", "/me", claims=contact).json()
    assert me["account"] is None  # no `profile` right: its own rights, not the account's details
    assert me["identity"] == {"role": "contact", "contact_id": contact_id, "permissions": ["invoices", "tickets"]}
    assert api.call("PATCH", "/me", claims=contact, body={"company": "X"}).status == 403
    assert api.call("POST", "/me/contacts", claims=contact, body={
        "email": "x@ejemplo.com.ar", "name": "X", "permissions": ["profile"]}).status == 403
    assert api.call("GET", "/me/contacts", claims=holder).json()[0]["permissions"] == ["invoices", "tickets"]


def test_contact_email_cannot_reuse_a_login(api):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    response = api.call("POST", "/me/contacts", claims=claims_for(client_id=client_id), body={
        "email": "ANA@ejemplo.com.ar", "name": "Yo otra vez", "permissions": ["invoices"]})
    assert (response.status, response.json()["code"]) == (409, "already_in_account")


def test_staff_create_client_and_non_staff_refused(api, stack):
    body = {"email": "nuevo@ejemplo.com.ar", "name": "Nuevo", "support_plan": "profesional",
            "account_executive": "Laura"}
    refused = api.call("POST", "/staff/clients", claims=claims_for(client_id="X"), body=body)
    created = api.call("POST", "/staff/clients", claims=claims_for(staff=True), body=body)

    assert refused.status == 403 and refused.json()["code"] == "staff_only"
    assert created.status == 201, created
    assert created.json()["support_plan"] == "profesional"
    assert _cognito_user(stack, "nuevo@ejemplo.com.ar")["custom:client_id"] == created.json()["client_id"]


def test_revoked_contact_is_refused(api, store):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    contact = claims_for(client_id=client_id, contact_id="01GONEGONEGONEGONEGONEGONE")
    response = api.call("GET", "/me/invoices", claims=contact)
    assert (response.status, response.json()["code"]) == (403, "contact_revoked")


def test_holder_changes_a_contacts_rights_and_they_apply_at_once(api):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    holder = claims_for(client_id=client_id)
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices"]}).json()["contact_id"]
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contact")
    assert api.call("GET", "/me/services", claims=contact).status == 403

    changed = api.call("PATCH", f"/me/contacts/{contact_id}", claims=holder,
                       body={"permissions": ["services", "invoices"], "phone": "011 15 2345-6789"})

    assert changed.status == 200, changed
    assert changed.json()["permissions"] == ["invoices", "services"]
    assert changed.json()["phone"] == "+5491123456789"
    assert api.call("GET", "/me/services", claims=contact).status == 200  # same token, new rights
    assert "contact.updated" in [e.type for e in _items(EventRecord)]


def test_removed_contact_loses_access_and_login_and_frees_its_email(api, stack):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    holder = claims_for(client_id=client_id)
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices"]}).json()["contact_id"]
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contact")
    from tests.integration.test_invitations import accept

    assert accept(api, "contable@ejemplo.com.ar").status == 200
    assert _cognito_user(stack, "contable@ejemplo.com.ar")["custom:contact_id"] == contact_id

    removed = api.call("DELETE", f"/me/contacts/{contact_id}", claims=holder)

    assert (removed.status, removed.text) == (204, "")
    refused = api.call("GET", "/me/invoices", claims=contact)  # its token is still unexpired
    assert (refused.status, refused.json()["code"]) == (403, "contact_revoked")
    with pytest.raises(boto3.client("cognito-idp", region_name="us-east-1").exceptions.UserNotFoundException):
        _cognito_user(stack, "contable@ejemplo.com.ar")
    assert api.call("DELETE", f"/me/contacts/{contact_id}", claims=holder).status == 404
    again = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices"]})
    assert again.status == 201
    assert "contact.removed" in [e.type for e in _items(EventRecord)]


def test_only_the_holder_manages_contacts_and_only_its_own(api):
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    holder = claims_for(client_id=client_id)
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "contable@ejemplo.com.ar", "name": "Estudio", "permissions": ["invoices", "profile"]}
    ).json()["contact_id"]
    other = api.call("POST", "/clients", body={**SIGNUP, "email": "otro@ejemplo.com.ar"}).json()["client_id"]
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contact")

    escalation = api.call("PATCH", f"/me/contacts/{contact_id}", claims=contact,
                          body={"permissions": ["services", "manage_services"]})
    foreign = api.call("DELETE", f"/me/contacts/{contact_id}", claims=claims_for(client_id=other))
    nulls = api.call("PATCH", f"/me/contacts/{contact_id}", claims=holder, body={"permissions": None})

    assert (escalation.status, escalation.json()["code"]) == (403, "holder_only")
    assert (foreign.status, foreign.json()["code"]) == (404, "not_found")
    assert (nulls.status, nulls.json()["field"]) == (422, "permissions")
    assert api.call("GET", "/me/contacts", claims=holder).json()[0]["permissions"] == ["invoices", "profile"]


@pytest.mark.parametrize("change", [{"phone": "011 15 2345-6789"}, {"whatsapp_opt_in": True},
                                    {"phone": "011 15 2345-6789", "whatsapp_opt_in": True, "company": "X"}])
def test_a_contact_with_profile_cannot_take_the_holders_number_or_alerts(api, change):
    """Defect: a contact with `profile` could set the account's phone and opt-in, and so receive every
    alert of the holder. The account's number is the holder's; a contact's own is in /me/alerts/settings."""
    client_id = api.call("POST", "/clients", body=SIGNUP).json()["client_id"]
    holder = claims_for(client_id=client_id)
    contact_id = api.call("POST", "/me/contacts", claims=holder, body={
        "email": "perfil@ejemplo.com.ar", "name": "Perfil", "permissions": ["profile"]}).json()["contact_id"]
    contact = claims_for(client_id=client_id, contact_id=contact_id, sub="sub-contact")
    before = api.call("GET", "/me", claims=holder).json()["account"]

    refused = api.call("PATCH", "/me", claims=contact, body=change)

    assert (refused.status, refused.json()["code"]) == (403, "holder_only_field")
    assert api.call("GET", "/me", claims=holder).json()["account"] == before
    assert api.call("PATCH", "/me", claims=contact, body={"company": "Estudio"}).status == 200  # the rest it may
    assert api.call("PATCH", "/me", claims=holder, body={"phone": "011 15 2345-6789", **change}).status == 200


def test_the_local_cognito_refuses_what_the_pools_settings_refuse(api, stack):
    """A login's account ids are the backend's to set: nobody signs up by themselves (admin creation only) and a
    token's app client may write no attribute but `name` — as real Cognito answers, on the local port too."""
    import boto3
    from botocore.exceptions import ClientError

    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    made = api.call("POST", "/clients", body={"email": "propia@ejemplo.com.ar", "password": "Segura123",
                                               "name": "Propia"})
    other = api.call("POST", "/clients", body={"email": "ajena@ejemplo.com.ar", "password": "Segura123",
                                                "name": "Ajena"}).json()["client_id"]
    with pytest.raises(ClientError) as refused:
        cognito.sign_up(ClientId=stack.refs["UserPoolClient"], Username="intruso@ejemplo.com.ar",
                        Password="Segura123", UserAttributes=[{"Name": "custom:client_id", "Value": other}])
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    tokens = cognito.admin_initiate_auth(UserPoolId=stack.refs["UserPool"], ClientId=stack.refs["UserPoolClient"],
                                         AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={
                                             "USERNAME": "propia@ejemplo.com.ar", "PASSWORD": "Segura123"})
    access = tokens["AuthenticationResult"]["AccessToken"]
    for attribute in ("custom:client_id", "custom:contact_id", "email"):
        with pytest.raises(ClientError) as refused:
            cognito.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": attribute, "Value": other}])
        assert refused.value.response["Error"]["Code"] == "NotAuthorizedException", attribute
    cognito.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "name", "Value": "Propia SA"}])
    user = cognito.admin_get_user(UserPoolId=stack.refs["UserPool"], Username="propia@ejemplo.com.ar")
    claims = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert claims["custom:client_id"] == made.json()["client_id"] and claims["name"] == "Propia SA"
