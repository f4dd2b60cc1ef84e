"""`make dev`: the whole stack on http://127.0.0.1:3000 until Ctrl-C."""

import argparse
import signal
import threading

from devstack.stack import LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(description="Paneldecliente local stack")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    stack = LocalStack(port=args.port, aws_port=args.aws_port, seed=not args.no_seed).start()
    url = stack.url
    print(f"""
Paneldecliente local stack
  API        {url}            (API Gateway + Cognito authorizer, real handlers)
  Swagger    {url}/swagger
  OpenAPI    {url}/openapi.json
  AWS (moto) {stack.aws.endpoint}   (export AWS_ENDPOINT_URL={stack.aws.endpoint} to use the AWS CLI/boto3)
  Resources  {len(stack.stack.refs)} from template.yaml; functions: {", ".join(sorted(stack.stack.functions))}
  Schedules  {", ".join(sorted(stack.scheduler.schedules)) or "-"}
             fire one now: curl -X POST {url}/local/schedules/<name>   (or: make fire SCHEDULE=<name>)
  Provision  cPanel/WHM faked at {stack.whm.url} (instant products are created there once paid)
  Payments   Mercado Pago API faked at {stack.mercadopago.url}; pay an invoice end to end:
             curl -X POST {url}/local/payments -d '{{"invoice_id": "<id>"}}'   (add "provider": "stripe")
  WhatsApp   Cloud API faked at {stack.whatsapp.url}; what it "sent": curl {url}/local/whatsapp
             make it answer an error code: curl -X POST {url}/local/whatsapp/errors -d '{{"code": 131026}}'
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
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    stack.stop()


if __name__ == "__main__":
    main()
