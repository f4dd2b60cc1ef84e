"""`make dev`: the whole stack on http://127.0.0.1:3000 until Ctrl-C."""

import argparse
import os
import signal
import sys
import threading
import time

from devstack.cfn import ParameterError, load_template, parse_parameter, resolve_parameters
from devstack.stack import LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description="Paneldecliente local stack")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument("--smtp-port", type=int, default=2525, help="where email to support is received")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--param", action="append", default=[], metavar="Name=Value",
                        help="a template.yaml parameter (repeatable), e.g. --param UpgradePricing=prorata")
    parameters_hint = '(make dev ARGS="--param Name=Value")'
    args = parser.parse_args()
    template = load_template()
    try:
        parameters = dict(parse_parameter(text) for text in args.param)
        resolve_parameters(template, parameters)  # refuse a bad one before starting anything
    except ParameterError as error:
        parser.error(str(error))
    stack = LocalStack(port=args.port, aws_port=args.aws_port, seed=not args.no_seed, parameters=parameters,
                       smtp_port=args.smtp_port).start()
    url = stack.url
    changed = {name: stack.stack.parameters[name] for name in parameters}
    support_domain = stack.stack.parameters["SupportMailDomain"]
    print(f"""
Paneldecliente local stack
  API        {url}            (API Gateway + Cognito authorizer, real handlers)
  Swagger    {url}/swagger
  OpenAPI    {url}/openapi.json
  AWS (moto) {stack.aws.endpoint}   (export AWS_ENDPOINT_URL={stack.aws.endpoint} to use the AWS CLI/boto3)
  Resources  {len(stack.stack.refs)} from template.yaml; functions: {", ".join(sorted(stack.stack.functions))}
  Parameters {", ".join(f"{k}={v}" for k, v in changed.items()) or "the template's defaults"}   {parameters_hint}
  Schedules  {", ".join(sorted(stack.scheduler.schedules)) or "-"}
             fire one now: curl -X POST {url}/local/schedules/<name>   (or: make fire SCHEDULE=<name>)
  Provision  cPanel/WHM faked at {stack.whm.url} (instant products are created there once paid)
  Payments   Mercado Pago API faked at {stack.mercadopago.url}; pay an invoice end to end:
             curl -X POST {url}/local/payments -d '{{"invoice_id": "<id>"}}'   (add "provider": "stripe")
  WhatsApp   Cloud API faked at {stack.whatsapp.url}; what it "sent": curl {url}/local/whatsapp
             make it answer an error code: curl -X POST {url}/local/whatsapp/errors -d '{{"code": 131026}}'
             a client writes to us: curl -X POST {url}/local/whatsapp/messages -d '{{"from": "5491123456789",
               "text": "Hola"}}'   (a ticket with the Profesional or Full support plan; else one automatic answer)
             staff on call (OpsWhatsAppNumbers): {stack.stack.parameters.get("OpsWhatsAppNumbers") or "-"}
  Telegram   Bot API faked at {stack.telegram.url}; what the bot sent: curl {url}/local/telegram
             link: POST /me/telegram-link (Full plan) gives a code; then a person writes to the bot:
             curl -X POST {url}/local/telegram/messages -d '{{"from": 123456789, "text": "/start <code>"}}'
  Email      support mail received by SMTP on {stack.host}:{args.smtp_port} (to any address @{support_domain}),
             e.g. python3 -c "import smtplib; smtplib.SMTP('{stack.host}', {args.smtp_port}).sendmail(
               'cliente@ejemplo.com', ['tickets@{support_domain}'], b'Subject: Ayuda\\r\\n\\r\\nNo carga mi sitio')"
             what SES "sent" (staff replies' copies, invoices): curl {url}/local/emails
             play a bounce: curl -X POST {url}/local/email-feedback -d '{{"address": "x@y.com"}}'
               (nothing more is sent to it; "type": "complaint" too)
  Contact    the public form opens a ticket: T=$(curl -s {url}/local/turnstile-token | python3 -c 'import json,sys;
             print(json.load(sys.stdin)["captcha_token"])'); curl -X POST {url}/contact-requests -d '{{"name": "Ana",
             "email": "ana@ejemplo.com", "subject": "Consulta", "message": "¿Tienen hosting Pyme?",
             "captcha_token": "'$T'"}}'   (Turnstile faked at {stack.turnstile.url})
  Chat       a Tawk.to chat ends (its signed transcript webhook, faked at {stack.tawkto.url}) and becomes a ticket:
             curl -X POST {url}/local/chats -d '{{"name": "Ana", "email": "demo@ejemplo.com.ar",
               "lines": [["v", "¿Tienen VPS?"], ["a", "Sí, desde el plan Cloud."]]}}'
  Clock      move it (renewals, SLA deadlines): curl -X POST {url}/local/clock -d '{{"advance": "PT2H"}}'
""")
    if stack.demo_users:
        print("Demo users - get an ID token and call the API with it:")
        for user in stack.demo_users:
            print(f"  {user.role:<48} {user.email} / {user.password}")
        first = stack.demo_users[0]
        print(f"""
  TOKEN=$(curl -s -X POST {url}/local/token -d '{{"email":"{first.email}","password":"{first.password}"}}' \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["id_token"])')
  curl -s {url}/me/services -H "Authorization: Bearer $TOKEN"
""")
    print("Ctrl-C to stop.", flush=True)
    done = threading.Event()

    def on_signal(*_):
        if done.is_set():  # a second Ctrl-C: leave now
            os._exit(130)
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    done.wait()
    started = time.monotonic()
    stack.stop()
    print(f"Stopped in {time.monotonic() - started:.1f} s.", flush=True)
    # Nothing is left to clean up (moto's state lives in memory): skip the interpreter's teardown of every
    # module and of the daemon threads still parked on keep-alive connections, which takes seconds.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
