"""`make bench`: cold starts and DynamoDB requests per endpoint, printed as a Markdown report.

1. Cold start: each function's handler module is imported in a fresh interpreter, next to a baseline
   interpreter that only creates a boto3 DynamoDB client (what any Python Lambda pays anyway).
2. DynamoDB requests: every API route is called once through its real handler against the embedded
   AWS with the demo data, and the DynamoDB API calls that reach the server are counted; then the worst
   realistic paths (a contact on a service with a pending change and an unpaid renewal, a contact's
   alerts on an account with hundreds of them).
3. What one occurrence of each flow costs (sign-in, service list, payment to activation, renewal, ticket with
   replies): every AWS call, Lambda invocation and WhatsApp message, counted on the local stack (docs/scale.md).
4. Payment webhook → service ACTIVE latency, 5. the WhatsApp fan-out, 6. the lifecycle sweeps (renewals,
   cancellations) over a large table with 10 due, and 7. the tickets' SLA sweep over many open tickets with 10
   due (with the holder's ticket list and detail on that table), each in its own process.

Scale: by default a reduced one that keeps every ratio visible and finishes in under 10 minutes on
2 cores; ``--full`` (``make bench FULL=1``) runs the full sizes. The report says which it ran.

Progress goes to stderr, the report to stdout. Figures are printed, never asserted: timings depend on
the machine; the targets beside them say what to look at.
"""

import argparse
import collections
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLD_TARGET = 1.5  # × baseline
FLOOR_TARGET = 1.0  # × the idiomatic floor, for the API functions (issue 17 §5)


@dataclass(frozen=True)
class Scale:
    name: str
    cold_start_rounds: int
    payments: int
    alert_events: int
    lifecycle_services: tuple[int, int]  # (small, large) tables for the lifecycle sweeps, 10 due in each
    open_tickets: tuple[int, int]  # (small, large) open tickets for the SLA sweep, 10 due in each


# The WhatsApp run on moto grows faster than linearly with its size (1,000 events: about 9 minutes on
# 2 cores; 200: under 1.5). Ratios (sends = deliveries, SQS calls within budget) hold at any size.
SCALES = {
    "reduced": Scale("reduced", cold_start_rounds=5, payments=20, alert_events=200, lifecycle_services=(500, 5000),
                     open_tickets=(100, 1000)),
    "full": Scale("full", cold_start_rounds=7, payments=50, alert_events=1000, lifecycle_services=(1000, 10000),
                  open_tickets=(1000, 10000)),
}
# In this order (--only picks some).
SECTIONS = ("cold", "dynamodb", "flows", "activation", "alerts", "lifecycle", "tickets", "kb", "status")
HEAVY_MODULES = (
    "pydantic",
    "pynamodb",
    "aws_lambda_powertools.event_handler",
    "boto3",
    "holidays",
    "phonenumbers",
    "email_validator",
)
BASELINE = "baseline"
FLOOR = "idiomatic floor"
LEAN_FLOOR = "lean floor"
# The idiomatic floor (issue 17 §5), as the issue defines it: what a Powertools API function written the usual way
# pays at init — the resolver with validation and one route taking a pydantic body, one PynamoDB model, and one
# boto3 client.
_FLOOR_API = """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

class Body(BaseModel):
    name: str

class Item(Model):
    class Meta:
        table_name = "bench-table"
        region = "us-east-1"
    pk = UnicodeAttribute(hash_key=True)

app = APIGatewayRestResolver(enable_validation=True)

@app.post("/items")
def create(body: Body) -> dict:
    return {}
"""
FLOOR_WORK = _FLOOR_API + 'import boto3\nboto3.client("dynamodb", region_name="us-east-1")\n'
# A stricter reference of ours: the same function with PynamoDB's own client instead of boto3 (no boto3 import at
# all), which is how our functions reach DynamoDB. Reported beside the target, not instead of it.
LEAN_FLOOR_WORK = _FLOOR_API + "Item._get_connection().connection.client\n"

