"""Email to support, as SES delivers it: the receipt rule's S3 action stored the raw message under
``mail/inbound/<SES message id>`` in the attachments bucket, then its Lambda action invokes this function
(asynchronously: a failure is retried twice by Lambda, then goes to the dead-letter queue) with
``Records[].ses.mail`` and ``Records[].ses.receipt`` (its SPF, DKIM, DMARC, spam and virus verdicts).

Each record is read, parsed and filed (tickets.email_intake); the InboundEmail record makes a retry file
nothing twice. A message that is not an email is recorded as ignored, never retried; a failure of DynamoDB or
S3 raises, so Lambda tries the whole event again and the records already filed are found filed.
"""

from typing import Any

from aws_lambda_powertools import Logger
from tickets.clocks import TicketPolicy
from tickets.email_intake import INBOUND_MAIL_PREFIX, Mailroom, Receipt, receive, record_unreadable
from tickets.email_parsing import MalformedEmail, parse
from tickets.records import Files, Repositories

from shared import config
from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.services import Services
from shared.dal.tickets import Tickets
from shared.errors import ConcurrentModification

logger = Logger()
clock = SystemClock()
repos = Repositories(Tickets(), Accounts(), Services())
s3 = LazyClient("s3", signature_version="s3v4")


def _verdict(receipt: dict, name: str) -> str:
    return str((receipt.get(name) or {}).get("status") or "GRAY").upper()


def receipt_of(ses: dict) -> Receipt:
    mail, receipt = ses.get("mail") or {}, ses.get("receipt") or {}
    message_id = str(mail.get("messageId") or "")
    return Receipt(
        ses_message_id=message_id, raw_key=INBOUND_MAIL_PREFIX + message_id,
        recipients=tuple(str(r).lower() for r in receipt.get("recipients") or mail.get("destination") or ()),
        spf=_verdict(receipt, "spfVerdict"), dkim=_verdict(receipt, "dkimVerdict"),
        dmarc=_verdict(receipt, "dmarcVerdict"), spam=_verdict(receipt, "spamVerdict"),
        virus=_verdict(receipt, "virusVerdict"), source=str(mail.get("source") or "").lower())


def mailroom() -> Mailroom:
    return Mailroom(repos, clock, TicketPolicy.from_env(), Files(s3, config.env(config.ATTACHMENTS_BUCKET)),
                    config.env(config.SUPPORT_MAIL_DOMAIN).lower())


def file_one(room: Mailroom, ses: dict, *, release: bool = False) -> str:
    receipt = receipt_of(ses)
    if not receipt.ses_message_id or "/" in receipt.ses_message_id:
        logger.warning("SES record without a usable messageId")
        return "ignored"
    raw = room.store.s3.get_object(Bucket=room.store.bucket, Key=receipt.raw_key)["Body"].read()
    try:
        parsed = parse(raw)
    except MalformedEmail as error:
        return record_unreadable(room, receipt, str(error)).outcome
    for attempt in range(2):
        try:
            return receive(room, receipt, parsed, release=release).outcome
        except ConcurrentModification:  # the same email filed by a concurrent delivery, or an ack counter race
            if attempt:
                raise
    raise AssertionError("unreachable")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    room = mailroom()
    outcomes = []
    for record in event.get("Records") or []:
        ses = record.get("ses") or {}
        outcome = file_one(room, ses)
        logger.info("email received", extra={"ses_message_id": (ses.get("mail") or {}).get("messageId"),
                                             "outcome": outcome})
        outcomes.append(outcome)
    return {"outcomes": outcomes}
