"""The client's side of alerts: history with statuses, WhatsApp opt-in, and the choice per kind and per
channel (WhatsApp, email). Each person manages their own: the holder on the account, a contact on its
contact record."""

from alerts.schemas import AlertOut, AlertSettingsOut, KindOut, UpdateAlertSettings

from shared import alerts
from shared.auth import ContactRevoked, Identity, Role, require_account
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client, Contact
from shared.dal.alerts import Alerts, Delivery
from shared.dal.unit_of_work import save_change
from shared.errors import InvalidInput
from shared.events import EventType, new_event
from shared.phones import phone_for_alerts


def _me(accounts: Accounts, identity: Identity) -> Client | Contact:
    client_id = require_account(identity)
    if identity.role is Role.CONTACT:
        contact = accounts.get_contact(client_id, identity.contact_id or "")
        if contact is None:
            raise ContactRevoked()
        return contact
    return accounts.get_client(client_id)


def _masked(phone: str) -> str:
    """+5491123456789 -> +5491*****6789: enough to recognise one's number, not to read it."""
    return f"{phone[:5]}{'*' * max(len(phone) - 9, 0)}{phone[-4:]}"


def _masked_email(address: str) -> str:
    """juana.perez@example.com -> j***@example.com."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _alert_out(delivery: Delivery) -> AlertOut:
    return AlertOut(
        event_type=delivery.event_type, template=delivery.template, recipient=delivery.recipient,
        channel=delivery.channel, phone=_masked(delivery.phone) if delivery.phone else None,
        email=_masked_email(delivery.email) if delivery.email else None,
        status=delivery.status, error_reason=delivery.error_reason,
        created_at=from_storage(delivery.created_at),
        sent_at=from_storage(delivery.sent_at) if delivery.sent_at else None,
        not_before=from_storage(delivery.not_before) if delivery.not_before else None,
    )


def my_alerts(deliveries: Alerts, accounts: Accounts, identity: Identity) -> list[AlertOut]:
    """Each person sees the alerts sent to them: the holder the holder's, a contact its own (one Query of
    that person's own partition, however many alerts the account has)."""
    client_id = require_account(identity)
    recipient = "holder"
    if identity.role is Role.CONTACT:  # read, so that a removed contact is refused at once
        recipient = f"contact:{_me(accounts, identity).contact_id}"
    return [_alert_out(d) for d in deliveries.deliveries_of(client_id, recipient)]


def _channels_of(kind: str) -> list[str]:
    """The channels some alert of this kind goes by (for an account's people, not staff's)."""
    used = {channel for hook in alerts.HOOKPOINTS.values() if hook.kind == kind for channel in hook.channels}
    return [channel for channel in alerts.BOTH if channel in used]


def _settings_out(person: Client | Contact) -> AlertSettingsOut:
    preferences = person.alert_preferences.as_dict() if person.alert_preferences else {}
    by_email = person.email_alert_preferences.as_dict() if person.email_alert_preferences else {}
    permissions = set(person.permissions or []) if isinstance(person, Contact) else None
    kinds = [
        KindOut(kind=kind, label=label, enabled=bool(preferences.get(kind, True)),
                email_enabled=bool(by_email.get(kind, True)), channels=_channels_of(kind))
        for kind, label in alerts.KIND_LABELS_ES.items()
        # A contact only gets the kinds its rights cover: the others are not offered.
        if permissions is None or alerts.KIND_PERMISSION[kind] in permissions
    ]
    return AlertSettingsOut(whatsapp_opt_in=person.whatsapp_opt_in, phone=person.phone, email=person.email,
                            kinds=kinds)


def my_settings(accounts: Accounts, identity: Identity) -> AlertSettingsOut:
    return _settings_out(_me(accounts, identity))


def update_my_settings(accounts: Accounts, clock: Clock, identity: Identity,
                       changes: UpdateAlertSettings) -> AlertSettingsOut:
    person = _me(accounts, identity)
    sent = changes.model_dump(exclude_unset=True)
    if not sent:
        raise InvalidInput("No envió ningún dato para modificar.", code="empty_update")
    if "whatsapp_opt_in" in sent and sent["whatsapp_opt_in"] is None:
        raise InvalidInput("El campo 'whatsapp_opt_in' debe ser verdadero o falso.", code="validation_error",
                           field="whatsapp_opt_in")
    opt_in = sent.get("whatsapp_opt_in", person.whatsapp_opt_in)
    person.phone = phone_for_alerts(sent.get("phone", person.phone), opt_in)
    person.whatsapp_opt_in = opt_in
    if sent.get("preferences"):
        preferences = person.alert_preferences.as_dict() if person.alert_preferences else {}
        preferences.update(sent["preferences"])
        person.alert_preferences = preferences
    if sent.get("email_preferences"):
        by_email = person.email_alert_preferences.as_dict() if person.email_alert_preferences else {}
        by_email.update(sent["email_preferences"])
        person.email_alert_preferences = by_email
    now = clock.now()
    if isinstance(person, Contact):
        event = new_event(EventType.CONTACT_UPDATED, client_id=person.client_id, occurred_at=now, payload={
            "client_id": person.client_id, "contact_id": person.contact_id, "fields": sorted(sent),
            "permissions": list(person.permissions or []),
        })
    else:
        person.updated_at = to_storage(now)
        event = new_event(EventType.CLIENT_UPDATED, client_id=person.client_id, occurred_at=now, payload={
            "client_id": person.client_id, "fields": sorted(sent), "by": identity.subject,
        })
    save_change([person], [event])
    return _settings_out(person)
