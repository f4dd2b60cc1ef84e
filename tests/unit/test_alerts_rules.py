"""Alert rules without AWS: error classes, quiet hours, statuses that never go backwards, recipients."""

from datetime import UTC, datetime

import pytest
from alerts.dispatch import recipients
from alerts.statuses import apply_status, statuses_of
from alerts.whatsapp import classify, valid_signature, without_mobile_nine

from shared import alerts
from shared.calendar import quiet_until
from shared.dal.accounts import Client, Contact
from shared.dal.alerts import Delivery


@pytest.mark.parametrize(("http_status", "code", "kind"), [
    (429, None, "throttled"), (400, 4, "throttled"), (400, 80007, "throttled"), (400, 130429, "throttled"),
    (400, 131056, "throttled"), (500, None, "transient"), (503, 131016, "transient"), (400, 2, "transient"),
    (None, None, "transient"), (401, 190, "token_expired"), (400, 131030, "not_in_allowed_list"),
    (400, 131026, "permanent"), (400, 131047, "permanent"), (400, 131050, "permanent"), (400, 132000, "permanent"),
    (400, 132001, "permanent"), (400, 99999, "permanent"),
])
def test_graph_errors_fall_in_their_class(http_status, code, kind):
    assert classify(http_status, code) == kind


def test_argentine_mobiles_lose_the_nine_and_others_have_no_second_form():
    assert without_mobile_nine("+5491123456789") == "541123456789"
    assert without_mobile_nine("+541143210000") is None
    assert without_mobile_nine("+59899123456") is None


def test_the_webhook_signature_is_an_hmac_of_the_raw_body():
    import hashlib
    import hmac

    body = b'{"entry": []}'
    good = "sha256=" + hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert valid_signature(body, good, "s3cr3t")
    assert not valid_signature(body + b" ", good, "s3cr3t")
    assert not valid_signature(body, good, "otro")
    assert not valid_signature(body, None, "s3cr3t")
    assert not valid_signature(body, good, "")  # no secret configured: nothing is accepted


@pytest.mark.parametrize(("utc", "until"), [
    ("2026-11-25T23:59", None),  # 20:59 local
    ("2026-11-26T00:00", "2026-11-26T09:00"),  # 21:00 local: quiet until 09:00 the next day
    ("2026-11-26T02:30", "2026-11-26T09:00"),  # 23:30 local
    ("2026-11-26T11:59", "2026-11-26T09:00"),  # 08:59 local
    ("2026-11-26T12:00", None),  # 09:00 local
])
def test_quiet_hours_cross_midnight_in_buenos_aires(utc, until):
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    ends = quiet_until(at, "21:00-09:00")
    assert (ends.strftime("%Y-%m-%dT%H:%M") if ends else None) == until
    assert quiet_until(at, "") is None


def _delivery(status="sent"):
    return Delivery("DELIVERY#e#holder", "DELIVERY", status=status, phone="+5491123456789")


def test_a_status_never_moves_backwards():
    delivery = _delivery()
    for reported, expected in (("read", "read"), ("delivered", "read"), ("sent", "read"), ("failed", "read")):
        apply_status(delivery, {"id": "w", "status": reported, "timestamp": "1764000000"})
        assert delivery.status == expected
    other = _delivery()
    assert apply_status(other, {"id": "w", "status": "delivered"})
    assert not apply_status(other, {"id": "w", "status": "delivered"})  # repeated
    assert not apply_status(other, {"id": "w", "status": "deleted"})  # not a status of ours


@pytest.mark.parametrize("notification", [None, [], {"entry": 5}, {"entry": [{"changes": "x"}]},
                                          {"entry": [{"changes": [{"value": {"statuses": [{"id": 3}]}}]}]}])
def test_malformed_notifications_have_no_statuses(notification):
    assert statuses_of(notification) == []


def _client(**fields):
    values = {"phone": "+5491100000001", "whatsapp_opt_in": True, "email": "Titular@Example.com", **fields}
    return Client("CLIENT#c", "CLIENT", client_id="c", **values)


def _contact(contact_id, permissions, **fields):
    values = {"phone": f"+54911000000{contact_id}", "whatsapp_opt_in": True, "email": f"c{contact_id}@example.com",
              **fields}
    return Contact("CLIENT#c", f"CONTACT#{contact_id}", client_id="c", contact_id=contact_id,
                   permissions=permissions, **values)


def test_recipients_follow_rights_opt_in_preferences_and_unique_numbers():
    hook = alerts.HOOKPOINTS["invoice.paid"]
    contacts = [
        _contact("2", ["invoices"]),
        _contact("3", ["services"]),
        _contact("4", ["invoices"], whatsapp_opt_in=False),
        _contact("5", ["invoices"], alert_preferences={"billing": False}),
        _contact("6", ["invoices"], phone="+5491100000001"),  # the holder's number
        _contact("7", ["invoices"], phone=None),
    ]
    def found(*args, **kwargs):
        return [(t.recipient, t.channel, t.address) for t in recipients(*args, **kwargs)]

    # invoice.paid is WhatsApp only: its email is the receipt with the PDF (documents).
    assert found(hook, _client(), contacts, []) == [("holder", "whatsapp", "+5491100000001"),
                                                    ("contact:2", "whatsapp", "+549110000002")]
    assert found(hook, _client(whatsapp_opt_in=False), [], []) == []
    assert found(hook, None, contacts, ["+5491199999999"]) == []
    ops = alerts.HOOKPOINTS["service.activation_failed"]
    assert found(ops, _client(), contacts, ["+5491199999999"], ops_emails=["Guardia@Example.com"]) == [
        ("ops:+5491199999999", "whatsapp", "+5491199999999"),
        ("ops:guardia@example.com", "email", "guardia@example.com")]


