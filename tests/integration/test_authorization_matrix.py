"""The authorization matrix, generated from the template's routes.

Every route of the template's ``Api`` events is called as each caller — anonymous, the holder, another
holder, a contact with the right the route needs, a contact with every right but that one, another client's login
that joined the account as a contact with that right (acting on it with ``X-Account-Id``), and staff —
with a valid body, through the real handlers on moto. What each route should answer each caller is
declared once, in ``MATRIX``; a route without a row fails ``test_every_route_has_a_declaration`` (and its
own case), so every new route gets its row.

Audiences (what the rows say):
- ``public``: no sign-in; every caller gets the same 2xx answer.
- ``signed_webhook``: no sign-in, the provider's signature (or Meta's verify token) is the authentication;
  an unsigned call from any caller gets the declared 4xx.
- ``account``: the holder, and contacts with ``permission``; staff have no account of their own (403
  ``staff_has_no_account``, they use the /staff routes).
- ``account_or_staff``: as ``account``, and staff on the client's behalf.
- ``holder_only``: the holder alone; a contact gets 403 ``holder_only`` whatever its rights.
- ``holder_or_staff``: the holder, and staff; a contact gets 403 ``holder_only`` whatever its rights.
- ``staff_only``: staff alone; everyone else 403 ``staff_only``.
- ``any_person``: the holder and each contact for themselves, whatever their rights.
- ``any_account``: every person of every account, whatever their rights (what no account owns: the feature
  requests); staff have no account.

Everywhere but ``public``/``signed_webhook``: anonymous → 401. Another holder on the first holder's ids →
404, byte for byte the answer to a missing id of the same kind (we never confirm that something
exists); on a route without ids, another holder gets its own (2xx) and none of the first holder's ids.

All the data is made through the API (sign-up, contacts, staff orders, upgrade orders, requests),
except a verified payment, which has no route: see ``_pay_outside_the_api``.
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devstack.cfn import load_template
from devstack.fake_whm import FakeWhm
from shared.auth import Permission
from shared.ids import new_id
from tests.integration.conftest import claims_for
from tools.bench import BODIES


# --- Outside the API ---------------------------------------------------------------------------------
# A verified provider payment has no API route (the payments tests cover the signed webhooks and the
# worker). It is settled with tests/integration/flows.py's `pay` on conftest's `store`: THE ONE PLACE TO
# RE-POINT when shared.dal's Store is replaced by per-context repositories. (The demo catalog comes from
# conftest's `catalog` fixture, which other integration tests share.)
def _pay_outside_the_api(request, invoice_id: str) -> None:
    from tests.integration.flows import pay

    outcome = pay(request.getfixturevalue("store"), invoice_id)
    assert not str(outcome).startswith("ignored"), outcome


# --- The routes: from the template, as the gateway reads them -------------------------------------------


def _template_routes() -> set[tuple[str, str]]:
    template = load_template()
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api"
    }


TEMPLATE_ROUTES = _template_routes()
CALLERS = ("anonymous", "holder", "other_holder", "contact_with_right", "contact_without_right", "member_with_right",
           "staff")
# Another client's own login, made a contact of the holder's account with the right (it accepted signed in), acting on
# it with X-Account-Id: whatever a contact with the right gets, it gets — through the header, on every route.
ACTS_AS = {"member_with_right": "contact_with_right"}
STAFF = claims_for(staff=True, sub="sub-staff")
# The matrix's active services are support plans: a free plan is active the moment staff order it (no
# payment, no server), and it has automatic upgrade paths. Bench's bodies assume a hosting plan.
SUPPORT_UPGRADE = {**BODIES[("POST", "/services/{service_id}/upgrades")], "target": "soporte-profesional"}
SERVER = "srv12.paneldecliente.com"


@dataclass(frozen=True)
class Rule:
    audience: str
    permission: Permission | None = None  # the right a contact needs (account, account_or_staff)
    target: str | None = None  # which of the first holder's things fills the path (see World.TARGETS)
    fresh: bool = False  # a write that changes its target: every caller gets a new one
    lists: tuple[str, ...] = ()  # a list route: the holder's things (World.TARGETS) it must show
    unsigned: tuple[int, str] | None = None  # signed_webhook: status and code of an unsigned call
    # Every person the route lets in is then refused by the route's own rule (status, code): it proves they got
    # past the authorization (the happy path is the route's own test's).
    people_get: tuple[int, str] | None = None
    body: dict | None = None  # instead of tools/bench.py's valid body
    check: Callable[["World", str, Any], str | None] | None = None  # more to hold on a 2xx answer
    # Another holder naming its own thing and the holder's other one: (path, the same with a missing id).
    mixed: Callable[["World"], tuple[str, str]] | None = None
    note: str = ""


def _me_details(world: "World", caller: str, response) -> str | None:
    """GET /me: every person learns its own rights; only `profile` shows the account's details."""
    caller = ACTS_AS.get(caller, caller)
    body = response.json()
    account = (body.get("account") or {}).get("client_id")
    if caller == "contact_without_right":
        return None if account is None else f"shows the account's details without `profile`: {account}"
    if caller == "other_holder":
        return None if account == world.b else f"shows account {account}, not its own {world.b}"
    return None if account == world.a else f"shows account {account}, not {world.a}"


def _own_accounts(world: "World", caller: str, response) -> str | None:
    """GET /me/accounts: each caller's own account first (another holder's, its own), whatever account the request
    names; the member then lists the holder's account it joined."""
    listed = [a["client_id"] for a in response.json()]
    own = {"other_holder": [world.b], "member_with_right": [world.member_home, world.a]}.get(caller, [world.a])
    return None if listed == own else f"lists {listed}, not {own}"


def _credentials_need_manage_services(world: "World", caller: str, response) -> str | None:
    """GET /me/services/{id}: never the credentials' values; revealing them only for the holder and contacts with
    `manage_services`."""
    if "Clave-De-Prueba-1" in response.text:
        return "the service's page shows a credential's value (only the audited reveal may)"
    may = response.json()["credentials"]["may_reveal"]
    caller = ACTS_AS.get(caller, caller)
    if caller == "holder" and not may:
        return "the holder may not reveal the service's credentials"
    if caller == "contact_with_right" and may:  # `services` only
        return "a contact without `manage_services` may reveal the service's credentials"
    return None


def _credentials_shown(world: "World", caller: str, response) -> str | None:
    """POST /services/{id}/credentials/reveal: the values, and the reveal on the holder's list of who saw them."""
    if "Clave-De-Prueba-1" not in response.text:
        return "the reveal does not show the credentials"
    listed = world.api.call("GET", f"/services/{world.memo['service']['service_id']}/credential-reveals",
                            claims=world.holder).json()["reveals"]
    expected_role = "holder" if caller == "holder" else "contact"
    return None if listed and listed[0]["role"] == expected_role else f"the newest reveal listed is {listed[:1]}"


def _finds_the_article(world: "World", caller: str, response) -> str | None:
    """The public knowledge base shows the published article to everyone, signed in or not."""
    return None if world.memo["kb_article"]["slug"] in response.text else "the published article is not shown"


INTERNAL_NOTE = "Nota interna de la matriz: nunca para el cliente"


def _incident_shown_without_notes(world: "World", caller: str, response) -> str | None:
    """The public status page and its feed show the incident to everyone, and never staff's internal note."""
    if INTERNAL_NOTE in response.text:
        return "the public page shows an internal note"
    return None if world.memo["incident"]["title"] in response.text else "the open incident is not shown"


def _no_internal_notes(world: "World", caller: str, response) -> str | None:
    """A client's view of a ticket never carries staff's internal notes."""
    return "a client's answer shows an internal note" if INTERNAL_NOTE in response.text else None


def _same_catalog(world: "World", caller: str, response) -> str | None:
    first = world.seen.setdefault("catalog", response.text)
    return None if response.text == first and response.json() else "the catalog differs between callers"


