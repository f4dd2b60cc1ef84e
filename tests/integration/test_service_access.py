"""A service's manual and credentials (issue 15 §3, docs/service-access.md): the manual with the service's data, the
credentials' reveal recorded before they are decrypted and listed to the holder, and the password changed on the
server when the holder asks — through the outbox, the provisioning queue and a loopback WHM."""

import json

import boto3
import pytest

from devstack.fake_whm import FakeWhm
from shared.dal.credential_reveals import CredentialReveal
from shared.dal.outbox import EventRecord
from shared.dal.services import Service
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import pay, provision, relay, whatsapp_out

STAFF = claims_for(staff=True, sub="staff-1")
WHM_TOKEN = "access-whm-token"
FIRST_PASSWORD = "Clave-Inicial-1"


@pytest.fixture
def whm(stack):
    fake = FakeWhm(WHM_TOKEN).start()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ProvisioningSecrets"], SecretString=json.dumps({"whm_url": fake.url,
                                                                            "whm_token": WHM_TOKEN}))
    yield fake
    fake.stop()


@pytest.fixture
def account(api, catalog):
    client_id = api.call("POST", "/clients", body={"email": "titular@ejemplo.com.ar", "password": "Segura123",
                                                   "name": "Titular"}).json()["client_id"]
    holder = claims_for(client_id=client_id, sub="sub-titular")

    def contact(name, permissions, **extra):
        made = api.call("POST", "/me/contacts", claims=holder, body={
            "email": f"{name.lower()}@ejemplo.com.ar", "name": name, "permissions": permissions, **extra})
        assert made.status == 201, made
        return made.json()["contact_id"], claims_for(client_id=client_id, contact_id=made.json()["contact_id"],
                                                     sub=f"sub-{name}")

    return client_id, holder, contact


def _hosting(api, client_id, domain="ana.com.ar", credentials=True):
    body = {"product_id": "hosting-inicial", "billing_cycle": "annually", "domain": domain}
    if credentials:
        body["credentials"] = {"usuario cPanel": "anacomar", "clave cPanel": FIRST_PASSWORD}
    made = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body=body)
    assert made.status == 201, made
    return made.json()


def _events(kind):
    return [json.loads(e.payload) for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == kind]


def _reveals():
    return [r for r in TableItem.scan() if isinstance(r, CredentialReveal)]


def test_the_manual_carries_the_services_own_data_and_the_page_never_the_values(api, account):
    client_id, holder, _ = account
    service_id = _hosting(api, client_id)["service"]["service_id"]
    pending = api.call("GET", f"/me/services/{service_id}", claims=holder).json()
    facts = {f["key"]: f["value"] for f in pending["facts"]}
    assert (facts["dominio"], facts["servidor"]) == ("ana.com.ar", None)  # not created on a server yet
    assert "(se completa al activarse el servicio)" in pending["manual"]
    assert facts["nameservers"] == "ns1.paneldecliente.com, ns2.paneldecliente.com"  # the template's default

    stored = Service.get(*Service.key(service_id))
    stored.server, stored.provisioning_account, stored.status = "srv7.paneldecliente.com", "anacomar", "active"
    stored.save()
    detail = api.call("GET", f"/me/services/{service_id}", claims=holder)
    assert "https://srv7.paneldecliente.com:2083" in detail.json()["manual"]
    assert "usuario anacomar" in detail.json()["manual"] and "{{" not in detail.json()["manual"]
    assert FIRST_PASSWORD not in detail.text
    assert detail.json()["credentials"] == {"available": True, "may_reveal": True, "may_rotate": True,
                                            "rotation": None, "rotated_at": None}