def test_who_saw_the_credentials_is_told_to_the_holder_alone():
    hook = alerts.HOOKPOINTS["service.credentials_revealed"]
    contacts = [_contact("2", ["services", "manage_services"]), _contact("3", ["services"])]
    found = [(t.recipient, t.channel) for t in recipients(hook, _client(), contacts, [])]
    assert found == [("holder", "whatsapp"), ("holder", "email")]
    rotated = alerts.HOOKPOINTS["service.credentials_rotated"]  # the new password: everyone who uses the service
    assert {t.recipient for t in recipients(rotated, _client(), contacts, [])} == {"holder", "contact:2", "contact:3"}


def test_email_is_a_channel_of_its_own_with_its_own_choice_per_kind():
    reminder = alerts.HOOKPOINTS["invoice.reminder"]
    contacts = [
        _contact("2", ["invoices"], whatsapp_opt_in=False),  # no WhatsApp: still by email
        _contact("3", ["services"]),  # no right to invoices: neither
        _contact("4", ["invoices"], email_alert_preferences={"billing": False}),  # WhatsApp only
        _contact("5", ["invoices"], alert_preferences={"billing": False}, email="TITULAR@example.com"),  # holder's
    ]
    found = [(t.recipient, t.channel, t.address) for t in recipients(reminder, _client(), contacts, [])]
    assert found == [
        ("holder", "whatsapp", "+5491100000001"), ("contact:4", "whatsapp", "+549110000004"),
        ("holder", "email", "titular@example.com"), ("contact:2", "email", "c2@example.com"),
    ]
    # A kind off by email for the holder leaves WhatsApp as it was.
    quiet = _client(email_alert_preferences={"billing": False})
    assert [t.channel for t in recipients(reminder, quiet, [], [])] == ["whatsapp"]


def test_every_hookpoint_fills_its_parameters_from_an_empty_payload_without_failing():
    for hook in alerts.HOOKPOINTS.values():
        assert all(isinstance(p, str) and p for p in hook.parameters({}))



def test_only_whatsapp_waits_for_the_quiet_hours_an_email_wakes_nobody():
    from alerts.dispatch import Target, new_delivery

    hook = alerts.HOOKPOINTS["service.renewed"]
    night = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 23:00 in Buenos Aires
    envelope = {"id": "E1", "type": hook.event_type, "client_id": "c", "payload": {"product_name": "Hosting"}}
    by_whatsapp = new_delivery(envelope, hook, Target("holder", alerts.WHATSAPP, "+5491100000001"), night,
                               "21:00-09:00")
    by_email = new_delivery(envelope, hook, Target("holder", alerts.EMAIL, "a@example.com"), night, "21:00-09:00")
    assert (by_whatsapp.status, by_email.status) == ("waiting", "queued")
    assert (by_email.pk, by_email.email, by_email.phone) == ("DELIVERY#E1#holder#email", "a@example.com", None)
    assert by_whatsapp.pk == "DELIVERY#E1#holder"  # as before email was a channel: nothing is made twice


def test_the_template_texts_are_the_ones_documented_and_each_emailed_hookpoint_has_a_subject():
    import re
    from pathlib import Path

    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", Path("docs/alerts.md").read_text(), re.M))
    assert documented == alerts.TEXTS
    assert {hook.template for hook in alerts.HOOKPOINTS.values()} == set(alerts.TEXTS)
    assert all(hook.subject for hook in alerts.HOOKPOINTS.values() if alerts.EMAIL in hook.channels)
    assert alerts.render("baja_retirada", ["Hosting {{2}}", "a.com"]).startswith(
        "Retiró el pedido de baja del servicio Hosting {{2}} (a.com)")


def test_a_contact_limited_to_some_services_is_alerted_and_emailed_only_about_them():
    from documents.emails import invoice_recipients

    client = Client("CLIENT#c", "CLIENT", client_id="c", email="titular@ejemplo.com.ar", name="Titular",
                    created_at="", updated_at="")
    scoped = Contact("CLIENT#c", "CONTACT#d", client_id="c", contact_id="d", email="dev@ejemplo.com.ar", name="Dev",
                     permissions=["invoices", "receive_invoices", "services"], scoped=True, service_ids=["s1"],
                     created_at="")
    hook = alerts.HOOKPOINTS["invoice.reminder"]

    def emailed(services):
        return sorted(t.address for t in recipients(hook, client, [scoped], [], services=services)
                      if t.channel == alerts.EMAIL)

    assert emailed(["s1", "s2"]) == ["dev@ejemplo.com.ar", "titular@ejemplo.com.ar"]
    assert emailed(["s2"]) == ["titular@ejemplo.com.ar"]
    assert emailed(None) == ["titular@ejemplo.com.ar"]  # about no service in particular: not a scoped contact's
    assert alerts.services_of({"service_ids": ["s1"]}) == ["s1"] and alerts.services_of({"service_id": "s2"}) == ["s2"]
    # The invoice's own email, with its PDF, likewise.
    assert invoice_recipients(client, [scoped], ["s1"]) == ["titular@ejemplo.com.ar", "dev@ejemplo.com.ar"]
    assert invoice_recipients(client, [scoped], ["s2"]) == ["titular@ejemplo.com.ar"]