MATRIX: dict[tuple[str, str], Rule] = {
    # Public
    ("GET", "/catalog/products"): Rule("public", check=_same_catalog),
    ("POST", "/clients"): Rule("public", note="sign-up: a token, if any, is irrelevant"),
    ("POST", "/contact-requests"): Rule("public", note="the contact form: a token, if any, is irrelevant"),
    ("POST", "/invitations/accept"): Rule("public", target="invitation_token", fresh=True,
                                          note="the invitation's token is the proof: each caller accepts a new one"),
    # Accounts
    ("GET", "/me"): Rule("any_person", permission=Permission.PROFILE, check=_me_details,
                         note="a contact without `profile` gets its own rights, not the details"),
    ("PATCH", "/me"): Rule("account", permission=Permission.PROFILE),
    ("GET", "/me/contacts"): Rule("holder_only", lists=("contact",)),
    ("POST", "/me/contacts"): Rule("holder_only"),
    ("PATCH", "/me/contacts/{contact_id}"): Rule("holder_only", target="contact", fresh=True),
    ("DELETE", "/me/contacts/{contact_id}"): Rule("holder_only", target="contact", fresh=True),
    ("POST", "/me/contacts/{contact_id}/invitation"): Rule("holder_only", target="contact", fresh=True),
    ("POST", "/staff/clients"): Rule("staff_only"),
    # Services
    ("GET", "/me/services"): Rule("account", permission=Permission.SERVICES, lists=("service",)),
    ("GET", "/me/services/{service_id}"): Rule("account", permission=Permission.SERVICES, target="service",
                                               check=_credentials_need_manage_services),
    ("POST", "/services/{service_id}/credentials/reveal"): Rule("account", permission=Permission.MANAGE_SERVICES,
                                                                target="service", check=_credentials_shown),
    ("GET", "/services/{service_id}/credential-reveals"): Rule("holder_or_staff", target="service"),
    ("POST", "/services/{service_id}/credentials/rotation"): Rule("holder_only", target="cpanel_service", fresh=True),
    ("GET", "/services/{service_id}/downloads"): Rule("account_or_staff", permission=Permission.SERVICES,
                                                      target="download",
                                                      check=lambda w, c, r: None if w.memo["download"]["download_id"]
                                                      in r.text else "the service's download is not listed"),
    ("GET", "/services/{service_id}/downloads/{download_id}"): Rule("account_or_staff",
                                                                    permission=Permission.SERVICES, target="download"),
    ("POST", "/staff/services/{service_id}/downloads"): Rule("staff_only", target="service"),
    ("PUT", "/staff/services/{service_id}/downloads/{download_id}"): Rule("staff_only", target="download"),
    ("DELETE", "/staff/services/{service_id}/downloads/{download_id}"): Rule("staff_only", target="download",
                                                                             fresh=True),
    ("GET", "/staff/clients/{client_id}/services"): Rule("staff_only", target="client"),
    ("POST", "/staff/clients/{client_id}/orders"): Rule("staff_only", target="client"),
    # Billing
    ("GET", "/me/invoices"): Rule("account", permission=Permission.INVOICES, lists=("invoice",)),
    ("GET", "/me/invoices/{invoice_id}"): Rule("account", permission=Permission.INVOICES, target="invoice"),
    ("GET", "/staff/invoices/{invoice_id}/payments"): Rule("staff_only", target="invoice"),
    ("GET", "/staff/payments/unmatched"): Rule("staff_only"),
    # Payment webhooks: the signature is the authentication
    ("POST", "/webhooks/mercadopago"): Rule("signed_webhook", unsigned=(401, "invalid_signature")),
    ("POST", "/webhooks/stripe"): Rule("signed_webhook", unsigned=(401, "invalid_signature")),
    # Activation
    ("POST", "/staff/services/{service_id}/activation"): Rule("staff_only", target="awaiting_requirements",
                                                              fresh=True),
    # Plan changes
    ("GET", "/services/{service_id}/upgrade-options"): Rule("account_or_staff", permission=Permission.ORDERS,
                                                            target="active_service"),
    ("GET", "/services/{service_id}/upgrades"): Rule("account_or_staff", permission=Permission.ORDERS,
                                                     target="pending_upgrade"),
    ("POST", "/services/{service_id}/upgrades"): Rule("account_or_staff", permission=Permission.ORDERS,
                                                      target="active_service", fresh=True, body=SUPPORT_UPGRADE),
    ("POST", "/services/{service_id}/upgrades/{upgrade_id}/cancel"): Rule(
        "account_or_staff", permission=Permission.ORDERS, target="pending_upgrade", fresh=True,
        mixed=lambda w: w.own_service_their_upgrade()),
    ("POST", "/services/{service_id}/upgrade-requests"): Rule("account_or_staff", permission=Permission.ORDERS,
                                                              target="active_service", fresh=True),
    ("GET", "/staff/upgrade-requests"): Rule("staff_only"),
    ("POST", "/staff/upgrade-requests/{request_id}/resolve"): Rule("staff_only", target="open_request",
                                                                   fresh=True),
    ("POST", "/staff/upgrades/{upgrade_id}/complete"): Rule("staff_only", target="applying_upgrade",
                                                            note="only a change stuck in `applying`"),
    ("PUT", "/staff/servers/{server_name}"): Rule("staff_only", target="server"),
    # WhatsApp: Meta's handshake (verify token) and its signed statuses
    ("GET", "/webhooks/whatsapp"): Rule("signed_webhook", unsigned=(403, "invalid_verify_token")),
    ("POST", "/webhooks/whatsapp"): Rule("signed_webhook", unsigned=(401, "invalid_signature")),
    ("POST", "/webhooks/tawkto"): Rule("signed_webhook", unsigned=(401, "invalid_signature")),
    ("POST", "/webhooks/telegram"): Rule("signed_webhook", unsigned=(401, "invalid_secret_token")),
    # Alerts: each person their own
    # Lifecycle: only the holder cancels or withdraws (help centre: with the client's email and password);
    # staff read the preview and terminate administratively.
    ("GET", "/services/{service_id}/cancellation-preview"): Rule("holder_or_staff", target="active_service"),
    ("POST", "/services/{service_id}/cancellation"): Rule("holder_only", target="active_service", fresh=True),
    ("GET", "/services/{service_id}/cancellation"): Rule("account_or_staff", permission=Permission.SERVICES,
                                                         target="pending_cancellation"),
    ("DELETE", "/services/{service_id}/cancellation"): Rule("holder_only", target="pending_cancellation",
                                                            fresh=True),
    ("PATCH", "/services/{service_id}"): Rule("account_or_staff", permission=Permission.MANAGE_DOMAINS,
                                              target="domain", fresh=True),
    ("POST", "/services/{service_id}/backup-restore-requests"): Rule(
        "account", permission=Permission.MANAGE_SERVICES, target="ended_with_backup"),
    ("POST", "/staff/services/{service_id}/termination"): Rule("staff_only", target="active_service", fresh=True),
    ("GET", "/staff/backup-restore-requests"): Rule("staff_only"),
    # Self-service billing: ordering, paying, the invoice's PDF, quotes
    ("POST", "/me/orders"): Rule("account", permission=Permission.ORDERS),
    ("POST", "/me/invoices/{invoice_id}/checkout"): Rule("account", permission=Permission.INVOICES,
                                                         target="payable_invoice"),
    ("GET", "/me/invoices/{invoice_id}/document"): Rule("account", permission=Permission.INVOICES,
                                                        target="documented_invoice"),
    ("POST", "/staff/clients/{client_id}/quotes"): Rule("staff_only", target="client"),
    ("GET", "/staff/clients/{client_id}/quotes"): Rule("staff_only", target="client"),
    ("GET", "/me/quotes"): Rule("account", permission=Permission.ORDERS, lists=("quote",)),
    ("GET", "/me/quotes/{quote_id}"): Rule("account", permission=Permission.ORDERS, target="quote"),
    ("POST", "/me/quotes/{quote_id}/accept"): Rule("account", permission=Permission.ORDERS, target="quote",
                                                   fresh=True),
    ("POST", "/me/quotes/{quote_id}/decline"): Rule("account", permission=Permission.ORDERS, target="quote",
                                                    fresh=True),
    # Tickets: the account's, for the holder and contacts with `tickets`; the queue and its tools for staff
    ("POST", "/me/tickets"): Rule("account", permission=Permission.TICKETS),
    ("GET", "/me/tickets"): Rule("account", permission=Permission.TICKETS, lists=("ticket",)),
    ("GET", "/me/tickets/{ticket_id}"): Rule("account", permission=Permission.TICKETS, target="ticket",
                                             check=_no_internal_notes),
    ("POST", "/me/tickets/{ticket_id}/replies"): Rule("account", permission=Permission.TICKETS, target="ticket",
                                                      check=_no_internal_notes),
    ("POST", "/me/tickets/{ticket_id}/close"): Rule("account", permission=Permission.TICKETS, target="ticket",
                                                    fresh=True),
    ("POST", "/me/tickets/{ticket_id}/attachments"): Rule("account", permission=Permission.TICKETS, target="ticket"),
    ("GET", "/me/tickets/{ticket_id}/attachments/{attachment_id}"): Rule(
        "account", permission=Permission.TICKETS, target="attachment"),
    ("GET", "/me/support/response-times"): Rule("account", permission=Permission.TICKETS),
    ("GET", "/staff/tickets"): Rule("staff_only"),
    ("GET", "/staff/tickets/stats"): Rule("staff_only", note="the path carries ?from&to (see _STATS_QUERY)"),
    ("GET", "/staff/tickets/{ticket_id}"): Rule("staff_only", target="ticket"),
    ("POST", "/staff/tickets/{ticket_id}/replies"): Rule("staff_only", target="ticket", fresh=True),
    ("POST", "/staff/tickets/{ticket_id}/notes"): Rule("staff_only", target="ticket"),
    ("PATCH", "/staff/tickets/{ticket_id}"): Rule("staff_only", target="ticket"),
    ("POST", "/staff/tickets/{ticket_id}/merge"): Rule("staff_only", target="duplicate", fresh=True),
    ("POST", "/staff/tickets/{ticket_id}/attachments"): Rule("staff_only", target="ticket"),
    ("GET", "/staff/tickets/{ticket_id}/attachments/{attachment_id}"): Rule("staff_only", target="attachment"),
    ("GET", "/staff/tickets/{ticket_id}/messages/{message_id}/original"): Rule("staff_only", target="emailed_message"),
    ("GET", "/staff/inbound-emails"): Rule("staff_only"),
    ("GET", "/staff/email-suppressions"): Rule("staff_only"),
    ("DELETE", "/staff/email-suppressions"): Rule("staff_only", target="suppressed_address", fresh=True,
                                                  note="the path carries ?address (see _STATS_QUERY)"),
    ("POST", "/staff/tickets/{ticket_id}/calls"): Rule("staff_only", target="ticket", fresh=True),
    ("POST", "/staff/tickets/{ticket_id}/account"): Rule("staff_only", target="guest_ticket", fresh=True),
    ("GET", "/services/{service_id}/support-channels"): Rule("account", permission=Permission.TICKETS,
                                                             target="service"),
    ("POST", "/services/{service_id}/callback-requests"): Rule("account", permission=Permission.TICKETS,
                                                               target="full_plan_service"),
    ("POST", "/staff/inbound-emails/{email_key}/release"): Rule("staff_only", target="quarantined_email",
                                                                 fresh=True),
    ("POST", "/staff/clients/{client_id}/tickets"): Rule("staff_only", target="client"),
    ("GET", "/staff/clients/{client_id}/tickets"): Rule("staff_only", target="client"),
    ("GET", "/staff/closed-days"): Rule("staff_only"),
    ("PUT", "/staff/closed-days/{day}"): Rule("staff_only", target="day"),
    ("DELETE", "/staff/closed-days/{day}"): Rule("staff_only", target="day"),
    ("PUT", "/staff/services/{service_id}/production"): Rule("staff_only", target="active_service"),
    # Each person links their own Telegram (the channel opens tickets: `tickets`); a code needs the Full plan.
    ("GET", "/me/telegram-link"): Rule("account", permission=Permission.TICKETS),
    ("POST", "/me/telegram-link"): Rule("account", permission=Permission.TICKETS, target="both_on_full",
                                        note="both holders on Full: another holder gets a code of its own"),
    ("DELETE", "/me/telegram-link"): Rule("any_person", note="letting go of one's own Telegram needs no right"),
    # Cambio de titular: the holders' own (never a contact's), staff's queue and decision
    ("POST", "/services/{service_id}/transfer"): Rule("holder_only", target="transferable_service", fresh=True),
    ("GET", "/me/transfers"): Rule("holder_only", lists=("outgoing_transfer",)),
    ("POST", "/me/transfers/{transfer_id}/confirm"): Rule("holder_only", target="ticket_transfer", fresh=True),
    ("POST", "/me/transfers/{transfer_id}/accept"): Rule("holder_only", target="incoming_transfer", fresh=True,
                                                         note="the holder is the target"),
    ("POST", "/me/transfers/{transfer_id}/decline"): Rule("holder_only", target="incoming_transfer", fresh=True),
    ("POST", "/me/transfers/{transfer_id}/cancel"): Rule("holder_only", target="outgoing_transfer", fresh=True),
    ("GET", "/staff/transfers"): Rule("staff_only"),
    ("POST", "/staff/transfers"): Rule("staff_only", target="staff_transfer_request", fresh=True),
    ("POST", "/staff/transfers/{transfer_id}/approve"): Rule("staff_only", target="accepted_transfer", fresh=True),
    ("POST", "/staff/transfers/{transfer_id}/reject"): Rule("staff_only", target="accepted_transfer", fresh=True),
    # Each person their own login's email: a wrong password (request) or no pending change (confirm) for all.
    ("POST", "/me/email-change"): Rule("any_person", body={"new_email": "nuevo-email@ejemplo.com.ar",
                                                            "password": "NoEsLaClave1"},
                                       people_get=(403, "wrong_password")),
    ("POST", "/me/email-change/confirm"): Rule("any_person", body={"code": "123456"},
                                               people_get=(404, "no_email_change")),
    # One login, several accounts: each person its own list; a made-up token is nobody's invitation.
    ("GET", "/me/accounts"): Rule("any_person", check=_own_accounts),
    ("POST", "/me/invitations/accept"): Rule("any_person", body={"token": "x" * 43},
                                             people_get=(404, "invitation_not_valid")),
    # Remote support: booking is asking for support (`tickets`). Each booking call starts from an account with none
    # pending (World.body cancels the one before: one active booking per account).
    ("GET", "/support/remote/slots"): Rule("account", permission=Permission.TICKETS),
    ("POST", "/support/remote/bookings"): Rule("account", permission=Permission.TICKETS),
    ("GET", "/me/remote-bookings"): Rule("account", permission=Permission.TICKETS, lists=("remote_booking",)),
    ("POST", "/me/remote-bookings/{booking_id}/reschedule"): Rule("account", permission=Permission.TICKETS,
                                                                  target="remote_booking", fresh=True),
    ("POST", "/me/remote-bookings/{booking_id}/cancel"): Rule("account", permission=Permission.TICKETS,
                                                              target="remote_booking", fresh=True),
    ("GET", "/staff/remote-support/agenda"): Rule("staff_only"),
    ("POST", "/staff/remote-bookings/{booking_id}/operator"): Rule("staff_only", target="remote_booking", fresh=True),
    ("POST", "/staff/remote-bookings/{booking_id}/outcome"): Rule("staff_only", target="held_remote_booking",
                                                                  fresh=True),
    # Migrations: asking for one manages the service (`manage_services`); every step after is staff's.
    ("POST", "/services/{service_id}/migration"): Rule("account", permission=Permission.MANAGE_SERVICES,
                                                       target="hosting_service", fresh=True),
    ("GET", "/me/migrations"): Rule("account", permission=Permission.MANAGE_SERVICES, lists=("migration",)),
    ("POST", "/me/migrations/{migration_id}/cancel"): Rule("account", permission=Permission.MANAGE_SERVICES,
                                                           target="migration", fresh=True),
    ("POST", "/staff/migrations/{migration_id}/take"): Rule("staff_only", target="migration", fresh=True),
    ("POST", "/staff/migrations/{migration_id}/status"): Rule("staff_only", target="migration", fresh=True),
    ("POST", "/staff/migrations/{migration_id}/access"): Rule("staff_only", target="taken_migration"),
    ("GET", "/staff/migrations/{migration_id}/reveals"): Rule("staff_only", target="migration"),
    ("GET", "/staff/migrations"): Rule("staff_only"),
    # Knowledge base: the help centre is public; staff write it.
    ("GET", "/kb/search"): Rule("public", lists=("kb_article",), check=_finds_the_article),
    ("GET", "/kb/suggest"): Rule("public", lists=("kb_article",), check=_finds_the_article),
    ("GET", "/kb/articles"): Rule("public", lists=("kb_article",), check=_finds_the_article),
    ("GET", "/kb/articles/{slug}"): Rule("public", target="kb_article"),
    ("GET", "/staff/kb/articles"): Rule("staff_only"),
    ("POST", "/staff/kb/articles"): Rule("staff_only"),
    ("PUT", "/staff/kb/articles/{slug}"): Rule("staff_only", target="kb_article"),
    ("POST", "/staff/kb/articles/{slug}/publish"): Rule("staff_only", target="kb_article"),
    ("POST", "/staff/kb/articles/{slug}/unpublish"): Rule("staff_only", target="kb_article", fresh=True),
    # Feature requests: every account's, one vote per account (each caller votes on a new one).
    ("GET", "/me/feature-requests"): Rule("any_account", lists=("feature_request",)),
    ("POST", "/me/feature-requests"): Rule("any_account"),
    ("POST", "/me/feature-requests/{feature_id}/vote"): Rule("any_account", target="feature_request", fresh=True),
    # Self-diagnostics: what a service's reader may see (a loopback DNS and website answer, see World.TARGETS).
    ("GET", "/services/{service_id}/diagnostics"): Rule("account_or_staff", Permission.SERVICES,
                                                        target="diagnosed_service"),
    # The status page: public to read (never staff's internal notes), staff's to keep.
    ("GET", "/status"): Rule("public", lists=("incident",), check=_incident_shown_without_notes),
    ("GET", "/status/feed"): Rule("public", lists=("incident",), check=_incident_shown_without_notes),
    ("GET", "/staff/status"): Rule("staff_only"),
    ("PUT", "/staff/status/components/{component_id}"): Rule("staff_only", target="status_component"),
    ("DELETE", "/staff/status/components/{component_id}"): Rule("staff_only", target="status_component", fresh=True),
    ("POST", "/staff/status/incidents"): Rule("staff_only"),
    ("POST", "/staff/status/incidents/{incident_id}/updates"): Rule("staff_only", target="incident"),
    ("POST", "/staff/status/maintenances"): Rule("staff_only"),
    ("PATCH", "/staff/status/maintenances/{maintenance_id}"): Rule("staff_only", target="maintenance"),
    ("POST", "/staff/status/maintenances/{maintenance_id}/updates"): Rule("staff_only", target="maintenance",
                                                                          fresh=True),
    ("GET", "/staff/feature-requests"): Rule("staff_only"),
    ("POST", "/staff/feature-requests/{feature_id}/status"): Rule("staff_only", target="feature_request"),
    ("POST", "/staff/feature-requests/{feature_id}/merge"): Rule("staff_only", target="duplicate_feature",
                                                                 fresh=True),
    ("GET", "/me/alerts"): Rule("any_person"),
    ("GET", "/me/alerts/settings"): Rule("any_person"),
    ("PATCH", "/me/alerts/settings"): Rule("any_person"),
}