def test_every_reveal_is_recorded_first_and_the_holder_sees_who_when_and_from_where(api, stack, aws, account, capsys):
    client_id, holder, contact = account
    service_id = _hosting(api, client_id)["service"]["service_id"]
    dev_id, dev = contact("Dev", ["services", "manage_services"])
    _, viewer = contact("Ver", ["services"])
    reveal = f"/services/{service_id}/credentials/reveal"

    by_holder = api.call("POST", reveal, claims=holder, body={})
    api.call("POST", reveal, claims=dev, body={})
    by_dev = api.call("POST", reveal, claims=dev, body={}, headers={"User-Agent": "Firefox/140"})
    refused = api.call("POST", reveal, claims=viewer, body={})

    assert {c["name"]: c["value"] for c in by_dev.json()["credentials"]}["clave cPanel"] == FIRST_PASSWORD
    assert by_holder.status == 200
    assert (refused.status, refused.json()["code"]) == (403, "permission_denied")
    listed = api.call("GET", f"/services/{service_id}/credential-reveals", claims=holder).json()
    assert [(r["role"], r["contact_id"], r["name"], r["still_has_access"]) for r in listed["reveals"]] == [
        ("contact", dev_id, "Dev", True), ("contact", dev_id, "Dev", True), ("holder", None, None, True)]
    assert listed["reveals"][0]["user_agent"] == "Firefox/140" and listed["reveals"][0]["source_ip"]
    assert listed["rotation_advised"] is False
    assert len(_reveals()) == 3  # newest first above; the refused one is not recorded
    # The holder hears of the contact's reveals (once an hour, never of its own), in its own alerts list; no value
    # reaches an event or a log.
    (seen,) = _events("service.credentials_revealed")
    assert (seen["by"], seen["service"]) == ("Dev", "ana.com.ar")
    relay(stack, aws)
    whatsapp_out(stack)
    alerted = api.call("GET", "/me/alerts", claims=holder).json()
    assert [(a["template"], a["channel"]) for a in alerted] == [("claves_vistas", "email")], alerted
    outbox = json.dumps([e.payload for e in TableItem.scan() if isinstance(e, EventRecord)])
    assert FIRST_PASSWORD not in outbox and FIRST_PASSWORD not in "".join(capsys.readouterr())
    # Only the holder (and staff) read the list; another account's holder gets the answer to a missing service.
    assert api.call("GET", f"/services/{service_id}/credential-reveals", claims=dev).json()["code"] == "holder_only"
    assert api.call("GET", f"/services/{service_id}/credential-reveals", claims=STAFF).status == 200


def test_a_service_without_credentials_has_nothing_to_reveal_and_nothing_is_recorded(api, account):
    client_id, holder, _ = account
    service_id = _hosting(api, client_id, credentials=False)["service"]["service_id"]
    answer = api.call("POST", f"/services/{service_id}/credentials/reveal", claims=holder, body={})
    assert (answer.status, answer.json()["code"]) == (409, "no_credentials")
    assert _reveals() == []


def test_a_removed_contact_who_saw_them_makes_the_holder_change_them_on_the_server(api, stack, aws, store, whm,
                                                                                   account):
    client_id, holder, contact = account
    order = _hosting(api, client_id, credentials=False)
    service_id = order["service"]["service_id"]
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    provision(stack)  # created on the (fake) WHM, with the credentials it was given
    dev_id, dev = contact("Dev", ["services", "manage_services"])
    seen = api.call("POST", f"/services/{service_id}/credentials/reveal", claims=dev, body={}).json()
    old = {c["name"]: c["value"] for c in seen["credentials"]}
    assert api.call("DELETE", f"/me/contacts/{dev_id}", claims=holder).status in (200, 204)

    listed = api.call("GET", f"/services/{service_id}/credential-reveals", claims=holder).json()
    assert listed["rotation_advised"] is True and listed["reveals"][0]["still_has_access"] is False
    rotation = f"/services/{service_id}/credentials/rotation"
    _, manager = contact("Admin", ["services", "manage_services"])
    refused = api.call("POST", rotation, claims=manager, body={})
    assert (refused.status, refused.json()["code"]) == (403, "holder_only")
    asked = api.call("POST", rotation, claims=holder, body={})
    again = api.call("POST", rotation, claims=holder, body={})
    assert (asked.status, asked.json()["rotation"]) == (202, "requested")
    assert (again.status, again.json()["code"]) == (409, "rotation_under_way")

    relay(stack, aws)
    _, result = provision(stack)
    assert result == {"batchItemFailures": []}
    (passwd,) = [params for function, params in whm.calls if function == "passwd"]
    shown = api.call("POST", f"/services/{service_id}/credentials/reveal", claims=holder, body={}).json()
    new = {c["name"]: c["value"] for c in shown["credentials"]}
    assert new["clave cPanel"] == passwd["password"] != old["clave cPanel"]  # what the server has, and new
    assert (new["usuario cPanel"], passwd["user"]) == (old["usuario cPanel"], old["usuario cPanel"])
    after = api.call("GET", f"/services/{service_id}/credential-reveals", claims=holder).json()
    assert (after["rotation"], after["rotation_advised"]) == (None, False) and after["rotated_at"]
    assert [e["service_id"] for e in _events("service.credentials_rotated")] == [service_id]
    assert new["clave cPanel"] not in json.dumps([e.payload for e in TableItem.scan() if isinstance(e, EventRecord)])
    relay(stack, aws)  # from the stream's start: every command comes again, as a redelivery would bring it
    provision(stack)
    assert [function for function, _ in whm.calls].count("passwd") == 1  # set once, whatever comes again


def _rotation_asked(api, whm, account):
    """An active hosting with its account on the (fake) WHM, whose holder asked for new credentials."""
    client_id, holder, _ = account
    service_id = _hosting(api, client_id)["service"]["service_id"]
    stored = Service.get(*Service.key(service_id))
    stored.status, stored.provisioning_module, stored.provisioning_account = "active", "cpanel", "anacomar"
    stored.save()
    whm.accounts["anacomar"] = {"domain": "ana.com.ar", "plan": "hosting-inicial", "suspended": False}
    assert api.call("POST", f"/services/{service_id}/credentials/rotation", claims=holder, body={}).status == 202
    return holder, service_id


