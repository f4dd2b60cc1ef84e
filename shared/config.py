"""Environment settings. Every variable a function reads is named here and declared in template.yaml.

Values are read when asked for (not cached at import) so that tests and the local stack can
point a warm process at other resources; reading os.environ costs nothing.
"""

import os

TABLE_NAME = "TABLE_NAME"
# Remote support (docs/remote-support.md): who connects, how long a session is, the gap after it, how soon and how
# far ahead one is booked, and until when it may be moved or cancelled.
REMOTE_SUPPORT_OPERATORS = "REMOTE_SUPPORT_OPERATORS"  # comma-separated operator names
REMOTE_SLOT_MINUTES = "REMOTE_SLOT_MINUTES"
REMOTE_BUFFER_MINUTES = "REMOTE_BUFFER_MINUTES"
REMOTE_MIN_NOTICE_HOURS = "REMOTE_MIN_NOTICE_HOURS"
REMOTE_HORIZON_DAYS = "REMOTE_HORIZON_DAYS"
BOOKING_CHANGE_HOURS = "BOOKING_CHANGE_HOURS"
FEATURE_NOTICES_QUEUE_URL = "FEATURE_NOTICES_QUEUE_URL"  # a feature request's status change, for its voters
STATUS_NOTICES_QUEUE_URL = "STATUS_NOTICES_QUEUE_URL"  # the status page's announcements, for the affected accounts
MAINTENANCE_REMINDER_HOURS = "MAINTENANCE_REMINDER_HOURS"  # a maintenance's reminder goes out this long before it
KB_INDEX_QUEUE_URL = "KB_INDEX_QUEUE_URL"  # kb.article_changed: the knowledge base's search index rebuilt
# Self-diagnostics (docs/diagnostics.md): the resolver asked ("host:port"; empty: the system's), the ports and extra
# trusted CAs of the TLS and HTTP checks, and whether private addresses may be probed (the local stack's loopback).
DIAGNOSTICS_RESOLVER = "DIAGNOSTICS_RESOLVER"
DIAGNOSTICS_HTTPS_PORT = "DIAGNOSTICS_HTTPS_PORT"
DIAGNOSTICS_HTTP_PORT = "DIAGNOSTICS_HTTP_PORT"
DIAGNOSTICS_CA_FILE = "DIAGNOSTICS_CA_FILE"
DIAGNOSTICS_ALLOW_PRIVATE = "DIAGNOSTICS_ALLOW_PRIVATE"
DIAGNOSTICS_DNS_TIMEOUT = "DIAGNOSTICS_DNS_TIMEOUT"  # seconds per DNS question
DIAGNOSTICS_RUN_SECONDS = "DIAGNOSTICS_RUN_SECONDS"  # the whole run's deadline (below the function's timeout)
NAMESERVERS = "NAMESERVERS"  # comma-separated: where a domain is delegated to us (a service's manual and data)
MIGRATION_SECRET_DAYS = "MIGRATION_SECRET_DAYS"  # noqa: S105 (a variable's name)  # a migration's old-server access is destroyed this long after it ends
USER_POOL_ID = "USER_POOL_ID"
ALERTS_QUEUE_URL = "ALERTS_QUEUE_URL"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
SECRETS_KEY_ID = "SECRETS_KEY_ID"
ALLOWED_ORIGIN = "ALLOWED_ORIGIN"
PAYMENTS_QUEUE_URL = "PAYMENTS_QUEUE_URL"
PAYMENT_SECRETS_ID = "PAYMENT_SECRETS_ID"
MERCADOPAGO_API_URL = "MERCADOPAGO_API_URL"
STRIPE_API_URL = "STRIPE_API_URL"
PUBLIC_API_URL = "PUBLIC_API_URL"  # our API's public base (the providers' notification URLs)
PANEL_URL = "PANEL_URL"  # the client area's base (where a checkout sends the client back, links in emails)
PROVISIONING_QUEUE_URL = "PROVISIONING_QUEUE_URL"
PROVISIONING_SECRETS_ID = "PROVISIONING_SECRETS_ID"
DELIVERIES_QUEUE_URL = "DELIVERIES_QUEUE_URL"
WHATSAPP_API_URL = "WHATSAPP_API_URL"  # Graph API base, with its version: https://graph.facebook.com/v21.0
WHATSAPP_PHONE_NUMBER_ID = "WHATSAPP_PHONE_NUMBER_ID"
WHATSAPP_SECRETS_ID = "WHATSAPP_SECRETS_ID"  # access_token, app_secret, verify_token
INVOICE_ALERT_HOLD_SECONDS = "INVOICE_ALERT_HOLD_SECONDS"  # an invoice alert waits this long on the queue
QUIET_HOURS = "QUIET_HOURS"  # local time, e.g. 21:00-09:00: non-urgent alerts wait for its end
OPS_WHATSAPP_NUMBERS = "OPS_WHATSAPP_NUMBERS"  # comma-separated E.164 numbers for staff alerts
OPS_ALERT_EMAILS = "OPS_ALERT_EMAILS"  # comma-separated addresses for staff alerts by email
UPGRADE_PRICING = "UPGRADE_PRICING"  # difference | prorata (docs/billing.md)
DOWNGRADE_TIMING = "DOWNGRADE_TIMING"  # next_renewal | immediate | immediate_credit
UPGRADE_PAY_WITHIN_DAYS = "UPGRADE_PAY_WITHIN_DAYS"  # an unpaid upgrade is cancelled after this many days
# Service lifecycle (docs/billing.md): set for every function (template Globals), since payments, plan changes
# and the sweeps all move a service's next step.
RENEWAL_INVOICE_DAYS_BEFORE = "RENEWAL_INVOICE_DAYS_BEFORE"
SUSPEND_AFTER_DAYS = "SUSPEND_AFTER_DAYS"
TERMINATE_AFTER_DAYS = "TERMINATE_AFTER_DAYS"
LATE_CANCELLATION_RENEWAL = "LATE_CANCELLATION_RENEWAL"  # stands | void
INVOICE_REMINDER_DAYS = "INVOICE_REMINDER_DAYS"  # days from the due date, e.g. "-3,0,1,3,7"
CANCELLATIONS_QUEUE_URL = "CANCELLATIONS_QUEUE_URL"
PASSWORD_CHECK_CLIENT_ID = "PASSWORD_CHECK_CLIENT_ID"  # noqa: S105 (a variable's name)  # the Cognito app client that verifies passwords