_STATS_QUERY = {"/staff/tickets/stats": "?from=2026-11-01&to=2026-11-30",
                "/support/remote/slots": "?from=2099-01-01&to=2099-01-07",
                "/staff/remote-support/agenda": "?day=2099-01-02",
                "/staff/email-suppressions": "?address=rebota%40ejemplo.com.ar",
                "/kb/search": "?q=outlook", "/kb/suggest": "?subject=configurar%20outlook"}


# --- What each caller should get ----------------------------------------------------------------------

OK = ("ok",)  # 2xx
OWN = ("own",)  # another holder on a route without ids: 2xx, its own, none of the holder's ids
HIDDEN = ("hidden",)  # another holder on the holder's ids: 404, the very answer to a missing id
ANONYMOUS = ("refused", 401, "unauthenticated")
STAFF_NO_ACCOUNT = ("refused", 403, "staff_has_no_account")


def expected(rule: Rule, caller: str, has_ids: bool) -> tuple:
    if rule.audience == "public":
        return OK
    if rule.audience == "signed_webhook":
        return ("refused", *rule.unsigned)
    if caller == "anonymous":
        return ANONYMOUS
    if rule.audience == "staff_only":
        return OK if caller == "staff" else ("refused", 403, "staff_only")
    if rule.audience == "any_account":
        return STAFF_NO_ACCOUNT if caller == "staff" else OK
    if rule.people_get and caller != "staff":
        return ("refused", *rule.people_get)
    if caller == "other_holder":
        return HIDDEN if has_ids else OWN
    if caller == "staff":
        return OK if rule.audience in ("account_or_staff", "holder_or_staff") else STAFF_NO_ACCOUNT
    if caller in ("contact_with_right", "contact_without_right") and rule.audience in ("holder_only",
                                                                                       "holder_or_staff"):
        return ("refused", 403, "holder_only")
    if caller == "contact_without_right" and rule.audience in ("account", "account_or_staff"):
        return ("refused", 403, "permission_denied")
    return OK