# Runs in the fresh interpreter. perf_counter brackets the import only: process spawn and interpreter
# start-up are the same for every function and would drown the differences.
_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
{work}
elapsed = time.perf_counter() - started
loaded = len(sys.modules)
heavy = [name for name in {heavy!r} if name in sys.modules]
names = sorted(sys.modules)
import json
print(json.dumps({{"ms": elapsed * 1000, "modules": loaded, "heavy": heavy, "names": names}}))
"""

# Valid bodies for the write routes, keyed like the template's Api events. A write route missing here
# is sent without a body: its 4xx shows in the report instead of being skipped silently.
BODIES = {
    ("POST", "/clients"): {"email": "bench-alta@ejemplo.com.ar", "password": "Segura123", "name": "Bench Alta"},
    ("PATCH", "/me"): {"company": "X"},
    ("POST", "/me/contacts"): {
        "email": "bench-contacto@ejemplo.com.ar",
        "name": "Bench Contacto",
        "permissions": ["invoices"],
    },
    ("POST", "/staff/clients"): {"email": "bench-staff-alta@ejemplo.com.ar", "name": "Bench Staff Alta"},
    ("POST", "/staff/clients/{client_id}/orders"): {"product_id": "hosting-avanzado", "billing_cycle": "annually"},
    ("PATCH", "/me/contacts/{contact_id}"): {"permissions": ["invoices", "tickets"]},
    ("POST", "/staff/services/{service_id}/activation"): {"action": "requirements_met"},
    ("POST", "/services/{service_id}/upgrades"): {"target": "hosting-avanzado"},
    ("POST", "/services/{service_id}/upgrades/{upgrade_id}/cancel"): {},
    ("POST", "/services/{service_id}/upgrade-requests"): {"message": "Necesito más espacio en disco."},
    ("POST", "/staff/upgrade-requests/{request_id}/resolve"): {"outcome": "done"},
    ("POST", "/staff/upgrades/{upgrade_id}/complete"): {},
    ("PUT", "/staff/servers/{server_name}"): {"upgrades_enabled": True},
    ("PATCH", "/me/alerts/settings"): {"preferences": {"billing": True}},
    ("POST", "/services/{service_id}/cancellation"): {"type": "end_of_period", "reason": "Ya no lo necesito.",
                                                      "password": "Segura123"},
    ("PATCH", "/services/{service_id}"): {"auto_renew": False},
    ("POST", "/services/{service_id}/backup-restore-requests"): {"note": "Necesito los emails de marzo."},
    ("POST", "/staff/services/{service_id}/termination"): {"reason": "Abuso: envío de spam (ticket 123)."},
    ("POST", "/me/orders"): {"product_id": "hosting-avanzado", "billing_cycle": "annually", "domain": "bench.com.ar"},
    ("POST", "/me/invoices/{invoice_id}/checkout"): {"provider": "mercadopago"},
    ("POST", "/staff/clients/{client_id}/quotes"): {
        "title": "Restauración del backup", "purpose": "backup_restore", "currency": "ARS",
        "lines": [{"description": "Restauración del último backup", "amount": 1500000}], "valid_until": "2099-12-31"},
    ("POST", "/me/quotes/{quote_id}/accept"): {},
    ("POST", "/me/tickets"): {"subject": "No carga mi sitio", "body": "Da error 500 desde esta mañana."},
    ("POST", "/me/tickets/{ticket_id}/replies"): {"body": "Sigue fallando."},
    ("POST", "/me/tickets/{ticket_id}/close"): {},
    ("POST", "/staff/inbound-emails/{email_key}/release"): {},
    ("POST", "/staff/tickets/{ticket_id}/account"): {"client_id": "set-in-the-run"},
    ("POST", "/staff/tickets/{ticket_id}/calls"): {"direction": "outbound", "duration_minutes": 12,
                                                   "summary": "Revisamos juntos la configuración del correo."},
    # A window in the future: the run replaces it with one starting tomorrow (see callback_window).
    ("POST", "/services/{service_id}/callback-requests"): {"window_start": "2099-01-05T13:00:00Z",
                                                          "window_end": "2099-01-05T15:00:00Z",
                                                          "phone": "011 4321-5678", "reason": "Configurar el correo."},
    ("POST", "/webhooks/tawkto"): {"event": "chat:transcript_created", "time": "2026-11-30T14:10:00.000Z",
                                   "chat": {"id": "bench-chat", "visitor": {"name": "Ana", "email": "ana@ejemplo.org"},
                                            "messages": [{"sender": {"t": "v"}, "type": "msg", "msg": "Hola",
                                                          "time": "2026-11-30T14:00:00.000Z"}]}},
    # The token is the Turnstile widget's: a caller with a fake Turnstile issues a fresh one for each call.
    ("POST", "/contact-requests"): {"name": "Ana Pérez", "email": "consulta@ejemplo.com", "phone": "011 4321-5678",
                                    "subject": "Consulta por planes", "message": "¿El plan Pyme incluye SSL?",
                                    "captcha_token": "issued-in-the-run"},
    ("POST", "/me/tickets/{ticket_id}/attachments"): {"filename": "captura.png", "content_type": "image/png",
                                                      "size": 2048},
    ("POST", "/staff/tickets/{ticket_id}/replies"): {"body": "Ya lo revisamos: era la caché."},
    ("POST", "/staff/tickets/{ticket_id}/notes"): {"body": "Revisar los logs del servidor."},
    ("PATCH", "/staff/tickets/{ticket_id}"): {"assignee": "Ana (soporte)"},
    ("POST", "/staff/tickets/{ticket_id}/merge"): {"into_ticket_id": "01KBV3ZQ7N6C8R3Y1XQ6K2M9T4"},  # set in the run
    ("POST", "/staff/tickets/{ticket_id}/attachments"): {"filename": "informe.pdf", "content_type": "application/pdf",
                                                         "size": 4096},
    ("POST", "/staff/clients/{client_id}/tickets"): {"subject": "Llamado: no llegan los correos",
                                                     "body": "El cliente llamó a las 11.", "channel": "phone"},
    ("PUT", "/staff/closed-days/{day}"): {"reason": "Jornada de la empresa"},
    ("PUT", "/staff/services/{service_id}/production"): {"production": True},
    ("POST", "/me/quotes/{quote_id}/decline"): {},
    ("POST", "/me/telegram-link"): {},
    # A made-up token: a caller with a real invitation sends the one its email carries.
    ("POST", "/invitations/accept"): {"token": "tokenDeLaInvitacionQueLlegoPorEmail00000000", "password": "Segura123"},
    ("POST", "/me/contacts/{contact_id}/invitation"): {},
    ("POST", "/me/invitations/accept"): {"token": "tokenDeLaInvitacionQueLlegoPorEmail00000000"},
    # Remote support: an offered start is set where the call is made (the slots depend on the day).
    ("POST", "/support/remote/bookings"): {"starts_at": "2099-01-02T13:00:00Z", "rustdesk_id": "123 456 789",
                                           "topic": "Configurar el correo en Outlook"},
    ("POST", "/me/remote-bookings/{booking_id}/reschedule"): {"starts_at": "2099-01-02T14:00:00Z"},
    ("POST", "/staff/remote-bookings/{booking_id}/operator"): {"operator": "operador-2"},
    ("POST", "/staff/remote-bookings/{booking_id}/outcome"): {"outcome": "done", "notes": "Se configuró Outlook."},
    ("POST", "/services/{service_id}/migration"): {
        "option": "we_migrate", "panel_type": "cpanel", "host": "server.viejo-hosting.com", "username": "usuario",
        "password": "Clave-Del-Servidor-Anterior-1", "webmail_caveat_accepted": True},
    ("POST", "/staff/migrations/{migration_id}/status"): {"status": "in_progress"},
    ("POST", "/me/remote-bookings/{booking_id}/cancel"): {},
    ("POST", "/me/migrations/{migration_id}/cancel"): {},
    ("POST", "/services/{service_id}/credentials/reveal"): {},
    ("POST", "/staff/services/{service_id}/downloads"): {"filename": "bienvenida.mp3", "content_type": "audio/mpeg",
                                                          "size": 64},
    ("PUT", "/staff/services/{service_id}/downloads/{download_id}"): {"title": "Locución de bienvenida"},
    ("POST", "/me/feature-requests"): {"title": "Exportar facturas a Excel",
                                       "description": "Poder bajar todas las facturas del año en un Excel."},
    ("POST", "/me/feature-requests/{feature_id}/vote"): {},
    ("PUT", "/staff/status/components/{component_id}"): {"name": "Servidor srv12 (hosting)", "group": "Servidores",
                                                         "servers": ["srv12.paneldecliente.com"]},
    ("POST", "/staff/status/incidents"): {"title": "Sitios lentos en srv12", "impact": "minor",
                                          "component_ids": ["srv12"], "message": "Investigamos demoras."},
    ("POST", "/staff/status/incidents/{incident_id}/updates"): {"status": "identified",
                                                                "message": "Un disco lento: lo cambiamos."},
    # A window days ahead: the matrix and the bench move it to the coming days (see World.body).
    ("POST", "/staff/status/maintenances"): {"title": "Actualización del kernel", "message": "Reinicio breve.",
                                             "component_ids": ["srv12"], "starts_at": "2099-01-02T05:00:00Z",
                                             "ends_at": "2099-01-02T06:00:00Z"},
    ("PATCH", "/staff/status/maintenances/{maintenance_id}"): {"title": "Actualización del kernel y parches"},
    ("POST", "/staff/status/maintenances/{maintenance_id}/updates"): {"status": "in_progress",
                                                                      "message": "Empezamos."},
    ("POST", "/staff/feature-requests/{feature_id}/status"): {"status": "planned", "public_note": "Para marzo."},
    ("POST", "/staff/feature-requests/{feature_id}/merge"): {"into_request_id": "01KBV3ZQ7N6C8R3Y1XQ6K2M9T4"},
    ("POST", "/staff/kb/articles"): {"slug": "configurar-outlook", "title": "Configurar el correo en Outlook",
                                     "category": "Correo", "body": "Servidor entrante IMAP 993, saliente SMTP 465."},
    ("PUT", "/staff/kb/articles/{slug}"): {
        "title": "Cuánto se paga por un upgrade", "category": "Uso de Paneldecliente",
        "body": "Solo la diferencia entre los dos planes por lo que queda del año."},
    ("POST", "/staff/kb/articles/{slug}/publish"): {},
    ("POST", "/staff/kb/articles/{slug}/unpublish"): {},
    ("POST", "/services/{service_id}/credentials/rotation"): {},
    ("POST", "/staff/migrations/{migration_id}/take"): {},
    ("POST", "/staff/migrations/{migration_id}/access"): {},
    ("POST", "/me/email-change"): {"new_email": "nuevo-email@ejemplo.com.ar", "password": "Segura123"},
    ("POST", "/me/email-change/confirm"): {"code": "123456"},
    # The second demo client (make dev's seed; the authorization matrix signs one up with this email).
    ("POST", "/services/{service_id}/transfer"): {"target_email": "otro@ejemplo.com.ar", "password": "Segura123"},
    ("POST", "/me/transfers/{transfer_id}/confirm"): {"password": "Segura123"},
    ("POST", "/me/transfers/{transfer_id}/accept"): {"password": "Segura123"},
    ("POST", "/me/transfers/{transfer_id}/decline"): {},
    ("POST", "/me/transfers/{transfer_id}/cancel"): {},
    ("POST", "/staff/transfers"): {"ticket_id": "set-in-the-run", "service_id": "set-in-the-run",
                                   "target_email": "otro@ejemplo.com.ar"},
    ("POST", "/staff/transfers/{transfer_id}/approve"): {"verification_note": "Llamamos al titular: lo confirma."},
    ("POST", "/staff/transfers/{transfer_id}/reject"): {"reason": "No pudimos verificar al titular."},
    ("POST", "/webhooks/telegram"): {"update_id": 700000001, "message": {
        "message_id": 1, "date": 1764510000, "text": "Hola", "chat": {"id": 424242001, "type": "private"},
        "from": {"id": 424242001, "is_bot": False, "first_name": "Ana"}}},
}


# Query strings of the routes that need one (a month's figures: one Query of its partition).
QUERIES = {("GET", "/staff/tickets/stats"): lambda today: {"from": [today.replace(day=1).isoformat()],
                                                           "to": [today.isoformat()]},
           # The coming week's remote support (one Query of a month's operator-slots, two when it spans two).
           ("GET", "/support/remote/slots"): lambda today: {"from": [today.isoformat()],
                                                            "to": [(today + timedelta(days=7)).isoformat()]},
           ("GET", "/staff/remote-support/agenda"): lambda today: {"day": [(today + timedelta(days=1)).isoformat()]},
           ("GET", "/kb/search"): lambda today: {"q": ["¿Cuánto pago por un upgrade?"]},
           ("GET", "/kb/suggest"): lambda today: {"subject": ["Quiero dar de baja el hosting"]},
           # Not suppressed in the bench's data: its 404 is the read of one item.
           ("DELETE", "/staff/email-suppressions"): lambda today: {"address": ["rebota@ejemplo.com.ar"]}}


# Plan changes read more than one item by nature: the service, its product and the product's targets
# (one BatchGetItem), the server's flags; ordering also checks the renewal invoice, then writes once.
READ_LIMITS = {"/services/{service_id}/upgrade-options": 4,
               # Self-diagnostics, a new run: the service with the caller's rights (one BatchGetItem), the last
               # result (one GetItem), the run counted (its counter read, one transaction), the result saved.
               "/services/{service_id}/diagnostics": 5,
               # The newest 50 incidents and maintenance (one Query), the page's document (one GetItem), and the
               # active ones older than those (one BatchGetItem, when there are).
               "/staff/status": 3,
               # The services (one Query or the service with the caller's rights), then the status page's document
               # (one GetItem): what touches each service's server.
               "/me/services": 2, "/me/services/{service_id}": 2, "/services/{service_id}/upgrades": 2,
               # The login's marker and memberships (one Query), then their accounts and contacts (one BatchGetItem).
               "/me/accounts": 2,
               # The closed days (one Query), the taken operator-slots (one Query per local month: two when the
               # range spans two).
               "/support/remote/slots": 3,
               # The day's operator-slots (one Query), then their bookings (one BatchGetItem, when there are any).
               "/staff/remote-support/agenda": 2,
               # The service, its newest credential reveals (one Query of its partition), the account's people (one
               # Query): whether each who saw them still may.
               "/services/{service_id}/credential-reveals": 3,
               # The service with the calling contact (one BatchGetItem), then its downloads (one Query of its
               # partition) or the one asked for (one GetItem).
               "/services/{service_id}/downloads": 2, "/services/{service_id}/downloads/{download_id}": 2,
               # Staff's queue of migrations to do: one Query for each of the 8 by_due shards.
               "/staff/migrations": 8,
               # The migration (staff only), then its reveals (one Query of its partition).
               "/staff/migrations/{migration_id}/reveals": 2,
               # The service with its cancellation (one BatchGetItem), then the client's invoices (one Query).
               "/services/{service_id}/cancellation-preview": 2,
               # The staff queue reads every open ticket's entry on by_due: one Query for each of its 8 shards.
               "/staff/tickets": 8,
               # The first-response figures of the last 90 days: one Query a local month, 4 (5 when the window
               # starts on a month's last day: 31 January to 1 May).
               "/me/support/response-times": 5,
               # The service (one BatchGetItem), then the plan in force (the account's services, their products),
               # and the catalog's support plans when the plan lacks a channel (the offer of a plan that has it).
               "/services/{service_id}/support-channels": 4,
               # Staff's queue of open transfers: one Query for each of the 8 by_due shards, then the sources'
               # names (one BatchGetItem).
               "/staff/transfers": 9,
               # The person's Telegram (one GetItem), then whether the plan in force has Telegram (a Query and a
               # BatchGetItem).
               "/me/telegram-link": 3}
WRITE_LIMITS = {"/staff/services/{service_id}/downloads/{download_id}": 3,  # removal: the service, the file, a write
                # A status change: the page's document (consistent), the incident or maintenance, one transaction.
                "/staff/status/incidents/{incident_id}/updates": 3, "/staff/status/maintenances/{maintenance_id}": 3,
                "/staff/status/maintenances/{maintenance_id}/updates": 3,
                "/services/{service_id}/upgrades": 6, "/services/{service_id}/upgrades/{upgrade_id}/cancel": 4,
                "/services/{service_id}/upgrade-requests": 3,
                # The change and its service (staff name only the change), then one write.
                "/staff/upgrades/{upgrade_id}/complete": 3,
                # A never-activated service: its unpaid order invoice is found among the client's (one Query).
                "/staff/services/{service_id}/termination": 3,
                # The quote with the caller's rights, the client (its credit pays first), then one transaction.
                "/me/quotes/{quote_id}/accept": 3,
                # Opening a ticket: the client (and the service named, if any) in one BatchGetItem, the plan in
                # force (the account's services, one Query; their products, one BatchGetItem), the closed days
                # (one Query), then one transaction (ticket, message, event).
                "/me/tickets": 5, "/staff/clients/{client_id}/tickets": 5,
                # The conversation (one Query), the closed days (one Query), one transaction; a reply that
                # reopens a closed ticket (as here: the close route runs first) reads the plan in force again
                # (a Query and a BatchGetItem).
                "/me/tickets/{ticket_id}/replies": 5,
                "/staff/tickets/{ticket_id}/replies": 3, "/staff/tickets/{ticket_id}": 3,
                # Both conversations (one Query each), then one transaction (the duplicate's messages copied).
                "/staff/tickets/{ticket_id}/merge": 3,
                # The conversation, the client, the plan in force (a Query, a BatchGetItem), the closed days, one
                # write.
                "/staff/tickets/{ticket_id}/account": 6,
                # A logged call is a staff reply: the conversation, the closed days, one transaction.
                "/staff/tickets/{ticket_id}/calls": 3,
                # A stranger's form: both rate counters (one BatchGetItem), who the address is (one), the closed
                # days, one transaction (a client's address adds its account and the plan in force).
                "/contact-requests": 4,
                # The service and the plan in force (its check), then opening the ticket: the client and the
                # service, the closed days, one transaction.
                "/services/{service_id}/callback-requests": 6,
                # The email's record, who sent it, the acknowledgement counter, the closed days, one transaction.
                "/staff/inbound-emails/{email_key}/release": 5,
                # A code: the person's Telegram, the plan in force (a Query, a BatchGetItem), one transaction (the
                # code, the person, the previous code deleted). Unlinking: the person, its chat, one transaction.
                "/me/telegram-link": 4,
                # An invitation: the account's invitations this hour, whether the address signs in already (one
                # Query), one transaction (counter, contact, marker or membership, invitation, event), the holder's
                # name (one read), then the email once (its claim, the suppression check, its record).
                "/me/contacts": 7, "/me/contacts/{contact_id}/invitation": 7,
                # A removal: the contact, its login's marker and memberships (one Query), one transaction.
                "/me/contacts/{contact_id}": 3,
                # The invitation, its contact, one transaction (the login is Cognito's).
                "/invitations/accept": 3,
                # The person, the address's marker, the login's password attempts, the pending change, its codes
                # this hour, one write, then the code's email once (claim, suppression check, record).
                "/me/email-change": 9,
                # The person, the change, the try counted, the login's memberships (one Query, and their contacts
                # when it has some), one transaction, then the notice once.
                "/me/email-change/confirm": 8,
                # The service, its account's invoices (blockers), the holder, the password attempts, whose the
                # address is (marker, then client), one transaction.
                "/services/{service_id}/transfer": 7, "/staff/transfers": 7,
                # The transfer, both accounts (one BatchGetItem), the service, its invoices, the source's
                # contacts (their scopes), one transaction.
                "/staff/transfers/{transfer_id}/approve": 6, "/staff/transfers/{transfer_id}/reject": 3,
                "/me/transfers/{transfer_id}/accept": 5, "/me/transfers/{transfer_id}/confirm": 5,
                # Remote support: the closed days, the taken operator-slots at that start, the service (when one is
                # named), one transaction, then the confirmation once (claim, suppression check, record).
                "/support/remote/bookings": 7,
                # A move: the closed days, the booking, the account's marker, the slots at the new start, one
                # transaction, the confirmation. A cancellation: the booking, the marker, one transaction, the email.
                "/me/remote-bookings/{booking_id}/reschedule": 8, "/me/remote-bookings/{booking_id}/cancel": 6,
                # A migration: the service, one transaction (the access encrypted before, by KMS). Staff: the
                # migration (and its access, for a step that ends it or a reveal), one transaction.
                "/services/{service_id}/migration": 2, "/me/migrations/{migration_id}/cancel": 3,
                "/staff/migrations/{migration_id}/take": 2, "/staff/migrations/{migration_id}/status": 3,
                "/staff/migrations/{migration_id}/access": 3,
                # Staff: the booking, the account's marker, one transaction.
                "/staff/remote-bookings/{booking_id}/operator": 3, "/staff/remote-bookings/{booking_id}/outcome": 3}


def _offered_starts(call, holder) -> list[str]:
    """The remote support starts offered in the coming week (they depend on the day the bench runs)."""
    slots = call("GET", "/support/remote/slots", "/support/remote/slots", holder, None,
                 QUERIES[("GET", "/support/remote/slots")](datetime.now(UTC).date()))[1]
    return [s["starts_at"] for s in slots]


def _channel_fixtures(session, stack, runtime):
    """What the channel routes act on: an email in quarantine (its release) and one filed as a ticket (its
    original), through the template's receipt rule; Cloudflare Turnstile faked (the contact form)."""
    import hashlib
    from email.message import EmailMessage

    from devstack.fake_turnstile import FakeTurnstile
    from devstack.mail_receiving import ReceiptRules
    from shared.dal.tickets import Tickets

    rules, support, keys = ReceiptRules(stack, runtime, session), "tickets@soporte.paneldecliente.com", []
    for subject, verdicts in (("Oferta", {"spam": "FAIL"}), ("Consulta", None)):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "bench@otro.com", support, subject
        message["Message-ID"] = f"<bench-{subject.lower()}@otro.com>"
        message.set_content("Hola.")
        rules.deliver(message.as_bytes(), [support], verdicts)
        keys.append(hashlib.sha256(message["Message-ID"].encode()).hexdigest())
    filed = Tickets().find_inbound(keys[1])
    (first,) = Tickets().conversation(filed.ticket_id)[1]
    turnstile = FakeTurnstile("bench-turnstile-secret").start()
    secret = json.dumps({"turnstile_secret": "bench-turnstile-secret"})
    session.client("secretsmanager").put_secret_value(SecretId=stack.refs["ContactFormSecrets"], SecretString=secret)
    from devstack.runtime import ENV_OVERRIDES

    os.environ["TURNSTILE_API_URL"] = ENV_OVERRIDES["TURNSTILE_API_URL"] = turnstile.url
    return {"email_key": keys[0], "emailed_ticket": filed.ticket_id, "message_id": first.message_id}, turnstile


