"""Assembles the local stack. Used by `make dev` (devstack.__main__) and by the end-to-end tests."""

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import boto3

from devstack.aws import SHUTDOWN_POLL_S, EmbeddedAws
from devstack.cfn import ROOT, Stack, provision
from devstack.fake_mercadopago import FakeMercadoPago
from devstack.fake_stripe import FakeStripe, checkout_completed, sign
from devstack.fake_tawkto import FakeTawkTo
from devstack.fake_telegram import FakeTelegram
from devstack.fake_turnstile import FakeTurnstile
from devstack.fake_whatsapp import FakeWhatsApp
from devstack.fake_whm import FakeWhm
from devstack.gateway import CognitoAuthorizer, Gateway, json_response
from devstack.runtime import ENV_OVERRIDES, Runtime, ensure_import_path
from devstack.workers import (
    ClockBackwards,
    ClockInputError,
    Scheduler,
    iso_z,
    parse_duration,
    parse_instant,
    pollers_for,
)
from shared.clock import SystemClock, reset_system_clock, system_clock_shift

LOCAL_PAYMENT_SECRETS = {
    "mercadopago_webhook_secret": "local-mercadopago-webhook-secret",
    "mercadopago_access_token": "TEST-local-access-token",
    "stripe_webhook_secret": "whsec_local",
    "stripe_secret_key": "sk_test_local",
}

LOCAL_WHM_TOKEN = "local-whm-api-token"
LOCAL_WHATSAPP_SECRETS = {"access_token": "local-whatsapp-token", "app_secret": "local-whatsapp-app-secret",
                          "verify_token": "local-whatsapp-verify-token"}
LOCAL_WHATSAPP_PHONE_NUMBER_ID = "100200300400"
LOCAL_TURNSTILE_SECRET = "local-turnstile-secret"
LOCAL_TAWKTO_SECRET = "local-tawkto-webhook-secret"
LOCAL_TELEGRAM_SECRETS = {"bot_token": "7000000001:local-telegram-bot-token", "webhook_secret": "local-telegram-secret"}
# Staff on call, for staff alerts (SLA warnings and breaches of tickets, failed activations, accepted quotes):
# one made-up number, so that make dev's fake WhatsApp shows them. A template parameter like any other, so
# make dev ARGS="--param OpsWhatsAppNumbers=" turns them off (or names other numbers).
LOCAL_OPS_WHATSAPP_NUMBERS = "+5491140000000"
LOCAL_PARAMETERS = {"OpsWhatsAppNumbers": LOCAL_OPS_WHATSAPP_NUMBERS}

SWAGGER_HTML = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Paneldecliente API</title>
<link rel="stylesheet" href="/swagger/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""


def _test_clock_seconds() -> float:
    return SystemClock().now().timestamp()