# --- The world: two accounts, two contacts, staff; everything through the API -----------------------


class World:
    def __init__(self, api, request, rule: Rule):
        self.api, self.request, self.rule = api, request, rule
        self._serial = itertools.count(1)
        self.memo: dict[str, dict[str, str]] = {}  # targets made once (the routes that do not change them)
        self.seen: dict[str, str] = {}  # for checks comparing callers' answers
        self.a = self._signup("titular")
        self.b = self._signup("otro-titular")
        self.a_ids = {self.a}  # everything of the first holder's: another holder must never see one
        self.holder = claims_for(client_id=self.a, sub="sub-holder")
        needed = rule.permission
        every = [p.value for p in Permission]
        with_right = [needed.value] if needed else every
        without_right = [p for p in every if p != needed.value] if needed else ["tickets"]
        self.claims = {
            "anonymous": None,
            "holder": self.holder,
            "other_holder": claims_for(client_id=self.b, sub="sub-other-holder"),
            "contact_with_right": claims_for(client_id=self.a, contact_id=self.new_contact(with_right),
                                             sub="sub-contact-with"),
            "contact_without_right": claims_for(client_id=self.a, contact_id=self.new_contact(without_right),
                                                sub="sub-contact-without"),
            "member_with_right": self.member(with_right),
            "staff": STAFF,
        }
        self.headers = {"member_with_right": {"X-Account-Id": self.a}}

    # Setup calls must succeed: a failure here is the world's, not the matrix's.
    def _call(self, method: str, path: str, *, body=None, claims=None, status=201) -> dict:
        response = self.api.call(method, path, body=body, claims=claims)
        assert response.status == status, f"setup {method} {path}: {response!r}"
        return response.json()

    def email(self, label: str) -> str:
        return f"{label}-{next(self._serial)}@ejemplo.com.ar"

    def _signup(self, label: str, email: str | None = None) -> str:
        body = {**BODIES[("POST", "/clients")], "email": email or self.email(label), "name": label}
        client_id = self._call("POST", "/clients", body=body)["client_id"]
        self.emails = {**getattr(self, "emails", {}), client_id: body["email"]}
        return client_id

    # Transfers: a third client, the one BODIES transfer to (and who transfers to the holder).
    def destination(self) -> str:
        if "destination" not in self.memo:
            email = BODIES[("POST", "/services/{service_id}/transfer")]["target_email"]
            self.memo["destination"] = {"client_id": self._signup("destino", email)}
        return self.memo["destination"]["client_id"]

    def transferable_service(self) -> dict[str, str]:
        self.destination()
        return {"service_id": self.active_service()}

    def outgoing_transfer(self) -> dict[str, str]:
        service_id = self.transferable_service()["service_id"]
        made = self._call("POST", f"/services/{service_id}/transfer", claims=self.holder,
                          body=BODIES[("POST", "/services/{service_id}/transfer")])
        self.a_ids.add(made["transfer_id"])
        return {"transfer_id": made["transfer_id"]}

    def incoming_transfer(self) -> dict[str, str]:
        source = self.destination()
        service_id = self.active_service(source)
        made = self._call("POST", f"/services/{service_id}/transfer", body={
            "target_email": self.emails[self.a], "password": "Segura123"},
            claims=claims_for(client_id=source, sub="sub-destino"))
        self.a_ids.add(made["transfer_id"])
        return {"transfer_id": made["transfer_id"]}

    def accepted_transfer(self) -> dict[str, str]:
        made = self.outgoing_transfer()
        self._call("POST", f"/me/transfers/{made['transfer_id']}/accept", status=200, body={"password": "Segura123"},
                   claims=claims_for(client_id=self.destination(), sub="sub-destino"))
        return made

    def staff_transfer_request(self) -> dict[str, str]:
        """What staff name to open a transfer: the holder's ticket (staff wrote it down from the holder's email)
        and service, and the client who receives it."""
        service_id = self.transferable_service()["service_id"]
        ticket = self._call("POST", f"/staff/clients/{self.a}/tickets", claims=STAFF,
                            body=BODIES[("POST", "/staff/clients/{client_id}/tickets")])
        return {"ticket_id": ticket["ticket_id"], "service_id": service_id,
                "target_email": BODIES[("POST", "/services/{service_id}/transfer")]["target_email"]}

    def ticket_transfer(self) -> dict[str, str]:
        made = self._call("POST", "/staff/transfers", claims=STAFF, body=self.staff_transfer_request())
        self.a_ids.add(made["transfer_id"])
        return {"transfer_id": made["transfer_id"]}

    def new_contact(self, permissions: list[str]) -> str:
        body = {**BODIES[("POST", "/me/contacts")], "email": self.email("contacto"), "permissions": permissions}
        contact_id = self._call("POST", "/me/contacts", body=body, claims=self.holder)["contact_id"]
        self.a_ids.add(contact_id)
        return contact_id

    def member(self, permissions: list[str]) -> dict:
        """A third client's login, invited to the holder's account with ``permissions`` and accepted signed in."""
        from tests.integration.test_invitations import token_for

        email = self.email("miembro")
        self.member_home = self._signup("miembro", email)
        claims = {**claims_for(client_id=self.member_home, sub="sub-member"), "email": email}
        body = {**BODIES[("POST", "/me/contacts")], "email": email, "permissions": permissions}
        self.a_ids.add(self._call("POST", "/me/contacts", body=body, claims=self.holder)["contact_id"])
        self._call("POST", "/me/invitations/accept", body={"token": token_for(email)}, claims=claims, status=200)
        return claims

    def order(self, product_id: str, billing_cycle: str, client_id: str | None = None, **extra) -> dict:
        body = {"product_id": product_id, "billing_cycle": billing_cycle, **extra}
        order = self._call("POST", f"/staff/clients/{client_id or self.a}/orders", body=body, claims=STAFF)
        if client_id is None:
            self.a_ids |= {order["service"]["service_id"], order["invoice"]["invoice_id"]}
        return order

    def active_service(self, client_id: str | None = None) -> str:
        order = self.order("soporte-standard", "monthly", client_id)
        assert order["service"]["status"] == "active", order
        return order["service"]["service_id"]

    def full_plan_service(self) -> dict[str, str]:
        """The account on the Full support plan (phone support included): its paid, active support service."""
        order = self.order("soporte-full", "monthly")
        _pay_outside_the_api(self.request, order["invoice"]["invoice_id"])
        return {"service_id": order["service"]["service_id"]}

    def invitation_token(self) -> dict[str, str]:
        """A new contact's invitation, as its email carries it."""
        from tests.integration.test_invitations import token_for

        email = self.email("invitado")
        self._call("POST", "/me/contacts", claims=self.holder, body={**BODIES[("POST", "/me/contacts")],
                                                                      "email": email, "permissions": ["invoices"]})
        return {"token": token_for(email)}

    def both_on_full(self) -> dict[str, str]:
        """Both accounts on the Full support plan (Telegram included)."""
        for client_id in (self.a, self.b):
            order = self.order("soporte-full", "monthly", client_id)
            _pay_outside_the_api(self.request, order["invoice"]["invoice_id"])
        return {}

    def pending_upgrade(self) -> dict[str, str]:
        service_id = self.active_service()
        placed = self._call("POST", f"/services/{service_id}/upgrades", body=SUPPORT_UPGRADE, claims=self.holder)
        assert placed["upgrade"]["status"] == "awaiting_payment", placed
        self.a_ids |= {placed["upgrade"]["upgrade_id"], placed["invoice"]["invoice_id"]}
        return {"service_id": service_id, "upgrade_id": placed["upgrade"]["upgrade_id"]}

    def own_service_their_upgrade(self) -> tuple[str, str]:
        """The other holder's own active service, with the holder's pending change (or a missing one)."""
        theirs = self.target("pending_upgrade", fresh=True)["upgrade_id"]
        own = self.active_service(self.b)
        return f"/services/{own}/upgrades/{theirs}/cancel", f"/services/{own}/upgrades/{new_id()}/cancel"

    def open_request(self) -> dict[str, str]:
        service_id = self.active_service()
        body = BODIES[("POST", "/services/{service_id}/upgrade-requests")]
        made = self._call("POST", f"/services/{service_id}/upgrade-requests", body=body, claims=self.holder)
        self.a_ids.add(made["request_id"])
        return {"request_id": made["request_id"]}

    def awaiting_requirements(self) -> dict[str, str]:
        """A paid VPS (a manual product with requirements): staff mark the requirements met."""
        order = self.order("vps-cloud", "monthly")
        _pay_outside_the_api(self.request, order["invoice"]["invoice_id"])
        return {"service_id": order["service"]["service_id"]}

    def provisioned_hosting(self, domain: str) -> str:
        """A paid hosting whose account the provisioning worker created in a fake WHM (as the queue runs it)."""
        from tests.integration.flows import provision, relay

        stack, aws = self.request.getfixturevalue("stack"), self.request.getfixturevalue("aws")
        fake = FakeWhm("matrix-whm-token").start()
        self.request.addfinalizer(fake.stop)
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=stack.refs["ProvisioningSecrets"],
            SecretString=json.dumps({"whm_url": fake.url, "whm_token": "matrix-whm-token"}))
        order = self.order("hosting-inicial", "annually", domain=domain)
        _pay_outside_the_api(self.request, order["invoice"]["invoice_id"])
        relay(stack, aws)
        provision(stack)
        return order["service"]["service_id"]

    def applying_upgrade(self) -> dict[str, str]:
        """A paid plan change of a hosting with a server account, whose package change is queued."""
        service_id = self.provisioned_hosting("matriz.com.ar")
        placed = self._call("POST", f"/services/{service_id}/upgrades", body={"target": "hosting-empresa"},
                            claims=self.holder)
        _pay_outside_the_api(self.request, placed["invoice"]["invoice_id"])
        upgrade_id = placed["upgrade"]["upgrade_id"]
        history = self._call("GET", f"/services/{service_id}/upgrades", claims=self.holder, status=200)
        assert [u["status"] for u in history] == ["applying"], history
        self.a_ids.add(upgrade_id)
        return {"upgrade_id": upgrade_id}

    def pending_cancellation(self) -> dict[str, str]:
        service_id = self.active_service()
        self._call("POST", f"/services/{service_id}/cancellation", claims=self.holder,
                   body=BODIES[("POST", "/services/{service_id}/cancellation")])
        return {"service_id": service_id}

    def domain(self) -> dict[str, str]:
        """An active domain (paid: its activation is instant)."""
        order = self.order("dominio-com-ar", "annually", domain="matriz.com.ar")
        _pay_outside_the_api(self.request, order["invoice"]["invoice_id"])
        return {"service_id": order["service"]["service_id"]}

    def ended_with_backup(self) -> dict[str, str]:
        """A hosting whose account was created in WHM, terminated by staff, and removed with its last backup
        recorded (the provisioning worker, as the queue runs it)."""
        from tests.integration.flows import provision, relay

        service_id = self.provisioned_hosting("baja.com.ar")
        stack, aws = self.request.getfixturevalue("stack"), self.request.getfixturevalue("aws")
        self._call("POST", f"/staff/services/{service_id}/termination", claims=STAFF, status=200,
                   body=BODIES[("POST", "/staff/services/{service_id}/termination")])
        relay(stack, aws)
        provision(stack)
        return {"service_id": service_id}

    def quote(self) -> dict[str, str]:
        made = self._call("POST", f"/staff/clients/{self.a}/quotes", claims=STAFF,
                          body=BODIES[("POST", "/staff/clients/{client_id}/quotes")])
        self.a_ids.add(made["quote_id"])
        return {"quote_id": made["quote_id"]}

    def payable_invoice(self) -> dict[str, str]:
        """An unpaid invoice, with Mercado Pago's API answered by a loopback fake (the checkout opens there)."""
        from devstack.fake_mercadopago import FakeMercadoPago
        from devstack.runtime import ENV_OVERRIDES
        from devstack.stack import LOCAL_PAYMENT_SECRETS

        stack, monkeypatch = self.request.getfixturevalue("stack"), self.request.getfixturevalue("monkeypatch")
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
        fake = FakeMercadoPago(LOCAL_PAYMENT_SECRETS["mercadopago_access_token"],
                               LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"]).start()
        self.request.addfinalizer(fake.stop)
        monkeypatch.setitem(ENV_OVERRIDES, "MERCADOPAGO_API_URL", fake.url)
        monkeypatch.setenv("MERCADOPAGO_API_URL", fake.url)
        return {"invoice_id": self.order("hosting-avanzado", "annually")["invoice"]["invoice_id"]}

    def documented_invoice(self) -> dict[str, str]:
        """An invoice whose PDF the documents worker made (as the mail queue runs it)."""
        from tests.integration.flows import mail, relay

        invoice_id = self.order("hosting-avanzado", "annually")["invoice"]["invoice_id"]
        relay(self.request.getfixturevalue("stack"), self.request.getfixturevalue("aws"))
        mail(self.request.getfixturevalue("stack"))
        return {"invoice_id": invoice_id}

    def ticket(self) -> dict[str, str]:
        """The holder's ticket, with an internal note of staff's (which no client answer may show)."""
        made = self._call("POST", "/me/tickets", body=BODIES[("POST", "/me/tickets")], claims=self.holder)
        self._call("POST", f"/staff/tickets/{made['ticket_id']}/notes", body={"body": INTERNAL_NOTE}, claims=STAFF)
        self.a_ids.add(made["ticket_id"])
        return {"ticket_id": made["ticket_id"]}

    def duplicate(self) -> dict[str, str]:
        """Two open tickets of the holder's: the second merges into the first (the body names it)."""
        into, duplicate = self.ticket()["ticket_id"], self.ticket()["ticket_id"]
        return {"ticket_id": duplicate, "into_ticket_id": into}

    def attachment(self) -> dict[str, str]:
        """A ticket whose reply carries a file uploaded to the attachments bucket (as the browser would)."""
        ticket_id = self.ticket()["ticket_id"]
        form = self._call("POST", f"/me/tickets/{ticket_id}/attachments", claims=self.holder,
                          body=BODIES[("POST", "/me/tickets/{ticket_id}/attachments")])
        boto3.client("s3", region_name="us-east-1").put_object(
            Bucket=self.request.getfixturevalue("stack").refs["AttachmentsBucket"], Key=form["fields"]["key"],
            Body=b"\x89PNG", ContentType="image/png")
        self._call("POST", f"/me/tickets/{ticket_id}/replies", claims=self.holder, status=200,
                   body={"body": "Adjunto la captura.", "attachment_ids": [form["attachment_id"]]})
        self.a_ids.add(form["attachment_id"])
        return {"ticket_id": ticket_id, "attachment_id": form["attachment_id"]}

    def _email_to_support(self, subject: str, **verdicts):
        """An email from a stranger, through the template's receipt rule (devstack/mail_receiving.py): its
        InboundEmail record."""
        import hashlib
        from email.message import EmailMessage

        from devstack.mail_receiving import ReceiptRules
        from devstack.runtime import Runtime
        from shared.dal.tickets import Tickets

        stack, support = self.request.getfixturevalue("stack"), "tickets@soporte.paneldecliente.com"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "alguien@otro.com", support, subject
        message["Message-ID"] = f"<{new_id()}@otro.com>"
        message.set_content("Consulta por correo.")
        ReceiptRules(stack, Runtime(stack), boto3.Session(region_name="us-east-1")).deliver(
            message.as_bytes(), [support], verdicts or None)
        return Tickets().find_inbound(hashlib.sha256(message["Message-ID"].encode()).hexdigest())

    def emailed_message(self) -> dict[str, str]:
        record = self._email_to_support("Consulta por correo")
        from shared.dal.tickets import Tickets

        (message,) = Tickets().conversation(record.ticket_id)[1]
        return {"ticket_id": record.ticket_id, "message_id": message.message_id}

    def quarantined_email(self) -> dict[str, str]:
        return {"email_key": self._email_to_support("Oferta imperdible", spam="FAIL").email_key}

    def suppressed_address(self) -> dict[str, str]:
        from shared.dal.mail import SentEmails, SuppressedAddress

        if SentEmails().suppression("rebota@ejemplo.com.ar") is None:  # lifted by the staff call before this one
            SuppressedAddress(*SuppressedAddress.key("rebota@ejemplo.com.ar"), address="rebota@ejemplo.com.ar",
                              reason="bounce", feedback_id="f", suppressed_at="2026-11-30T12:00:00.000000Z",
                              gsi1pk="SUPPRESSED", gsi1sk="2026-11-30T12:00:00.000000Z#rebota@ejemplo.com.ar").save()
        return {}

    def offered_starts(self) -> list[str]:
        """The remote support starts offered now (the real clock: within the booking horizon)."""
        from datetime import UTC, datetime, timedelta

        today = datetime.now(UTC).date()
        slots = self._call("GET", f"/support/remote/slots?from={today}&to={today + timedelta(days=20)}",
                           claims=self.holder, status=200)
        return [s["starts_at"] for s in slots]

    def without_remote_booking(self) -> None:
        """The holder's account with no booking pending (one at a time), so the next call may book."""
        from datetime import UTC, datetime, timedelta

        soon = datetime.now(UTC) + timedelta(hours=3)
        for booking in self._call("GET", "/me/remote-bookings", claims=self.holder, status=200):
            if booking["status"] == "booked" and datetime.fromisoformat(booking["starts_at"]) > soon:
                self._call("POST", f"/me/remote-bookings/{booking['booking_id']}/cancel", claims=self.holder,
                           status=200)

    def remote_booking(self) -> dict[str, str]:
        self.without_remote_booking()
        made = self._call("POST", "/support/remote/bookings", claims=self.holder, body={
            **BODIES[("POST", "/support/remote/bookings")], "starts_at": self.offered_starts()[0]})
        self.a_ids.add(made["booking_id"])
        self.memo["remote_start"] = {"starts_at": made["starts_at"]}
        return {"booking_id": made["booking_id"]}

    def held_remote_booking(self) -> dict[str, str]:
        """A booking whose time has come (staff record its outcome): made through the API, then its start moved to
        an hour ago in the table — no route books the past."""
        from datetime import UTC, datetime, timedelta

        from shared.clock import to_storage
        from shared.dal.support import ActiveRemoteBooking, RemoteBooking

        made = self.remote_booking()
        booking = RemoteBooking.get(*RemoteBooking.key(made["booking_id"]))
        booking.starts_at = to_storage(datetime.now(UTC) - timedelta(hours=1))
        booking.ends_at = to_storage(datetime.now(UTC) - timedelta(minutes=15))
        booking.save()
        active = ActiveRemoteBooking.get(*ActiveRemoteBooking.key(self.a))
        active.ends_at = booking.ends_at  # its session is over: the account may book again
        active.save()
        return made

    def hosting_service(self) -> dict[str, str]:
        """An active hosting of the holder's (activated outside the API: its payment is other tests' business)."""
        from shared.dal.services import Service

        service_id = self.order("hosting-inicial", "monthly")["service"]["service_id"]
        service = Service.get(*Service.key(service_id))
        service.status = "active"
        service.save()
        return {"service_id": service_id}

    def feature_request(self) -> dict[str, str]:
        """A request proposed by a third account (so that every caller's account may still vote for it)."""
        if "proposer" not in self.memo:
            self.memo["proposer"] = {"client_id": self._signup("proponente")}
        proposer = claims_for(client_id=self.memo["proposer"]["client_id"], sub="sub-proponente")
        made = self._call("POST", "/me/feature-requests", claims=proposer,
                          body=BODIES[("POST", "/me/feature-requests")])
        return {"feature_id": made["request_id"]}

    def duplicate_feature(self) -> dict[str, str]:
        return {**self.feature_request(), "into_request_id": self.feature_request()["feature_id"]}

    def download(self) -> dict[str, str]:
        """A published download of a service of the holder's (uploaded to S3 as staff's browser would)."""
        service_id = self.target("service", fresh=False)["service_id"]
        body = BODIES[("POST", "/staff/services/{service_id}/downloads")]
        form = self._call("POST", f"/staff/services/{service_id}/downloads", claims=STAFF, body=body)
        stack = self.request.getfixturevalue("stack")
        boto3.client("s3", region_name="us-east-1").put_object(
            Bucket=stack.refs["DownloadsBucket"], Key=form["fields"]["key"], Body=b"ID3" + b"\0" * 61,
            ContentType=body["content_type"])
        self._call("PUT", f"/staff/services/{service_id}/downloads/{form['download_id']}", claims=STAFF,
                   body={"title": "Locución de bienvenida"}, status=200)
        self.a_ids.add(form["download_id"])
        return {"service_id": service_id, "download_id": form["download_id"]}

    def kb_article(self) -> dict[str, str]:
        """A published article, in the search index (the indexer's rebuild, run outside the API)."""
        from kb.index_store import rebuild

        from shared.dal.kb import KnowledgeBase

        slug = f"configurar-outlook-{next(self._serial)}"
        self._call("POST", "/staff/kb/articles", claims=STAFF, body={**BODIES[("POST", "/staff/kb/articles")],
                                                                     "slug": slug})
        self._call("POST", f"/staff/kb/articles/{slug}/publish", claims=STAFF, body={}, status=200)
        stack = self.request.getfixturevalue("stack")
        rebuild(KnowledgeBase(), boto3.client("s3", region_name="us-east-1"), stack.refs["DocumentsBucket"])
        return {"slug": slug}

    def diagnosed_service(self) -> dict[str, str]:
        """A hosting of the demo domain, which the loopback DNS and website answer for (conftest's ``probing``)."""
        from shared.dal.services import Service

        self.request.getfixturevalue("probing")
        made = self.hosting_service()
        service = Service.get(*Service.key(made["service_id"]))
        service.domain, service.server = "demo-pyme.com.ar", SERVER
        service.save()
        return made

    def status_component(self) -> dict[str, str]:
        """A component of the status page on the holder's server (staff's)."""
        component_id = f"matriz-srv12-{next(self._serial)}"
        self._call("PUT", f"/staff/status/components/{component_id}", claims=STAFF, status=200,
                   body=BODIES[("PUT", "/staff/status/components/{component_id}")])
        return {"component_id": component_id}

    def incident_component(self) -> None:
        self._call("PUT", "/staff/status/components/matriz-srv12", claims=STAFF, status=200,
                   body=BODIES[("PUT", "/staff/status/components/{component_id}")])

    def incident(self) -> dict[str, str]:
        """An open incident on a component, with an internal note that no client may read."""
        self.incident_component()
        title = f"Sitios lentos {next(self._serial)}"
        made = self._call("POST", "/staff/status/incidents", claims=STAFF, body={
            **BODIES[("POST", "/staff/status/incidents")], "title": title, "component_ids": ["matriz-srv12"],
            "internal_note": INTERNAL_NOTE})
        return {"incident_id": made["incident_id"], "title": title}

    def maintenance(self) -> dict[str, str]:
        made = self._call("POST", "/staff/status/maintenances", claims=STAFF,
                          body=self.body("POST", "/staff/status/maintenances"))
        return {"maintenance_id": made["maintenance_id"]}

    def cpanel_service(self) -> dict[str, str]:
        """An active hosting with its account on a cPanel server (its password can be changed)."""
        from shared.dal.services import Service

        made = self.hosting_service()
        service = Service.get(*Service.key(made["service_id"]))
        service.provisioning_module, service.provisioning_account = "cpanel", f"matriz{next(self._serial)}"
        service.save()
        return made

    def migration(self) -> dict[str, str]:
        service_id = self.hosting_service()["service_id"]
        made = self._call("POST", f"/services/{service_id}/migration", claims=self.holder,
                          body=BODIES[("POST", "/services/{service_id}/migration")])
        self.a_ids.add(made["migration_id"])
        return {"migration_id": made["migration_id"]}

    def taken_migration(self) -> dict[str, str]:
        made = self.migration()
        self._call("POST", f"/staff/migrations/{made['migration_id']}/take", claims=STAFF, status=200)
        return made

    TARGETS: dict[str, Callable[["World"], dict[str, str]]] = {
        "hosting_service": lambda w: w.hosting_service(),
        "cpanel_service": lambda w: w.cpanel_service(),
        "kb_article": lambda w: w.kb_article(),
        "download": lambda w: w.download(),
        "feature_request": lambda w: w.feature_request(),
        "duplicate_feature": lambda w: w.duplicate_feature(),
        "migration": lambda w: w.migration(),
        "taken_migration": lambda w: w.taken_migration(),
        "remote_booking": lambda w: w.remote_booking(),
        "held_remote_booking": lambda w: w.held_remote_booking(),
        "ticket": lambda w: w.ticket(),
        "duplicate": lambda w: w.duplicate(),
        "suppressed_address": lambda w: w.suppressed_address(),
        "attachment": lambda w: w.attachment(),
        "emailed_message": lambda w: w.emailed_message(),
        "full_plan_service": lambda w: w.full_plan_service(),
        "both_on_full": lambda w: w.both_on_full(),
        "invitation_token": lambda w: w.invitation_token(),
        "transferable_service": lambda w: w.transferable_service(),
        "outgoing_transfer": lambda w: w.outgoing_transfer(),
        "incoming_transfer": lambda w: w.incoming_transfer(),
        "accepted_transfer": lambda w: w.accepted_transfer(),
        "staff_transfer_request": lambda w: w.staff_transfer_request(),
        "ticket_transfer": lambda w: w.ticket_transfer(),
        "guest_ticket": lambda w: {"ticket_id": w.emailed_message()["ticket_id"], "account_client_id": w.a},
        "quarantined_email": lambda w: w.quarantined_email(),
        "day": lambda w: {"day": "2099-01-02"},
        "quote": lambda w: w.quote(),
        "payable_invoice": lambda w: w.payable_invoice(),
        "documented_invoice": lambda w: w.documented_invoice(),
        "pending_cancellation": lambda w: w.pending_cancellation(),
        "domain": lambda w: w.domain(),
        "ended_with_backup": lambda w: w.ended_with_backup(),
        "contact": lambda w: {"contact_id": w.new_contact(["tickets"])},
        "service": lambda w: {"service_id": w.order("hosting-avanzado", "annually", credentials={
            "usuario cPanel": "matriz", "clave cPanel": "Clave-De-Prueba-1"})["service"]["service_id"]},
        "invoice": lambda w: {"invoice_id": w.order("hosting-avanzado", "annually")["invoice"]["invoice_id"]},
        "active_service": lambda w: {"service_id": w.active_service()},
        "pending_upgrade": lambda w: w.pending_upgrade(),
        "open_request": lambda w: w.open_request(),
        "awaiting_requirements": lambda w: w.awaiting_requirements(),
        "applying_upgrade": lambda w: w.applying_upgrade(),
        "client": lambda w: {"client_id": w.a},
        "server": lambda w: {"server_name": SERVER},
        "status_component": lambda w: w.status_component(),
        "diagnosed_service": lambda w: w.diagnosed_service(),
        "incident": lambda w: w.incident(),
        "maintenance": lambda w: w.maintenance(),
    }

    def target(self, name: str, fresh: bool) -> dict[str, str]:
        if fresh or name not in self.memo:
            self.memo[name] = self.TARGETS[name](self)
        return self.memo[name]

    def body(self, method: str, resource: str) -> dict | None:
        body = self.rule.body if self.rule.body is not None else BODIES.get((method, resource))
        if body is not None and "email" in body:  # one login per email: every call signs up someone new
            body = {**body, "email": self.email("alta")}
        if body is not None and "window_start" in body:  # a call-back: a window in the coming days
            from datetime import UTC, datetime, timedelta

            start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
            body = {**body, "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat()}
        if body is not None and "rustdesk_id" in body:  # a booking: an offered start, the account with none pending
            self.without_remote_booking()
            body = {**body, "starts_at": self.offered_starts()[0]}
        elif body is not None and resource.endswith("/reschedule"):  # another offered start than the booking's
            current = self.memo.get("remote_start", {}).get("starts_at")
            body = {"starts_at": next(s for s in self.offered_starts() if s != current)}
        if body is not None and resource in ("/staff/status/incidents", "/staff/status/maintenances"):
            self.incident_component()  # the component they name exists
            body = {**body, "component_ids": ["matriz-srv12"]}
        if body is not None and resource == "/staff/status/maintenances":  # a window in the coming days
            from datetime import UTC, datetime, timedelta

            start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            body = {**body, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
        if body is not None and "captcha_token" in body:  # the widget's token is good once
            body = {**body, "captcha_token": self.turnstile().issue()}
        return body

    def turnstile(self):
        """Cloudflare Turnstile faked on loopback, with its secret where the contact form reads it."""
        if getattr(self, "_turnstile", None) is None:
            from devstack.fake_turnstile import FakeTurnstile

            stack = self.request.getfixturevalue("stack")
            self._turnstile = FakeTurnstile("matrix-turnstile-secret").start()
            self.request.addfinalizer(self._turnstile.stop)
            boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
                SecretId=stack.refs["ContactFormSecrets"], SecretString=json.dumps(
                    {"turnstile_secret": "matrix-turnstile-secret"}))
            from devstack.runtime import ENV_OVERRIDES

            monkeypatch = self.request.getfixturevalue("monkeypatch")
            monkeypatch.setitem(ENV_OVERRIDES, "TURNSTILE_API_URL", self._turnstile.url)
            monkeypatch.setenv("TURNSTILE_API_URL", self._turnstile.url)
        return self._turnstile


# --- The tests ---------------------------------------------------------------------------------------


def test_every_route_has_a_declaration():
    declared = set(MATRIX)
    assert TEMPLATE_ROUTES - declared == set(), "routes of the template without a row in MATRIX"
    assert declared - TEMPLATE_ROUTES == set(), "rows of MATRIX for routes the template no longer has"


def _describe(response) -> str:
    return f"{response.status} {response.text[:300]}"


@pytest.mark.parametrize("route", sorted(TEMPLATE_ROUTES | set(MATRIX)), ids=lambda r: f"{r[0]} {r[1]}")
def test_authorization_matrix(route, api, stack, catalog, request):
    method, resource = route
    assert route in MATRIX, f"{method} {resource} has no row in MATRIX: declare who may call it"
    assert route in TEMPLATE_ROUTES, f"{method} {resource} is declared but not in the template"
    from devstack.gateway import routes_of

    assert any((r.method, r.resource) == route for r in routes_of(stack)), "the gateway does not serve it"
    rule = MATRIX[route]
    world = World(api, request, rule)
    listed = {name: world.target(name, fresh=False) for name in rule.lists}
    params = [part[1:-1] for part in resource.split("/") if part.startswith("{")]
    failures = []
    for caller in CALLERS:
        acts_as = ACTS_AS.get(caller, caller)
        want = expected(rule, acts_as, bool(params))
        ids = world.target(rule.target, rule.fresh) if rule.target else {}
        path = resource.format(**ids) + _STATS_QUERY.get(resource, "")
        body = world.body(method, resource)
        if "into_ticket_id" in ids:  # a merge names the ticket it joins
            body = {"into_ticket_id": ids["into_ticket_id"]}
        if "into_request_id" in ids:  # a feature request merged names the one it joins
            body = {"into_request_id": ids["into_request_id"]}
        if "account_client_id" in ids:  # a guest ticket moved to the holder's account
            body = {"client_id": ids["account_client_id"]}
        if "token" in ids:  # an invitation accepted: the token its email carried
            body = {"token": ids["token"], "password": "Segura123"}
        if "target_email" in ids:  # staff open a transfer from the holder's ticket: the body names both
            body = dict(ids)
        got = api.call(method, path, body=body, claims=world.claims[caller], headers=world.headers.get(caller))

        def fail(why: str, caller=caller, want=want, got=got) -> None:
            failures.append(f"{method} {resource} as {caller}: expected {want}, got {_describe(got)} — {why}")

        if got.status >= 500:
            fail("a 5xx is always a bug")
        elif want in (OK, OWN):
            if not 200 <= got.status < 300:
                fail("an allowed caller is refused")
                continue
            text = got.text
            if want == OWN:
                seen = sorted(i for i in world.a_ids if i in text)
                if seen:
                    fail(f"another holder sees the holder's ids {seen}")
            elif caller != "staff" and rule.audience != "public":
                for name, made in listed.items():
                    missing = [v for v in made.values() if v not in text]
                    if missing:
                        fail(f"the list does not show the holder's {name} {missing}")
            problem = rule.check(world, caller, got) if rule.check else None
            if problem:
                fail(problem)
        elif want == HIDDEN:
            absent = resource.format(**{name: new_id() for name in params})
            missing = api.call(method, absent, body=world.body(method, resource), claims=world.claims[caller])
            if got.status != 404:
                fail("another holder's id must answer 404")
            elif got.text != missing.text:
                fail(f"not the answer to a missing id ({absent}): {_describe(missing)}")
            if rule.mixed:
                theirs, absent = rule.mixed(world)
                got = api.call(method, theirs, body=world.body(method, resource), claims=world.claims[caller])
                missing = api.call(method, absent, body=world.body(method, resource), claims=world.claims[caller])
                if got.status != 404 or got.text != missing.text:
                    fail(f"with its own service and the holder's change ({theirs}): not the answer to a missing "
                         f"change ({absent}): {_describe(missing)}", got=got)
        else:
            _, status, code = want
            answer = got.json() if got.text.startswith("{") else {}
            if (got.status, answer.get("code")) != (status, code):
                fail("refused for another reason, or not refused")
    assert not failures, "\n".join(failures)