def _full_support_plan(call, staff: dict, client_id: str) -> None:
    """The demo account on the Full support plan (a call-back needs it), paid as a verified payment would."""
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.clock import SystemClock
    from shared.dal.accounts import Accounts
    from shared.dal.billing import Billing
    from shared.money import Currency, Money

    order = call("POST", "/staff/clients/{client_id}/orders", f"/staff/clients/{client_id}/orders", staff,
                 {"product_id": "soporte-full", "billing_cycle": "monthly"})[1]
    invoice = Billing().get_invoice(order["invoice"]["invoice_id"])
    paid = Money(int(invoice.total), Currency(invoice.currency))
    settle(Billing(), Accounts(), SystemClock(), ProviderPayment(
        "mercadopago", f"bench-{invoice.invoice_id}", "approved", paid, invoice.invoice_id, "approved"))


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


# ---------------------------------------------------------------------------------------- cold start


def _api_functions(template: dict) -> set[str]:
    return {logical_id for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
            and any(e.get("Type") == "Api" for e in resource["Properties"].get("Events", {}).values())}


def _functions(template: dict) -> dict[str, tuple[str, dict[str, str]]]:
    """logical id -> (handler module, environment with every variable resolved to a dummy string)."""
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    out = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        variables = {**glob, **props.get("Environment", {}).get("Variables", {})}
        # Refs and GetAtts have no value outside a deployment; nothing connects at import, any string does.
        env = {k: v if isinstance(v, str) else f"bench-{k.lower()}" for k, v in variables.items()}
        out[logical_id] = (props["Handler"].rsplit(".", 1)[0], env)
    return out