def test_a_rotation_whose_answer_was_lost_sets_the_same_password_again_and_keeps_it(api, stack, store, whm, account):
    """WHM changed the password but our call timed out (its answer came after our timeout): the retry sets the very
    password stored as pending, so the service never keeps one the server no longer has."""
    from activation import cpanel
    from activation.server_accounts import rotate_password

    from shared.aws import LazyClient
    from shared.clock import SystemClock

    holder, service_id = _rotation_asked(api, whm, account)

    class AnswersTooLate(cpanel.WhmApi):
        def call(self, function, **params):
            super().call(function, **params)  # the server did it …
            raise cpanel.ProvisioningError(f"WHM no respondió a {function}: timed out")  # … we never heard

    kms, clock = LazyClient("kms"), SystemClock()
    with pytest.raises(cpanel.ProvisioningError):
        rotate_password(store.services, kms, clock, AnswersTooLate(whm.url, WHM_TOKEN), service_id)
    assert Service.get(*Service.key(service_id)).credentials_rotation == "rotating"
    assert rotate_password(store.services, kms, clock, cpanel.WhmApi(whm.url, WHM_TOKEN), service_id) == (
        "rotate_password:done")
    first, second = [params["password"] for function, params in whm.calls if function == "passwd"]
    shown = api.call("POST", f"/services/{service_id}/credentials/reveal", claims=holder, body={}).json()
    assert first == second == {c["name"]: c["value"] for c in shown["credentials"]}["clave cPanel"]
    assert rotate_password(store.services, kms, clock, cpanel.WhmApi(whm.url, WHM_TOKEN), service_id) == (
        "skipped:no-rotation")


def test_only_an_account_we_created_on_a_server_can_be_rotated_from_the_panel(api, account):
    client_id, holder, _ = account
    service_id = _hosting(api, client_id)["service"]["service_id"]  # staff's credentials, no account on a server
    answer = api.call("POST", f"/services/{service_id}/credentials/rotation", claims=holder, body={})
    assert (answer.status, answer.json()["code"]) == (409, "rotation_not_available")
    assert Service.get(*Service.key(service_id)).credentials_rotation is None


def test_a_service_ended_while_its_password_was_being_changed_gets_no_credentials_back(api, store, whm, account):
    """A cancellation lands while WHM is setting the new password: the service stays without credentials."""
    from activation import cpanel
    from activation.server_accounts import rotate_password

    from shared.aws import LazyClient
    from shared.clock import SystemClock

    holder, service_id = _rotation_asked(api, whm, account)

    class EndedMeanwhile(cpanel.WhmApi):
        def call(self, function, **params):
            answer = super().call(function, **params)
            if function == "passwd":  # what lifecycle.end writes, while the call was under way
                ended = Service.get(*Service.key(service_id), consistent_read=True)
                ended.status, ended.credentials_ciphertext = "cancelled", None
                ended.pending_credentials_ciphertext = ended.credentials_rotation = None
                ended.save()
            return answer

    outcome = rotate_password(store.services, LazyClient("kms"), SystemClock(), EndedMeanwhile(whm.url, WHM_TOKEN),
                              service_id)
    after = Service.get(*Service.key(service_id), consistent_read=True)
    assert outcome.startswith("skipped") and after.credentials_ciphertext is None
    assert after.pending_credentials_ciphertext is None and _events("service.credentials_rotated") == []


def test_after_a_transfer_the_new_holder_sees_when_the_previous_account_saw_them_not_who(api, account):
    client_id, holder, _ = account
    service_id = _hosting(api, client_id)["service"]["service_id"]
    stamp = "2026-12-01T12:00:00.000000Z"
    reveal_id = "01KBV3ZQ7N6C8R3Y1XQ6K2M9T4"
    CredentialReveal(*CredentialReveal.key(service_id, stamp, reveal_id), reveal_id=reveal_id, service_id=service_id,
                     client_id="01PREVIOUSHOLDER0000000000", role="contact", contact_id="c-1", name="Otra Persona",
                     email="otra@ejemplo.com.ar", subject="s", revealed_at=stamp, source_ip="203.0.113.9",
                     user_agent="Safari").save()
    listed = api.call("GET", f"/services/{service_id}/credential-reveals", claims=holder)
    assert "Otra Persona" not in listed.text and "203.0.113.9" not in listed.text
    (shown,) = listed.json()["reveals"]
    assert (shown["previous_holder"], shown["still_has_access"]) == (True, False)
    assert listed.json()["rotation_advised"] is False  # no account on a server to change it on
