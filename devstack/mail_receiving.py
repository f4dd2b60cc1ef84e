"""SES email receiving, locally: what the active receipt rule set (created from template.yaml in moto) says
SES does with an email — store it in S3 under the S3 action's prefix, then invoke the Lambda action's function
with the event SES sends (``Records[].ses.mail`` and ``receipt``, its verdicts) — and an SMTP server on
127.0.0.1:2525 (aiosmtpd) that takes mail the way SES's inbound endpoint does.

Verdicts are PASS unless a test asks otherwise: there is no SPF/DKIM to check on loopback. A header
``X-Local-Verdicts: spam=FAIL,dkim=FAIL`` on a message sent to the SMTP server sets them for that message, so a
person can watch quarantine and spoof handling on make dev (SES never passes such a header on: it is ours).
"""

import email.utils
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from devstack.cfn import Stack

LOCAL_VERDICTS_HEADER = "X-Local-Verdicts"


class NoRuleForRecipient(LookupError):
    pass


def ses_message_id(raw: bytes) -> str:
    """SES's ids are 20+ lowercase alphanumerics; a new one per delivery (a retry of SES's keeps its id)."""
    return hashlib.sha1(raw + uuid.uuid4().bytes).hexdigest()[:32]


def ses_event(raw: bytes, message_id: str, recipients: list[str], function_arn: str,
              verdicts: dict[str, str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The Lambda event of SES's receipt rule, as documented in the SES developer guide
    (receiving-email-action-lambda-event.html)."""
    now = now or datetime.now(UTC)
    message = message_from_bytes(raw, policy=policy.default)
    headers = [{"name": k, "value": str(v)} for k, v in message.raw_items()]
    source = email.utils.parseaddr(str(message.get("Return-Path") or message.get("From") or ""))[1]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    status = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS", **(verdicts or {})}
    return {"Records": [{
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {
            "mail": {
                "timestamp": stamp, "source": source, "messageId": message_id, "destination": recipients,
                "headersTruncated": False, "headers": headers,
                "commonHeaders": {
                    "returnPath": source, "from": [str(message.get("From") or "")],
                    "to": [str(message.get("To") or "")], "messageId": str(message.get("Message-ID") or ""),
                    "subject": str(message.get("Subject") or ""), "date": str(message.get("Date") or ""),
                },
            },
            "receipt": {
                "timestamp": stamp, "processingTimeMillis": 12, "recipients": recipients,
                **{f"{name}Verdict": {"status": status[name]} for name in ("spam", "virus", "spf", "dkim", "dmarc")},
                "dmarcPolicy": "none",
                "action": {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"},
            },
        },
    }]}


def _matches(rule: dict[str, Any], recipient: str) -> bool:
    wanted = [r.lower() for r in rule.get("Recipients") or []]
    if not wanted:
        return True
    address = recipient.lower()
    domain = address.rpartition("@")[2]
    return address in wanted or domain in wanted or any(w.startswith(".") and domain.endswith(w) for w in wanted)


class ReceiptRules:
    """The active rule set of the local SES, applied to one email as SES applies it."""

    def __init__(self, stack: Stack, runtime: Any, session: Any):
        self.stack, self.runtime = stack, runtime
        self.ses, self.s3 = session.client("ses"), session.client("s3")

    def _rules(self) -> list[dict[str, Any]]:
        active = self.ses.describe_active_receipt_rule_set()
        return [r for r in active.get("Rules") or [] if r.get("Enabled", True)]

    def accepts(self, recipient: str) -> bool:
        return any(_matches(rule, recipient) for rule in self._rules())

    def deliver(self, raw: bytes, recipients: list[str], verdicts: dict[str, str] | None = None,
                message_id: str | None = None) -> list[Any]:
        """Run the matching rule's actions; what the invoked functions returned."""
        rules = [r for r in self._rules() if any(_matches(r, x) for x in recipients)]
        if not rules:
            raise NoRuleForRecipient(", ".join(recipients))
        message_id = message_id or ses_message_id(raw)
        results = []
        for rule in rules[:1]:  # SES runs the first matching rule (its StopAction aside)
            matched = [x for x in recipients if _matches(rule, x)]
            for action in rule.get("Actions") or []:
                if "S3Action" in action:
                    store = action["S3Action"]
                    self.s3.put_object(Bucket=store["BucketName"],
                                       Key=store.get("ObjectKeyPrefix", "") + message_id, Body=raw)
                elif "LambdaAction" in action:
                    arn = action["LambdaAction"]["FunctionArn"]
                    logical_id = arn.rsplit(":", 1)[-1].removeprefix(f"{self.stack.name}-")
                    event = ses_event(raw, message_id, matched, arn, verdicts)
                    results.append(self.runtime.invoke(logical_id, event))
        return results


def verdicts_from_header(raw: bytes) -> dict[str, str]:
    message = message_from_bytes(raw, policy=policy.default)
    value = str(message.get(LOCAL_VERDICTS_HEADER) or "")
    found = {}
    for part in value.split(","):
        name, _, status = part.strip().partition("=")
        if name.lower() in {"spam", "virus", "spf", "dkim", "dmarc"} and status:
            found[name.lower()] = status.strip().upper()
    return found


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1:<port>: each accepted message goes through ReceiptRules, as SES would take it."""

    def __init__(self, rules: ReceiptRules, host: str = "127.0.0.1", port: int = 2525, log=print):
        self.rules, self.host, self.port, self.log = rules, host, port, log
        self.controller = None
        self._lock = threading.Lock()  # one email at a time: the local Lambda runtime is shared

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's API)
        if not self.rules.accepts(address):
            return "550 5.1.1 Recipient address rejected: no receipt rule for it"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        raw = envelope.original_content or envelope.content
        try:
            with self._lock:
                results = self.rules.deliver(raw, list(envelope.rcpt_tos), verdicts_from_header(raw))
        except Exception as error:  # noqa: BLE001 - the sender gets a temporary failure, as SES's would retry
            self.log(f"[smtp] delivery failed: {error!r}")
            return "451 4.3.0 Temporary failure, try again later"
        self.log(f"[smtp] {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: {json.dumps(results)}")
        return "250 OK"

    def start(self) -> "SmtpReceiver":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname=self.host, port=self.port, decode_data=False,
                                     data_size_limit=40 * 1024 * 1024)  # SES's limit for a received message
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