def _probe(work: str, env: dict[str, str]) -> dict:
    code = _PROBE.format(paths=[str(ROOT), str(ROOT / "functions")], work=work, heavy=HEAVY_MODULES)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"probe failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _beyond(names: list[str], floor_names: set[str], ours: set[str]) -> str:
    """The modules a function loads at init that the floor does not: how many are ours, the rest per package."""
    extra = [name for name in names if name not in floor_names]
    mine = sum(1 for name in extra if name.split(".")[0] in ours)
    packages = collections.Counter(name.split(".")[0] for name in extra if name.split(".")[0] not in ours)
    theirs = ", ".join(f"{package} ×{count}" if count > 1 else package for package, count in sorted(packages.items()))
    return f"{mine} of ours" + (f"; {theirs}" if theirs else "")


def cold_starts(repeat: int) -> list[str]:
    from devstack.aws import FAKE_CREDENTIALS
    from devstack.cfn import load_template

    base_env = {
        "PATH": os.environ.get("PATH", ""),
        **FAKE_CREDENTIALS,
        "TABLE_NAME": "bench-table",
        # As in Lambda: no ~/.aws files for botocore to find and parse, and the function's name set (what
        # shared.init_phase looks for).
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    template = load_template()
    functions, api = _functions(template), _api_functions(template)
    references = {BASELINE: ('import boto3; boto3.client("dynamodb", region_name="us-east-1")', base_env),
                  FLOOR: (FLOOR_WORK, base_env), LEAN_FLOOR: (LEAN_FLOOR_WORK, base_env)}
    targets = dict(references)
    for logical_id, (module, env) in functions.items():
        # The handler's import plus its DynamoDB client (when it has one), like the floor's one client: our
        # functions create every client on first use, and a cold invocation pays for PynamoDB's before answering.
        work = (
            f"__import__({module!r})\nif 'pynamodb' in sys.modules:\n"
            "    from shared.dal.table import TableItem; TableItem._get_connection().connection.client"
        )
        targets[logical_id] = (work, {**base_env, **env, "AWS_LAMBDA_FUNCTION_NAME": logical_id})
    names = list(targets)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    # Round 0 is a warm-up, discarded: it writes the .pyc files and fills the page cache, so that every
    # measured round starts from the same state. References and functions share each round (rotated) so
    # that a noisy moment of the machine hits them alike.
    for round_no in range(repeat + 1):
        print(f"cold start: round {round_no}/{repeat}", file=sys.stderr)
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            result = _probe(*targets[name])
            if round_no:
                samples[name].append(result)

    def stats(name: str) -> tuple[float, str]:
        """Median ms, and the min–max range: a ratio near the target within the range is a toss-up."""
        ms = [s["ms"] for s in samples[name]]
        return statistics.median(ms), f"{min(ms):.0f}–{max(ms):.0f}"

    def ratio_to(name: str, reference: str) -> float:
        return statistics.median(f["ms"] / b["ms"] for f, b in zip(samples[name], samples[reference], strict=True))

    (baseline_ms, baseline_range), (floor_ms, floor_range) = stats(BASELINE), stats(FLOOR)
    lean_ms, lean_range = stats(LEAN_FLOOR)
    baseline_modules = samples[BASELINE][-1]["modules"]
    floor_names = set(samples[FLOOR][-1]["names"])
    ours = {"shared", *(module.split(".")[0] for module, _ in functions.values())}
    lines = [
        f"## Cold start: handler import in a fresh interpreter (median of {repeat})",
        "",
        f'Baseline: `import boto3; boto3.client("dynamodb")` = {baseline_ms:.0f} ms (range {baseline_range}), '
        f"{baseline_modules} modules loaded. Idiomatic floor (issue 17 §5: a Powertools `APIGatewayRestResolver("
        f"enable_validation=True)` with one pydantic body, one PynamoDB model and one boto3 client) = {floor_ms:.0f} "
        f"ms (range {floor_range}), {ratio_to(FLOOR, BASELINE):.2f}× the baseline. Lean floor (the same with "
        f"PynamoDB's own client instead of boto3's, as our functions reach DynamoDB) = {lean_ms:.0f} ms (range "
        f"{lean_range}), {ratio_to(LEAN_FLOOR, BASELINE):.2f}× the baseline.",
        "",
        "Ratios: the median of the per-round ratios (function ÷ reference measured in the same round), which",
        f"cancels most of the machine's drift between rounds. Targets: ≤ {COLD_TARGET}× the baseline; for the API",
        f"functions also ≤ {FLOOR_TARGET}× the idiomatic floor. \"Beyond the floor\": the modules a function loads at",
        "init that the idiomatic floor does not.",
        "",
        "| Function | Handler module | Median ms | Range ms | × baseline | | × floor | | × lean floor "
        "| Modules vs baseline | Heavy imports | Beyond the floor |",
        "|---|---|---:|---:|---:|---|---:|---|---:|---:|---|---|",
    ]
    for name in names[len(references):]:
        (ms, ms_range), last = stats(name), samples[name][-1]
        ratio, floor_ratio = ratio_to(name, BASELINE), ratio_to(name, FLOOR)
        floor_mark = mark(floor_ratio <= FLOOR_TARGET) if name in api else "(not an API function)"
        lines.append(
            f"| {name} | `{functions[name][0]}` | {ms:.0f} | {ms_range} | {ratio:.2f}× | {mark(ratio <= COLD_TARGET)} "
            f"| {floor_ratio:.2f}× | {floor_mark} | {ratio_to(name, LEAN_FLOOR):.2f}× "
            f"| {last['modules'] - baseline_modules:+d} | {', '.join(last['heavy']) or '-'} "
            f"| {_beyond(last['names'], floor_names, ours)} |"
        )
    api_ratios = {name: (ratio_to(name, FLOOR), ratio_to(name, LEAN_FLOOR)) for name in api}
    within = sum(1 for floor, _ in api_ratios.values() if floor <= FLOOR_TARGET)
    within_lean = sum(1 for _, lean in api_ratios.values() if lean <= FLOOR_TARGET)
    lines += [
        "",
        f"API functions within {FLOOR_TARGET}× the idiomatic floor: {within} of {len(api)} "
        f"({min(f for f, _ in api_ratios.values()):.2f}–{max(f for f, _ in api_ratios.values()):.2f}×); "
        f"within {FLOOR_TARGET}× the lean floor: {within_lean} of {len(api)} "
        f"({min(lean for _, lean in api_ratios.values()):.2f}–{max(lean for _, lean in api_ratios.values()):.2f}×).",
    ]
    return lines


# ------------------------------------------------------------------------------ DynamoDB requests


class DynamoDbCounter:
    """WSGI middleware in front of moto: records every DynamoDB API call that reaches the server, and the
    items each Query or Scan read (its ScannedCount: what DynamoDB bills, before any filter).

    Counting at the server sees every client of the process: boto3's and PynamoDB's, which builds its
    own botocore session (a hook on boto3's default session would miss it).
    """

    def __init__(self, app):
        self.app = app
        self.operations: list[str] = []
        self.items_read = 0

    def clear(self) -> None:
        self.operations.clear()
        self.items_read = 0

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_20120810."):  # not DynamoDBStreams_…, not other services
            return self.app(environ, start_response)
        operation = target.split(".", 1)[1]
        self.operations.append(operation)
        body = list(self.app(environ, start_response))
        if operation in ("Query", "Scan"):
            try:
                self.items_read += int(json.loads(b"".join(body)).get("ScannedCount", 0))
            except ValueError:
                pass  # an error answer
        return body


def _operations_text(operations: list[str], items_read: int) -> str:
    """GetItem ×2, BatchGetItem: runs of the same call shortened; what Queries and Scans read."""
    runs: list[list] = []
    for operation in operations:
        if runs and runs[-1][0] == operation:
            runs[-1][1] += 1
        else:
            runs.append([operation, 1])
    text = ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in runs) or "-"
    if any(op in ("Query", "Scan") for op in operations):
        text += f" ({items_read} items read)"
    return text