# Invoice documents and emails (functions/documents).
DOCUMENTS_BUCKET = "DOCUMENTS_BUCKET"
MAIL_DOMAIN = "MAIL_DOMAIN"  # the SES identity emails are sent from: "Paneldecliente <facturacion@<domain>>"
MAIL_QUEUE_URL = "MAIL_QUEUE_URL"
# The SES configuration set every email is sent with: its event destination reports bounces and complaints.
MAIL_CONFIGURATION_SET = "MAIL_CONFIGURATION_SET"
INVOICE_ISSUER_NAME = "INVOICE_ISSUER_NAME"
INVOICE_ISSUER_TAX_ID = "INVOICE_ISSUER_TAX_ID"  # the provider's CUIT
INVOICE_ISSUER_DETAILS = "INVOICE_ISSUER_DETAILS"  # lines under the name, separated by "|"
INVOICE_POINT_OF_SALE = "INVOICE_POINT_OF_SALE"  # the "punto de venta" that prefixes invoice numbers

DEFAULT_REGION = "us-east-1"


class MissingSetting(RuntimeError):
    pass


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION

# Tickets (functions/tickets, docs/tickets.md).
ATTACHMENTS_BUCKET = "ATTACHMENTS_BUCKET"
DOWNLOADS_BUCKET = "DOWNLOADS_BUCKET"  # each service's downloads (functions/services/downloads.py)
SLA_WARNING_LEAD_PERCENT = "SLA_WARNING_LEAD_PERCENT"  # a warning this share of a target before its deadline
AUTOCLOSE_BUSINESS_DAYS = "AUTOCLOSE_BUSINESS_DAYS"  # an answered ticket with no client reply closes after
REOPEN_DAYS = "REOPEN_DAYS"  # a client reply this many days after closing reopens; later, a new ticket
TICKETS_QUEUE_URL = "TICKETS_QUEUE_URL"  # events that open or recompute tickets (upgrade requests, plan changes)
# Email to support (functions/tickets/ses_inbound.py, docs/email-channel.md): the domain SES receives mail for and
# tickets' emails are sent from ("Soporte <tickets@<domain>>", Reply-To tickets+<ticket>@<domain>).
SUPPORT_MAIL_DOMAIN = "SUPPORT_MAIL_DOMAIN"
# The public contact form: Cloudflare Turnstile's siteverify base, and the secret holding turnstile_secret.
TURNSTILE_API_URL = "TURNSTILE_API_URL"
CONTACT_FORM_SECRETS_ID = "CONTACT_FORM_SECRETS_ID"
TELEGRAM_API_URL = "TELEGRAM_API_URL"  # the Bot API's base: https://api.telegram.org
TELEGRAM_SECRETS_ID = "TELEGRAM_SECRETS_ID"  # bot_token, webhook_secret
TELEGRAM_BOT_USERNAME = "TELEGRAM_BOT_USERNAME"  # the bot's @name, for the t.me links (without the @)
CHAT_SECRETS_ID = "CHAT_SECRETS_ID"  # the chat provider's webhook secret (tawkto_webhook_secret)
