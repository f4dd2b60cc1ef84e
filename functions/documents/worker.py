"""Mail queue consumer: invoice documents and emails (issued, paid, overdue) and "Habilitación del servicio",
from the events the outbox relays to the mail queue (shared.events.MAILED)."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from documents.invoice_documents import Issuer, SequenceNumbering
from documents.logic import Mailer, handle_event

from shared import config
from shared.aws import LazyClient
from shared.batch import process_sqs
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.billing import Billing
from shared.dal.mail import SentEmails
from shared.dal.services import Services

logger = Logger()
s3, sesv2 = LazyClient("s3"), LazyClient("sesv2")
billing = Billing()


def mailer() -> Mailer:
    """Settings are read per batch (cheap), so a test or the local stack can point a warm process elsewhere."""
    issuer = Issuer(
        name=config.env(config.INVOICE_ISSUER_NAME, "Paneldecliente"),
        tax_id=config.env(config.INVOICE_ISSUER_TAX_ID, "") or None,
        details=tuple(p.strip() for p in config.env(config.INVOICE_ISSUER_DETAILS, "").split("|") if p.strip()),
        point_of_sale=config.env(config.INVOICE_POINT_OF_SALE, "0001"),
    )
    return Mailer(
        billing=billing, accounts=Accounts(), services=Services(), sent=SentEmails(), s3=s3, sesv2=sesv2,
        bucket=config.env(config.DOCUMENTS_BUCKET), numbering=SequenceNumbering(billing, issuer.point_of_sale),
        issuer=issuer, sender=f"Paneldecliente <facturacion@{config.env(config.MAIL_DOMAIN)}>",
        panel_url=config.env(config.PANEL_URL), clock=SystemClock(),
        configuration_set=config.env(config.MAIL_CONFIGURATION_SET, "") or None,
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    current = mailer()

    def record_handler(record: SQSRecord) -> None:
        envelope = json.loads(record.body)
        sent = handle_event(current, envelope)
        if sent:
            logger.info("emails sent", extra={"event_id": envelope.get("id"), "type": envelope.get("type"),
                                              "sent": len(sent)})

    return process_sqs(event, record_handler, context)