@dataclass
class Row:
    route: str  # as shown
    method: str
    role: str
    status: int
    operations: list[str]
    items_read: int
    limit: int
    max_items_read: int | None = None  # a Query that must not read the whole partition
    wrong: str | None = None  # the answer was not the expected one

    def line(self) -> str:
        target = "1" if self.limit == 1 else f"≤ {self.limit}"
        ok = 200 <= self.status < 300 and len(self.operations) <= self.limit and self.wrong is None
        if self.max_items_read is not None:
            target += f"; reads < {self.max_items_read + 1} items"
            ok = ok and self.items_read <= self.max_items_read
        operations = _operations_text(self.operations, self.items_read)
        if self.wrong:
            operations += f"; WRONG ANSWER: {self.wrong}"
        return (f"| {self.route} | {self.method} | {self.role} | {self.status} | {len(self.operations)} "
                f"| {operations} | {target} | {mark(ok)} |")


def dynamodb_requests() -> list[str]:
    import boto3

    from devstack.aws import EmbeddedAws
    from devstack.cfn import provision
    from devstack.gateway import proxy_event, routes_of
    from devstack.runtime import ENV_OVERRIDES, Runtime, ensure_import_path

    ENV_OVERRIDES["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the fan-out's INFO lines would bury the progress
    print("dynamodb: starting the embedded AWS and seeding", file=sys.stderr)
    aws = EmbeddedAws().start()
    aws.export()
    counter = DynamoDbCounter(aws._server.app)
    aws._server.app = counter  # werkzeug reads server.app on each request
    fakes: list = []
    try:
        session = boto3.Session(region_name="us-east-1")
        stack = provision(session)
        # Like tests/integration/conftest.py. Before the first import of shared.dal: the table name
        # is read at import.
        for function in stack.functions.values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        ensure_import_path()
        from devstack.seed import seed
        from shared.dal.accounts import Accounts, EmailMarker
        from shared.dal.billing import Billing
        from shared.dal.services import Services
        from shared.logins import CognitoLogins

        seed(CognitoLogins(session.client("cognito-idp"), stack.refs["UserPool"]), session.client("kms"))
        from devstack.seed import seed_knowledge_base

        seed_knowledge_base(session.client("s3"), stack.refs["DocumentsBucket"])
        client_id = EmailMarker.get(*EmailMarker.key("demo@ejemplo.com.ar")).client_id
        services = Services().list_services(client_id)
        ids = {
            "client_id": client_id,
            "service_id": services[0].service_id,
            "invoice_id": Billing().list_invoices(client_id)[0].invoice_id,
            "contact_id": Accounts().list_contacts(client_id)[0].contact_id,
            "server_name": "srv12.paneldecliente.com",
            # Set from the answers of the routes that create them (they sort before the routes that use them).
            "upgrade_id": "none",
            "request_id": "none",
            "quote_id": "none",
            "ticket_id": "none",
            "other_ticket_id": "none",  # the one staff open for the account: the merge's duplicate
            "attachment_id": "none",  # uploaded to the ticket before the first download route
            "transfer_id": "none",  # the demo holder's transfer to the second demo client, once asked
            "day": "2099-01-02",
            "booking_id": "none",  # the demo holder's remote support, booked before the first route naming it
            "migration_id": "none",  # the demo hosting's migration, once asked
            "slug": "upgrade-de-servicio",  # a help centre article (seed_knowledge_base)
            "download_id": "none",  # a file of the demo hosting, uploaded before the first route naming it
            "feature_id": "none",  # the demo holder's feature request, once proposed
            "component_id": "dns",  # a seeded component no incident names (its removal comes last)
            "incident_id": "none",  # staff's incident, once opened
            "maintenance_id": "none",  # staff's maintenance, once scheduled
        }
        # The checkout opens at Mercado Pago (a loopback fake); the invoice's PDF exists (the documents worker's).
        from documents.invoice_documents import Issuer, SequenceNumbering, make_document

        from devstack.fake_mercadopago import FakeMercadoPago
        from devstack.stack import LOCAL_PAYMENT_SECRETS

        session.client("secretsmanager").put_secret_value(SecretId=stack.refs["PaymentSecrets"],
                                                          SecretString=json.dumps(LOCAL_PAYMENT_SECRETS))
        mercadopago = FakeMercadoPago(LOCAL_PAYMENT_SECRETS["mercadopago_access_token"],
                                      LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"]).start()
        fakes.append(mercadopago)
        os.environ["MERCADOPAGO_API_URL"] = ENV_OVERRIDES["MERCADOPAGO_API_URL"] = mercadopago.url
        # The self-diagnostics ask a loopback DNS server and website about the demo hosting's domain.
        from devstack.fake_web_host import FakeWebHost, demo_zone, diagnostics_env

        web_host = FakeWebHost(demo_zone(stack.parameters["Nameservers"].split(","))).start()
        fakes.append(web_host)
        ENV_OVERRIDES.update(diagnostics_env(web_host))
        os.environ.update(diagnostics_env(web_host))
        make_document(Billing(), session.client("s3"), stack.refs["DocumentsBucket"],
                      SequenceNumbering(Billing(), "0001"), Billing().get_invoice(ids["invoice_id"]), None,
                      Issuer("Paneldecliente", None, (), "0001"))
        # The staff activation step needs a manual service waiting for its requirements (the demo VPS).
        vps = next(s for s in services if s.activation_mode == "manual")
        vps.activation_state = "awaiting_requirements"
        vps.save()

        # The counter must see PynamoDB's calls as well as boto3's, or a zero would read as a success.
        counter.clear()
        Accounts().get_client(client_id)
        session.client("dynamodb").describe_table(TableName=stack.refs["Table"])
        if counter.operations != ["GetItem", "DescribeTable"]:
            raise RuntimeError(f"the DynamoDB counter is blind: saw {counter.operations}")

        claims = {
            "holder": {
                "sub": "bench-holder",
                "token_use": "id",
                "email": "demo@ejemplo.com.ar",
                "custom:client_id": client_id,
            },
            "staff": {
                "sub": "bench-staff",
                "token_use": "id",
                "email": "staff@ejemplo.com.ar",
                "cognito:groups": "staff",
            },
        }
        runtime = Runtime(stack)
        routes = {(r.method, r.resource): r for r in routes_of(stack)}
        channel_ids, turnstile = _channel_fixtures(session, stack, runtime)
        fakes.append(turnstile)
        ids.update(channel_ids)

        def call(method: str, resource: str, path: str, claims_: dict | None, body: dict | None = None,
                 query: dict[str, list[str]] | None = None):
            """One API call through its real handler: (status, answer, DynamoDB operations, items read)."""
            route = routes[(method, resource)]
            event = proxy_event(
                method=method, resource=resource, path=path, path_parameters=route.match(method, path),
                query=query, headers={"Content-Type": "application/json"},
                body=None if body is None else json.dumps(body), claims=claims_,
            )
            counter.clear()
            result = runtime.invoke(route.function, event)
            body = result.get("body") or "null"
            answer = body if body.lstrip().startswith("<") else json.loads(body)  # the Atom feed is XML
            return int(result["statusCode"]), answer, list(counter.operations), counter.items_read

        _full_support_plan(call, claims["staff"], client_id)
        rows: list[Row] = []
        # Deletions last (they remove what other routes read); webhooks are left out: they only verify a
        # signature and queue (no DynamoDB request), and the settlement is measured by the latency bench.
        measured = [r for r in routes_of(stack) if not r.resource.startswith("/webhooks/")]
        # The demo hosting's cancellation after everything else it would block (plan changes): its preview,
        # then filing it, then reading it (withdrawn with the other deletions, last).
        order = {("POST", "/staff/clients/{client_id}/quotes"): -1,  # the quote the client routes read
                 ("POST", "/me/tickets"): -1,  # the ticket the other ticket routes read
                 # A remote support booking: moved, then cancelled, then the account books again.
                 ("POST", "/me/remote-bookings/{booking_id}/reschedule"): 4,
                 ("POST", "/me/remote-bookings/{booking_id}/cancel"): 5,
                 ("POST", "/support/remote/bookings"): 6,
                 # A migration of the demo hosting: asked first, taken, revealed, its reveals, moved on; the
                 # client's cancellation comes after it started (its 409 is the rule's).
                 ("POST", "/services/{service_id}/migration"): -1,
                 ("POST", "/staff/migrations/{migration_id}/take"): 1,
                 ("POST", "/staff/migrations/{migration_id}/access"): 2,
                 ("GET", "/staff/migrations/{migration_id}/reveals"): 3,
                 ("POST", "/staff/migrations/{migration_id}/status"): 4,
                 ("POST", "/me/migrations/{migration_id}/cancel"): 5,
                 ("GET", "/services/{service_id}/cancellation-preview"): 1,
                 ("POST", "/services/{service_id}/cancellation"): 2,
                 ("GET", "/services/{service_id}/cancellation"): 3}
        domain = next(s for s in services if s.product_kind == "domain")
        hosting = next(s for s in services if s.product_kind == "hosting" and s.status == "active")
        on_service = {"/activation": vps, "/termination": vps, "/services/{service_id}": domain, "/migration": hosting}
        for route in sorted(measured, key=lambda r: (r.method == "DELETE", order.get((r.method, r.resource), 0),
                                                     r.resource, r.method)):
            role = "public" if route.public else "staff" if route.resource.startswith("/staff/") else "holder"
            if route.resource.endswith("/attachments/{attachment_id}") and ids["attachment_id"] == "none":
                ids["attachment_id"] = _ticket_attachment(call, session.client("s3"), stack.refs["AttachmentsBucket"],
                                                          claims["holder"], ids["ticket_id"])
            if "{download_id}" in route.resource and ids["download_id"] == "none":
                ids["download_id"] = _service_download(call, session.client("s3"), stack.refs["DownloadsBucket"],
                                                       claims["staff"], ids["service_id"])
            if "{booking_id}" in route.resource and ids["booking_id"] == "none":
                ids["booking_id"] = call("POST", "/support/remote/bookings", "/support/remote/bookings",
                                         claims["holder"], {**BODIES[("POST", "/support/remote/bookings")],
                                                            "starts_at": _offered_starts(call, claims["holder"])[0]}
                                         )[1]["booking_id"]
            target = next((s for end, s in on_service.items() if route.resource.endswith(end)), None)
            path = route.resource.format(**{**ids, "service_id": target.service_id} if target else ids)
            body = BODIES.get((route.method, route.resource))
            if (route.method, route.resource) in (("POST", "/services/{service_id}/cancellation"),
                                                  ("POST", "/services/{service_id}/transfer"),
                                                  ("POST", "/me/email-change")):
                body = {**body, "password": "Demo1234"}  # the demo holder's
            if (route.method, route.resource) == ("POST", "/staff/transfers"):  # from the holder's own ticket
                body = {**body, "ticket_id": ids["ticket_id"], "service_id": ids["service_id"]}
            if route.resource == "/me/invoices/{invoice_id}/checkout":  # Mercado Pago charges pesos: an ARS one
                ordered = call("POST", "/me/orders", "/me/orders", claims["holder"],
                               {**BODIES[("POST", "/me/orders")], "domain": "checkout-bench.com.ar"})[1]
                path = f"/me/invoices/{ordered['invoice']['invoice_id']}/checkout"
            if route.resource == "/me/quotes/{quote_id}/decline":  # the other one was accepted: a new quote
                quote = BODIES[("POST", "/staff/clients/{client_id}/quotes")]
                made = call("POST", "/staff/clients/{client_id}/quotes", f"/staff/clients/{client_id}/quotes",
                            claims["staff"], quote)[1]
                path = f"/me/quotes/{made['quote_id']}/decline"
            if route.resource == "/staff/tickets/{ticket_id}/account":  # the emailed guest ticket, to the demo's
                path, body = f"/staff/tickets/{ids['emailed_ticket']}/account", {"client_id": client_id}
            if route.resource == "/staff/tickets/{ticket_id}/messages/{message_id}/original":
                path = f"/staff/tickets/{ids['emailed_ticket']}/messages/{ids['message_id']}/original"
            if body is not None and "captcha_token" in body:  # the Turnstile widget's token is good once
                body = {**body, "captcha_token": turnstile.issue()}
            if route.resource in ("/support/remote/bookings", "/me/remote-bookings/{booking_id}/reschedule"):
                body = {**body, "starts_at": _offered_starts(call, claims["holder"])[2]}  # another offered start
            if body is not None and "window_start" in body:  # a call-back window starting tomorrow
                start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
                body = {**body, "window_start": start.isoformat(),
                        "window_end": (start + timedelta(hours=2)).isoformat()}
            if route.resource == "/staff/tickets/{ticket_id}/merge":
                # The account's other ticket (staff opened it) joins the holder's, which stays open.
                path = f"/staff/tickets/{ids['other_ticket_id']}/merge"
                body = {"into_ticket_id": ids["ticket_id"]}
            if route.resource == "/staff/upgrades/{upgrade_id}/complete":
                # Only a change whose server command is still pending can be completed by hand.
                from shared.dal.upgrades import Upgrade

                stuck = Upgrade.get(*Upgrade.key(ids["upgrade_id"]))
                stuck.status = "applying"
                stuck.save()
            query = QUERIES.get((route.method, route.resource))
            status, answer, operations, items_read = call(
                route.method, route.resource, path, None if route.public else claims[role], body,
                query(datetime.now(UTC).date()) if query else None)
            limit = READ_LIMITS.get(route.resource, 1) if route.method == "GET" else WRITE_LIMITS.get(route.resource, 2)
            rows.append(Row(f"`{route.resource}`", route.method, role, status, operations, items_read, limit))
            if isinstance(answer, dict) and "upgrade" in answer:
                ids["upgrade_id"] = answer["upgrade"]["upgrade_id"]
            if (route.method, route.resource) == ("POST", "/me/feature-requests") and isinstance(answer, dict):
                ids["feature_id"] = answer.get("request_id", "none")
                continue
            if (route.method, route.resource) == ("POST", "/staff/status/incidents") and isinstance(answer, dict):
                ids["incident_id"] = answer.get("incident_id", "none")
            if (route.method, route.resource) == ("POST", "/staff/status/maintenances") and isinstance(answer, dict):
                ids["maintenance_id"] = answer.get("maintenance_id", "none")
            if isinstance(answer, dict) and "request_id" in answer:
                ids["request_id"] = answer["request_id"]
            if isinstance(answer, dict) and "quote_id" in answer and route.method == "POST" and "staff" in path:
                ids["quote_id"] = answer["quote_id"]
            if (route.method, route.resource) == ("POST", "/services/{service_id}/transfer") and isinstance(
                    answer, dict):
                ids["transfer_id"] = answer.get("transfer_id", "none")
            if (route.method, route.resource) == ("POST", "/services/{service_id}/migration") and isinstance(
                    answer, dict):
                ids["migration_id"] = answer.get("migration_id", "none")
            if (route.method, route.resource) == ("POST", "/me/tickets") and isinstance(answer, dict):
                ids["ticket_id"] = answer.get("ticket_id", "none")
            if (route.method, route.resource) == ("POST", "/staff/clients/{client_id}/tickets") and isinstance(
                    answer, dict):
                ids["other_ticket_id"] = answer.get("ticket_id", "none")
        worst = worst_paths(call, runtime, claims["holder"], client_id)
        rows.extend(worst)
    finally:
        for fake in fakes:
            fake.stop()
        aws.stop()

    lines = [
        "## DynamoDB requests per endpoint (one call each, demo data)",
        "",
        "| Route | Method | Role | Status | DynamoDB requests | Operations | Target | |",
        "|---|---|---|---:|---:|---|---|---|",
        *(row.line() for row in rows),
        "",
        f"Worst case: {WORST_CASE_NOTE}",
    ]
    return lines


# Worst realistic paths: who calls, and on what data (the footnote of the table).
WORST_CONTACT = {"email": "bench-peor@ejemplo.com.ar", "name": "Contacto con pedidos", "phone": "+54 9 11 5555-0101",
                 "whatsapp_opt_in": True, "permissions": ["orders", "services"]}
HOLDER_ALERTS, CONTACT_ALERTS = 300, 5
WORST_CASE_NOTE = (
    "a secondary contact with `orders` calls, on a service with a pending plan change and an unpaid renewal "
    "invoice (upgrade-options: the service with the contact's rights in one BatchGetItem, then one BatchGetItem "
    f"of product, targets, server, renewal and change); the same contact's alerts on an account with "
    f"{HOLDER_ALERTS} alerts for the holder and {CONTACT_ALERTS} for the contact (one Query that reads only theirs)."
)


def worst_paths(call, runtime, holder: dict, client_id: str) -> list[Row]:
    """Set up the worst realistic data through the real handlers (the renewal invoice aside, see
    _renewal_invoice_direct), then measure the contact's calls."""
    from shared.events import EventType, envelope, new_event

    print("dynamodb: worst cases (a contact, a pending change on an unpaid renewal, "
          f"{HOLDER_ALERTS + CONTACT_ALERTS} alerts)", file=sys.stderr)
    status, contact, _, _ = call("POST", "/me/contacts", "/me/contacts", holder, WORST_CONTACT)
    if not 200 <= status < 300:
        raise RuntimeError(f"could not add the worst-case contact: {status} {contact}")
    contact_id = contact["contact_id"]
    as_contact = {**holder, "sub": "bench-contact", "email": WORST_CONTACT["email"], "custom:contact_id": contact_id}
    # An invited contact gets no alert until it accepts: it accepts, with the token its email carried.
    import re

    from devstack import mailbox

    (invitation, *_) = [m for m in reversed(mailbox.sent_emails()) if WORST_CONTACT["email"] in m["to"]]
    token = re.search(r"token=([A-Za-z0-9_-]+)", invitation["text"]).group(1)
    status, accepted, _, _ = call("POST", "/invitations/accept", "/invitations/accept", None,
                                  {"token": token, "password": "Segura123"})
    if status != 200:
        raise RuntimeError(f"the worst-case contact could not accept its invitation: {status} {accepted}")

    service_id = _renewal_invoice_direct(client_id)
    upgrades = f"/services/{service_id}/upgrades"
    status, answer, _, _ = call("POST", "/services/{service_id}/upgrades", upgrades, holder,
                                {"target": "hosting-avanzado"})
    if not 200 <= status < 300:
        raise RuntimeError(f"could not place the worst-case plan change: {status} {answer}")

    # The alerts, as the fan-out makes them from the relayed events: billing ones reach the holder only (the
    # contact has no `invoices`), service ones the holder and the contact.
    events = [(EventType.INVOICE_PAID, {"invoice_id": f"bench{i}", "total": 15000, "currency": "ARS",
                                         "provider": "mercadopago"}) for i in range(HOLDER_ALERTS - CONTACT_ALERTS)]
    events += [(EventType.SERVICE_ACTIVATED, {"service_id": service_id, "product_name": "Hosting Inicial",
                                              "domain": f"bench{i}.com.ar"}) for i in range(CONTACT_ALERTS)]
    occurred = datetime.now(UTC)
    records = [{"messageId": f"bench-{i}", "receiptHandle": f"bench-{i}", "body": json.dumps(
        envelope(new_event(kind, client_id=client_id, occurred_at=occurred, payload=payload)))}
        for i, (kind, payload) in enumerate(events)]
    for start in range(0, len(records), 10):  # the alerts queue's batch size
        result = runtime.invoke("AlertsFanoutFunction", {"Records": records[start:start + 10]})
        if result.get("batchItemFailures"):
            raise RuntimeError(f"the fan-out failed some events: {result}")

    rows = []
    resource = "/services/{service_id}/upgrade-options"
    status, answer, operations, items = call("GET", resource, f"/services/{service_id}/upgrade-options", as_contact)
    # Quoted (no blocker skipped the renewal) and showing the change under way.
    quoted = isinstance(answer, dict) and answer.get("automatic") and answer.get("pending_upgrade")
    rows.append(Row(f"`{resource}` (worst case)", "GET", "contact (`orders`)", status, operations, items, limit=2,
                    wrong=None if quoted else "no quote with the pending change"))
    status, answer, operations, items = call("GET", "/me/alerts", "/me/alerts", as_contact)
    # A wrong answer must not pass for a fast one.
    wrong = None if not isinstance(answer, list) or len(answer) == CONTACT_ALERTS else (
        f"listed {len(answer)} alerts, not the contact's {CONTACT_ALERTS}")
    rows.append(Row(f"`/me/alerts` (worst case: {HOLDER_ALERTS + CONTACT_ALERTS} alerts, {CONTACT_ALERTS} theirs)",
                    # The contact's own item (a removed contact is refused at once), then one Query that
                    # reads only the contact's own alerts, however many the account has.
                    "GET", "contact", status, operations, items, limit=2, max_items_read=CONTACT_ALERTS,
                    wrong=wrong))
    return rows


def _ticket_attachment(call, s3, bucket: str, holder: dict, ticket_id: str) -> str:
    """An attachment on the holder's ticket, as a client adds one (through the real handlers but the upload: the
    file goes to S3 itself, as the browser sends it with the presigned form), for the download routes."""
    status, form, _, _ = call("POST", "/me/tickets/{ticket_id}/attachments", f"/me/tickets/{ticket_id}/attachments",
                              holder, {"filename": "captura.png", "content_type": "image/png", "size": 4})
    if status != 201:
        raise RuntimeError(f"could not get an upload form for the ticket's attachment: {status} {form}")
    s3.put_object(Bucket=bucket, Key=form["fields"]["key"], Body=b"\x89PNG", ContentType="image/png")
    status, answer, _, _ = call("POST", "/me/tickets/{ticket_id}/replies", f"/me/tickets/{ticket_id}/replies", holder,
                                {"body": "Adjunto la captura.", "attachment_ids": [form["attachment_id"]]})
    if status != 200:
        raise RuntimeError(f"could not attach the file to the ticket: {status} {answer}")
    return form["attachment_id"]


def _renewal_invoice_direct(client_id: str) -> str:
    """DIRECT DATA-LAYER WRITES (the only ones of the bench's worst cases): an active annual hosting on the
    demo server, with its next cycle's invoice issued and unpaid (`renewal_invoice_id`). No API issues a
    renewal on demand (the sweep does, days before the due date), so the items are written as the demo seed
    writes them, with the seed's own builders. Returns the service id."""
    from devstack.seed import HOSTING_MANUAL, _invoice, _service
    from shared.calendar import add_months, local_date, local_midnight

    now = datetime.now(UTC)
    start = local_midnight(add_months(local_date(now), -11))  # a month before its renewal
    end = add_months(start.date(), 12)
    service = _service(client_id, "hosting-inicial", "Hosting", "Hosting Inicial", "annually", "ARS", 10000,
                       start, end, "active", "bench-peor.com.ar", HOSTING_MANUAL, now)
    service.server = "srv12.paneldecliente.com"
    renewal = _invoice(client_id, service, 10000, "ARS", local_midnight(end), "unpaid", now)
    service.renewal_invoice_id = renewal.invoice_id
    renewal.save()
    service.save()
    return service.service_id


def _own_process(module: str, title: str, *args: str) -> list[str]:
    # Its own process: it runs its own embedded AWS, which would share state with ours.
    print(f"{module}: {' '.join(args)}", file=sys.stderr)
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    if result.returncode != 0:
        return [f"## {title}", "", f"❌ failed: {result.stdout[-500:]}{result.stderr[-1500:]}"]
    return result.stdout.strip().splitlines()


def activation_latency(payments: int) -> list[str]:
    return _own_process("tools.bench_activation", "Payment webhook → service ACTIVE", "--payments", str(payments))


def whatsapp_fan_out(events: int) -> list[str]:
    return _own_process("tools.bench_alerts", f"WhatsApp alerts: {events} events x 3 recipients",
                        "--events", str(events))


def lifecycle_sweeps(small: int, large: int) -> list[str]:
    return _own_process("tools.bench_lifecycle", "Lifecycle sweeps", "--small", str(small), "--large", str(large))


def ticket_sweep(small: int, large: int) -> list[str]:
    return _own_process("tools.bench_tickets", "Tickets: SLA sweep", "--small", str(small), "--large", str(large))


def _service_download(call, s3, bucket: str, staff: dict, service_id: str) -> str:
    """A published download of the demo hosting: the upload form, the file put where it says, published."""
    resource = "/staff/services/{service_id}/downloads"
    form = call("POST", resource, resource.format(service_id=service_id), staff, BODIES[("POST", resource)])[1]
    s3.put_object(Bucket=bucket, Key=form["fields"]["key"], Body=b"\0" * 64, ContentType="audio/mpeg")
    path = f"/staff/services/{service_id}/downloads/{form['download_id']}"
    call("PUT", resource + "/{download_id}", path, staff, {"title": "Locución de bienvenida"})
    return form["download_id"]


def flow_costs() -> list[str]:
    return _own_process("tools.bench_flows", "What one occurrence of each flow costs")


def knowledge_base_search() -> list[str]:
    return _own_process("tools.bench_kb", "Knowledge base search", "--articles", "2000")


def status_page() -> list[str]:
    return _own_process("tools.bench_status", "Status page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("FULL", "") not in ("", "0"),
                        help="the full sizes (7 cold-start rounds, 50 payments, 1,000 events, 10,000 services, "
                             "10,000 open tickets; env FULL=1 too)")
    parser.add_argument("--repeat", type=int, help="measured cold-start rounds (default: the scale's)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these sections")
    args = parser.parse_args()
    scale = SCALES["full" if args.full else "reduced"]
    rounds = args.repeat or scale.cold_start_rounds
    started = time.monotonic()
    other = SCALES["reduced" if args.full else "full"]
    switch = "make bench" if args.full else "make bench FULL=1"
    report = [
        "# Benchmarks",
        "",
        f"Scale: **{scale.name}**: {rounds} cold-start round{'s' * (rounds != 1)}, {scale.payments} payments, "
        f"{scale.alert_events} WhatsApp events × 3 recipients, lifecycle sweeps over "
        f"{scale.lifecycle_services[0]:,} and {scale.lifecycle_services[1]:,} services, the SLA sweep over "
        f"{scale.open_tickets[0]:,} and {scale.open_tickets[1]:,} open tickets ({switch}: {other.name}, "
        f"{other.cold_start_rounds} rounds, {other.payments} payments, {other.alert_events} events, "
        f"{other.lifecycle_services[0]:,} and {other.lifecycle_services[1]:,} services, "
        f"{other.open_tickets[0]:,} and {other.open_tickets[1]:,} open tickets).",
        "",
    ]
    sections = {
        # Cold starts first: the embedded AWS's threads would otherwise share the CPU with the probes.
        "cold": lambda: cold_starts(rounds),
        "dynamodb": dynamodb_requests,
        "flows": flow_costs,
        "activation": lambda: activation_latency(scale.payments),
        "alerts": lambda: whatsapp_fan_out(scale.alert_events),
        "lifecycle": lambda: lifecycle_sweeps(*scale.lifecycle_services),
        "tickets": lambda: ticket_sweep(*scale.open_tickets),
        "kb": knowledge_base_search,
        "status": status_page,
    }
    for name in SECTIONS:
        if name in args.only:
            section_started = time.monotonic()
            # What the handlers print (logs, EMF metrics) goes with the progress: stdout is the report's.
            with contextlib.redirect_stdout(sys.stderr):
                report += [*sections[name](), ""]
            print(f"{name}: {time.monotonic() - section_started:.0f} s", file=sys.stderr)
    report.append(f"_Python {sys.version.split()[0]}, {scale.name} scale, measured in "
                  f"{time.monotonic() - started:.0f} s._")
    print("\n".join(report))


if __name__ == "__main__":
    main()