class LocalStack:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 3000, aws_port: int = 0, seed: bool = True,
                 schedules: bool = True, parameters: dict[str, str] | None = None, smtp_port: int | None = None):
        self.host, self.port, self.smtp_port = host, port, smtp_port
        self.smtp = None
        self.aws = EmbeddedAws(host, aws_port)
        self.with_seed, self.with_schedules = seed, schedules
        # Template parameters: the local defaults, then make dev ARGS="--param Name=Value" (which win).
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self.demo_users = []
        self.pollers = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http.server_address[1]}"

    def start(self) -> "LocalStack":
        self.aws.start()
        self.aws.export()
        ensure_import_path()
        session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
        self.session = session
        self.stack: Stack = provision(session, parameters=self.parameters)
        self.runtime = Runtime(self.stack)
        # Payment providers: local secrets, and Mercado Pago's API answered by a loopback fake.
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["PaymentSecrets"], SecretString=json.dumps(LOCAL_PAYMENT_SECRETS)
        )
        # The providers sign at the test clock's time (the webhooks check a signature's age against it).
        self.mercadopago = FakeMercadoPago(
            LOCAL_PAYMENT_SECRETS["mercadopago_access_token"], LOCAL_PAYMENT_SECRETS["mercadopago_webhook_secret"],
            now=_test_clock_seconds,
        ).start()
        ENV_OVERRIDES["MERCADOPAGO_API_URL"] = self.mercadopago.url
        self.stripe = FakeStripe(LOCAL_PAYMENT_SECRETS["stripe_secret_key"],
                                 LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"], now=_test_clock_seconds).start()
        ENV_OVERRIDES["STRIPE_API_URL"] = self.stripe.url
        self.whm = FakeWhm(LOCAL_WHM_TOKEN).start()
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["ProvisioningSecrets"],
            SecretString=json.dumps({"whm_url": self.whm.url, "whm_token": LOCAL_WHM_TOKEN}),
        )
        # WhatsApp: the Cloud API answered by a loopback fake that records what was sent.
        self.whatsapp = FakeWhatsApp(LOCAL_WHATSAPP_SECRETS["access_token"], LOCAL_WHATSAPP_PHONE_NUMBER_ID).start()
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["WhatsAppSecrets"], SecretString=json.dumps(LOCAL_WHATSAPP_SECRETS))
        ENV_OVERRIDES["WHATSAPP_API_URL"] = self.whatsapp.url
        ENV_OVERRIDES["WHATSAPP_PHONE_NUMBER_ID"] = LOCAL_WHATSAPP_PHONE_NUMBER_ID
        # The contact form's CAPTCHA: Cloudflare Turnstile's siteverify, faked on loopback.
        self.turnstile = FakeTurnstile(LOCAL_TURNSTILE_SECRET).start()
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["ContactFormSecrets"], SecretString=json.dumps(
                {"turnstile_secret": LOCAL_TURNSTILE_SECRET}))
        ENV_OVERRIDES["TURNSTILE_API_URL"] = self.turnstile.url
        # Chat: Tawk.to's signed transcript webhook, played by a loopback fake (it calls our API).
        self.tawkto = FakeTawkTo(LOCAL_TAWKTO_SECRET).start()
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["ChatSecrets"], SecretString=json.dumps({"tawkto_webhook_secret":
                                                                               LOCAL_TAWKTO_SECRET}))
        # Telegram: the Bot API faked on loopback; it plays the people writing to the bot too (to our webhook).
        self.telegram = FakeTelegram(LOCAL_TELEGRAM_SECRETS["bot_token"],
                                     self.stack.parameters.get("TelegramBotUsername") or "PaneldeclienteBot").start()
        session.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["TelegramSecrets"], SecretString=json.dumps(LOCAL_TELEGRAM_SECRETS))
        ENV_OVERRIDES["TELEGRAM_API_URL"] = self.telegram.url
        # The self-diagnostics: the demo domains' DNS, website and certificates on loopback.
        from devstack.fake_web_host import FakeWebHost, demo_zone, diagnostics_env

        nameservers = (self.stack.parameters.get("Nameservers") or "").split(",")
        self.web_host = FakeWebHost(demo_zone([n for n in nameservers if n]), {"sitio-roto.com.ar": 500}).start()
        ENV_OVERRIDES.update(diagnostics_env(self.web_host))
        os.environ.update(ENV_OVERRIDES)
        reset_system_clock()  # a new stack starts at the real time, whatever a previous one in this process did
        self.scheduler = Scheduler(self.runtime, self.stack)
        self.app_client_id = self.stack.refs["UserPoolClient"]
        self.user_pool_id = self.stack.refs["UserPool"]
        authorizer = CognitoAuthorizer(self.aws.endpoint, self.stack.region, self.user_pool_id, self.app_client_id)
        extra = {
            ("POST", "/local/token"): self._token,
            ("POST", "/local/schedules"): self._fire,
            ("GET", "/local/clock"): self._clock,
            ("GET", "/local/whm"): self._whm_accounts,
            ("POST", "/local/clock"): self._move_clock,
            ("POST", "/local/payments"): self._pay,
            ("POST", "/local/refunds"): self._refund,
            ("GET", "/local/whatsapp"): self._whatsapp_sent,
            ("GET", "/local/emails"): self._emails,
            ("POST", "/local/email-feedback"): self._email_feedback,
            ("GET", "/local/turnstile-token"): self._turnstile_token,
            ("POST", "/local/chats"): self._end_chat,
            ("GET", "/local/panel"): self._panel,
            ("POST", "/local/whatsapp/errors"): self._whatsapp_errors,
            ("POST", "/local/whatsapp/messages"): self._whatsapp_incoming,
            ("POST", "/local/telegram/messages"): self._telegram_incoming,
            ("GET", "/local/telegram"): self._telegram_sent,
            ("GET", "/swagger"): self._swagger,
            ("GET", "/openapi.json"): self._openapi,
        }
        self.gateway = Gateway(self.stack, self.runtime, authorizer, extra)
        if self.with_seed:
            from devstack.seed import seed
            from shared.logins import CognitoLogins

            logins = CognitoLogins(session.client("cognito-idp"), self.user_pool_id)
            self.demo_users = seed(logins, session.client("kms"))
            from devstack.seed import seed_knowledge_base

            seed_knowledge_base(session.client("s3"), self.stack.refs["DocumentsBucket"])
            from devstack.seed import DEMO_CPANEL_USER

            # The demo hosting's account, on the server its credentials name: its password can be changed there.
            self.whm.accounts.setdefault(DEMO_CPANEL_USER, {"domain": "demo-pyme.com.ar", "plan": "hosting-inicial",
                                                            "suspended": False})
        # Bound before anything runs: where the providers notify us and send the client back is this stack's own
        # address, and the seed's events (relayed as soon as the pollers start) must already link there.
        self.http = self.gateway.server(self.host, self.port)
        ENV_OVERRIDES["PUBLIC_API_URL"] = self.url
        ENV_OVERRIDES["PANEL_URL"] = f"{self.url}/local/panel"
        os.environ.update(ENV_OVERRIDES)
        self.stripe.webhook_url = f"{self.url}/webhooks/stripe"
        self.tawkto.webhook_url = f"{self.url}/webhooks/tawkto"
        # What tools/telegram_webhook.py does after a deploy: setWebhook with our URL and the secret token.
        from tickets.telegram_bot import BotApi

        BotApi(self.telegram.url, LOCAL_TELEGRAM_SECRETS["bot_token"]).set_webhook(
            f"{self.url}/webhooks/telegram", LOCAL_TELEGRAM_SECRETS["webhook_secret"])
        self.pollers = pollers_for(session, self.runtime, self.stack, self.aws)
        if self.with_schedules:
            self.pollers.append(self.scheduler)
        for poller in self.pollers:
            poller.start()
        if self.smtp_port is not None:
            # Email to support: SMTP on loopback, then what the template's SES receipt rule does with it.
            from devstack.mail_receiving import ReceiptRules, SmtpReceiver

            self.smtp = SmtpReceiver(ReceiptRules(self.stack, self.runtime, session), self.host,
                                     self.smtp_port).start()
        self._http_thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                                             name="gateway", daemon=True)
        self._http_thread.start()
        return self

    def stop(self, grace_s: float = 1.0) -> None:
        """Stop in well under a second when idle: the API first (no new requests), then the event sources
        (each finishes the batch in hand, up to ``grace_s`` in all; every thread is a daemon, so one still
        busy does not hold the process), then the fakes and the embedded AWS they were calling."""
        self.http.shutdown()
        self.http.server_close()
        if self.smtp is not None:
            self.smtp.stop()
        for poller in self.pollers:
            poller.stop()
        deadline = time.monotonic() + grace_s
        for poller in self.pollers:
            if poller.is_alive():
                poller.join(max(0.0, deadline - time.monotonic()))
        self.mercadopago.stop()
        self.stripe.stop()
        self.whm.stop()
        self.whatsapp.stop()
        self.turnstile.stop()
        self.tawkto.stop()
        self.telegram.stop()
        self.web_host.stop()
        self.aws.stop()
        reset_system_clock()

    # --- local-only routes ---------------------------------------------------------------------------

    def token_for(self, email: str, password: str) -> str:
        answer = self.session.client("cognito-idp").admin_initiate_auth(
            UserPoolId=self.user_pool_id, ClientId=self.app_client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return answer["AuthenticationResult"]["IdToken"]

    def _token(self, path, headers, body):
        from botocore.exceptions import ClientError

        try:
            data = json.loads(body or b"{}")
            token = self.token_for(str(data["email"]).strip().lower(), str(data["password"]))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message": "Envíe {\"email\", \"password\"}."})
        except ClientError:
            return json_response(401, {"code": "invalid_credentials", "message": "Email o clave incorrectos."})
        return json_response(200, {"id_token": token, "token_type": "Bearer"})

    def _fire(self, path, headers, body):
        name = path.removeprefix("/local/schedules").strip("/")
        try:
            result = self.scheduler.fire(name)
        except KeyError:
            return json_response(404, {"code": "schedule_not_found", "message": f"No hay un schedule '{name}'.",
                                       "schedules": sorted(self.scheduler.schedules)})
        return json_response(200, {"schedule": name, "result": result})

    def _clock(self, path, headers, body):
        """The test clock: what SystemClock says (every function's now), the real time, and the shift."""
        shift = system_clock_shift()
        now = SystemClock().now()
        return json_response(200, {"now": iso_z(now), "real_now": iso_z(now - shift),
                                   "shift_seconds": int(shift.total_seconds())})

    def _move_clock(self, path, headers, body):
        """Move the test clock forward, {"now": "<ISO-8601 with offset>"} or {"advance": "P14D"}, and fire at
        once (each schedule once, earliest due first) what came due. Only forward, like Stripe's test clocks:
        what already ran with the later time cannot be undone."""
        usage = "Envíe {\"now\": \"2027-01-01T03:00:00Z\"} o {\"advance\": \"P14D\"}."
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict) or len(data) != 1 or not data.keys() <= {"now", "advance"}:
            return json_response(400, {"code": "invalid_input", "message": usage})
        try:
            if "now" in data:
                moved_to, fired = self.scheduler.advance(to=parse_instant(data["now"]))
            else:
                moved_to, fired = self.scheduler.advance(by=parse_duration(data["advance"]))
        except ClockBackwards as error:
            return json_response(409, {"code": "clock_backwards", "message": str(error)})
        except ClockInputError as error:
            return json_response(400, {"code": "invalid_input", "message": str(error)})
        return json_response(200, {"now": iso_z(moved_to), "fired": fired})

    def _whm_accounts(self, path, headers, body):
        """The fake WHM's accounts (suspended or not) and how often each account function was called, in all and
        for each account."""
        calls: dict[str, int] = {}
        by_user: dict[str, dict[str, int]] = {}
        for function, params in list(self.whm.calls):
            calls[function] = calls.get(function, 0) + 1
            user = params.get("user") or params.get("username")
            if user:
                by_user.setdefault(user, {})[function] = by_user.get(user, {}).get(function, 0) + 1
        return json_response(200, {"accounts": dict(self.whm.accounts), "calls": calls, "calls_by_user": by_user})

    def _whatsapp_incoming(self, path, headers, body):
        """A person writes to our WhatsApp number: Meta's signed webhook reaches our API. {"from": "5491123456789",
        "text": "Hola", "name"?: "Demo"}."""
        import hashlib
        import hmac
        import uuid

        from devstack.fake_whatsapp import incoming_message

        try:
            data = json.loads(body or b"{}")
            sender, text = str(data["from"]).lstrip("+"), str(data["text"])
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message": "Envíe {\"from\": \"5491123456789\", "
                                                                           "\"text\": \"Hola\"}."})
        wamid = f"wamid.LOCALIN{uuid.uuid4().hex[:20]}"
        raw = json.dumps(incoming_message(sender, text, str(data.get("name") or "Cliente"),
                                          LOCAL_WHATSAPP_PHONE_NUMBER_ID, wamid,
                                          int(SystemClock().now().timestamp()))).encode()
        signature = hmac.new(LOCAL_WHATSAPP_SECRETS["app_secret"].encode(), raw, hashlib.sha256).hexdigest()
        request = urllib.request.Request(f"{self.url}/webhooks/whatsapp", data=raw, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return json_response(200, {"wa_message_id": wamid, "webhook_status": response.status})

    def _telegram_incoming(self, path, headers, body):
        """A person writes to the support bot in Telegram (its webhook, with the secret token, reaches our API):
        {"from": 123456789, "text": "Hola" | "/start <code>", "first_name"?: "Ana", "username"?: "ana"}."""
        try:
            data = json.loads(body or b"{}")
            user_id, text = int(data["from"]), str(data["text"])
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message": "Envíe {\"from\": 123456789, "
                                                                           "\"text\": \"Hola\"}."})
        update_id, status, error = self.telegram.write(user_id, text, str(data.get("first_name") or "Cliente"),
                                                       data.get("username"))
        return json_response(200, {"update_id": update_id, "webhook_status": status, "error": error})

    def _telegram_sent(self, path, headers, body):
        """What the fake Telegram bot sent, oldest first."""
        return json_response(200, {"messages": list(self.telegram.sent), "webhook": self.telegram.webhook_url})

    def _whatsapp_sent(self, path, headers, body):
        """What the fake WhatsApp API "sent", oldest first."""
        return json_response(200, {"messages": list(self.whatsapp.sent)})

    def _emails(self, path, headers, body):
        """What SES (embedded) sent, oldest first; /local/emails/<n>/<filename> downloads an attachment."""
        from devstack import mailbox

        parts = path.removeprefix("/local/emails").strip("/").split("/", 1)
        if len(parts) == 2:
            try:
                content = mailbox.attachment(int(parts[0]), urllib.parse.unquote(parts[1]))
            except (ValueError, IndexError, KeyError, LookupError):
                return json_response(404, {"code": "attachment_not_found", "message": "No existe ese adjunto."})
            return 200, {"Content-Type": "application/pdf"}, content
        return json_response(200, {"emails": mailbox.sent_emails()})

    def _panel(self, path, headers, body):
        """Stands for the client area's pages the providers send the client back to after paying."""
        page = ("<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>Paneldecliente</title></head>"
                "<body><h1>Paneldecliente (local)</h1><p>Volvió del pago. El estado de la factura se actualiza en "
                "cuanto el proveedor nos notifica: consulte GET /me/invoices.</p></body></html>")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def _end_chat(self, path, headers, body):
        """A visitor's chat ends: Tawk.to (faked) sends its signed transcript to our webhook. {"name", "email",
        "lines": [["v", "Hola"], ["a", "¿En qué lo ayudo?"]]} ("v" the visitor, "a" the agent)."""
        try:
            data = json.loads(body or b"{}")
            lines = [(str(who), str(text)) for who, text in data["lines"]]
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message":
                                       "Envíe {\"name\", \"email\", \"lines\": [[\"v\", \"Hola\"]]}."})
        payload = self.tawkto.transcript(str(data.get("name") or "Visitante"), str(data.get("email") or ""), lines,
                                         started=SystemClock().now())
        event_id, status, error = self.tawkto.end_chat(payload)
        return json_response(200, {"event_id": event_id, "webhook_status": status, "error": error})

    def _turnstile_token(self, path, headers, body):
        """A token as the Turnstile widget would hand the contact form's page (good once, for 5 minutes)."""
        return json_response(200, {"captcha_token": self.turnstile.issue()})

    def _email_feedback(self, path, headers, body):
        """Play SES reporting a bounce or a complaint about an address we mailed: {"address", "type": "bounce" |
        "complaint", "bounce_type"?: "Permanent" | "Transient"}. It goes through MailFeedbackQueue, as SES's
        event destination (SNS, raw delivery) puts it there."""
        from devstack import mailbox

        try:
            data = json.loads(body or b"{}")
            event = mailbox.feedback_event(str(data.get("type", "bounce")), str(data["address"]),
                                           str(data.get("bounce_type", "Permanent")))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input",
                                       "message": "Envíe {\"address\": \"x@y.com\", \"type\": \"bounce\"}."})
        self.session.client("sqs").send_message(QueueUrl=self.stack.refs["MailFeedbackQueue"],
                                                MessageBody=json.dumps(event))
        return json_response(202, {"queued": event["eventType"], "address": data["address"]})

    def _whatsapp_errors(self, path, headers, body):
        """Make the fake WhatsApp API answer the next calls with a Graph error code: {"code", "times"?}."""
        try:
            data = json.loads(body or b"{}")
            code, times = int(data["code"]), int(data.get("times", 1))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message": "Envíe {\"code\": 131026, \"times\": 1}."})
        self.whatsapp.fail_next(code, max(1, min(times, 100)))
        return json_response(200, {"code": code, "times": times})

    def _pay(self, path, headers, body):
        """Simulate a provider paying an invoice's balance: the provider's signed webhook reaches our API."""
        from shared.dal.billing import Billing

        try:
            data = json.loads(body or b"{}")
            invoice = Billing().find_invoice(str(data["invoice_id"]))
            provider = data.get("provider", "mercadopago")
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input", "message": "Envíe {\"invoice_id\"}."})
        if invoice is None:
            return json_response(404, {"code": "invoice_not_found", "message": "No existe esa factura."})
        minor = int(data.get("amount", invoice.balance or invoice.total - invoice.amount_paid))
        currency = data.get("currency", invoice.currency)
        if provider == "stripe":
            status = self._send_stripe(invoice_id=invoice.invoice_id, amount=minor, currency=currency)
            return json_response(200, {"provider": "stripe", "webhook_status": status})
        payment_id = self.mercadopago.create_payment(amount=Decimal(minor) / 100, currency=currency,
                                                     external_reference=invoice.invoice_id)
        self._notify_mercadopago(payment_id)
        return json_response(200, {"provider": "mercadopago", "payment_id": payment_id})

    def _refund(self, path, headers, body):
        """Simulate Mercado Pago refunding a payment made with /local/payments: its status becomes refunded
        and its signed notification reaches our API (settlement reads the status from the fake)."""
        try:
            payment_id = str(json.loads(body or b"{}")["payment_id"])
            self.mercadopago.set_status(payment_id, "refunded")
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"code": "invalid_input",
                                       "message": "Envíe {\"payment_id\"} de un pago hecho con /local/payments."})
        status = self._notify_mercadopago(payment_id)
        return json_response(200, {"provider": "mercadopago", "payment_id": payment_id, "webhook_status": status})

    # The providers sign their webhooks at the test clock's time, not the real one: the webhook functions check
    # the signature's age against SystemClock, so after a move a real-time signature would look days old.

    def _notify_mercadopago(self, payment_id: str) -> int:
        ts = int(SystemClock().now().timestamp() * 1000)
        query, headers, body = self.mercadopago.signed_notification(payment_id, ts=ts)
        request = urllib.request.Request(f"{self.url}/webhooks/mercadopago?{query}", data=body, headers=headers,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status

    def _send_stripe(self, *, invoice_id: str, amount: int, currency: str) -> int:
        body = json.dumps(checkout_completed(invoice_id=invoice_id, amount=amount, currency=currency)).encode()
        signature = sign(LOCAL_PAYMENT_SECRETS["stripe_webhook_secret"], body, int(SystemClock().now().timestamp()))
        request = urllib.request.Request(f"{self.url}/webhooks/stripe", data=body, method="POST", headers={
            "Content-Type": "application/json", "Stripe-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def _swagger(self, path, headers, body):
        import fastapi_offline  # only for its copy of Swagger UI 5 (pyproject.toml says why)

        if path in ("/swagger", "/swagger/index.html"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, SWAGGER_HTML.encode()
        asset = Path(fastapi_offline.__file__).parent / "static" / path.removeprefix("/swagger/assets/")
        if not path.startswith("/swagger/assets/") or not asset.is_file() or ".." in path:
            return json_response(404, {"code": "route_not_found", "message": "La ruta solicitada no existe."})
        kind = "text/css" if asset.suffix == ".css" else "application/javascript"
        return 200, {"Content-Type": kind}, asset.read_bytes()

    def _openapi(self, path, headers, body):
        return 200, {"Content-Type": "application/json"}, (ROOT / "openapi.json").read_bytes()
