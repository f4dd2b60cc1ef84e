"""Invoice numbers and PDFs, and the emails of invoices and of a service enabled: the relay puts the events on
the mail queue, the documents worker runs on them (S3 and SES on moto), the PDF is read back with pypdf."""

import io
import json
import urllib.request
from datetime import timedelta

import boto3
import pytest
from pypdf import PdfReader

from devstack import mailbox
from devstack.fake_whm import FakeWhm
from shared.dal.billing import Invoice
from shared.dal.mail import SentEmail
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import mail, pay, provision, relay
from tests.integration.test_invitations import accept

STAFF = claims_for(staff=True, sub="staff-1")


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def account(api, catalog):
    """A holder (with a CUIT), a contact who receives the invoices, one who only sees them, one with neither."""
    client_id = api.call("POST", "/clients", body={"email": "ana@ejemplo.com.ar", "password": "Segura123",
                                                    "name": "Ana Núñez"}).json()["client_id"]
    holder = claims_for(client_id=client_id, sub="sub-ana")
    profile = {"company": "Núñez SRL", "tax_id": "20-12345678-6"}
    assert api.call("PATCH", "/me", claims=holder, body=profile).status == 200
    for email, rights in (("pagos@ejemplo.com.ar", ["invoices", "receive_invoices"]),
                          ("socio@ejemplo.com.ar", ["invoices"]), ("tecnico@ejemplo.com.ar", ["services"])):
        body = {"name": "Contacto", "email": email, "permissions": rights}
        assert api.call("POST", "/me/contacts", claims=holder, body=body).status == 201
        assert accept(api, email).status == 200  # an invited contact gets no invoice until it accepts
    return client_id, holder


def _order(api, client_id, product_id="hosting-inicial", **extra):
    body = {"product_id": product_id, "billing_cycle": "annually", **extra}
    response = api.call("POST", f"/staff/clients/{client_id}/orders", claims=STAFF, body=body)
    assert response.status == 201, response
    return response.json()


def _sent(kind=None):
    """What SES sent but the contacts' invitations (the fixture's)."""
    return [m for m in mailbox.sent_emails()
            if (kind is None or kind in m["subject"]) and "lo invita" not in m["subject"]]


def _records():
    return [i for i in TableItem.scan() if isinstance(i, SentEmail) and i.kind != "contact_invitation"]


def test_an_issued_invoice_is_numbered_rendered_stored_and_mailed_to_whoever_receives_invoices(
        api, stack, aws, account):
    client_id, holder = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]
    pending = api.call("GET", f"/me/invoices/{invoice_id}/document", claims=holder)
    assert (pending.status, pending.json()["code"]) == (409, "document_pending")

    relay(stack, aws)
    mail(stack)

    invoice = Invoice.get(*Invoice.key(invoice_id))
    assert invoice.number == "0001-00000001"
    sent = _sent("emitida")
    # Not socio@ (sees and pays them in the panel, receives none) nor tecnico@.
    assert sorted(m["to"][0] for m in sent) == ["ana@ejemplo.com.ar", "pagos@ejemplo.com.ar"]
    message = sent[0]
    assert message["subject"].startswith("Factura 0001-00000001 emitida - vence el ")
    assert message["from"] == "Paneldecliente <facturacion@paneldecliente.com>"
    assert "Emitimos la factura 0001-00000001 por ARS 100,00" in message["text"]
    assert "<a href=" in message["html"]
    assert message["attachments"] == [{"filename": "factura-0001-00000001.pdf", "mime_type": "application/pdf",
                                       "size": message["attachments"][0]["size"]}]
    pdf = mailbox.attachment(message["message_id"], "factura-0001-00000001.pdf")
    text = _text(pdf)
    for expected in ("0001-00000001", "Ana Núñez", "20-12345678-6", "Núñez SRL", "Hosting Inicial (anual)",
                     "$ 100,00", "Pendiente de pago", "no válido como factura electrónica"):
        assert expected in text, expected

    # Whoever may see the invoice downloads the same PDF through a short-lived link.
    link = api.call("GET", f"/me/invoices/{invoice_id}/document", claims=holder)
    assert link.status == 200, link
    assert link.json()["filename"] == "factura-0001-00000001.pdf"
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in link.json()["url"]  # SigV4: new buckets refuse SigV2
    with urllib.request.urlopen(link.json()["url"], timeout=10) as response:  # noqa: S310 (moto, loopback)
        assert response.read() == pdf
    assert api.call("GET", "/me/invoices", claims=holder).json()[0]["number"] == "0001-00000001"


def test_a_redelivered_event_mails_no_one_twice_and_numbers_follow_each_other(api, stack, aws, account):
    client_id, _ = account
    first = _order(api, client_id)["invoice"]["invoice_id"]
    relay(stack, aws)
    mail(stack)
    relay(stack, aws)  # the relay reads the stream from its start: every event comes again
    second = _order(api, client_id, "hosting-avanzado")["invoice"]["invoice_id"]
    relay(stack, aws)
    mail(stack)
    numbers = [Invoice.get(*Invoice.key(i)).number for i in (first, second)]
    assert numbers == ["0001-00000001", "0001-00000002"]
    assert sorted((m["subject"].split(" ")[1], m["to"][0]) for m in _sent("emitida")) == [
        ("0001-00000001", "ana@ejemplo.com.ar"), ("0001-00000001", "pagos@ejemplo.com.ar"),
        ("0001-00000002", "ana@ejemplo.com.ar"), ("0001-00000002", "pagos@ejemplo.com.ar")]
    assert len(_records()) == 4


def test_a_paid_invoice_is_mailed_again_with_its_pdf_saying_so(api, stack, aws, account, store, now):
    client_id, _ = account
    invoice_id = _order(api, client_id, "vps-cloud")["invoice"]["invoice_id"]
    pay(store, invoice_id, at=now + timedelta(minutes=1))
    relay(stack, aws)
    mail(stack)
    paid = _sent("Recibimos su pago")
    assert sorted(m["to"][0] for m in paid) == ["ana@ejemplo.com.ar", "pagos@ejemplo.com.ar"]
    pdf = mailbox.attachment(paid[0]["message_id"], paid[0]["attachments"][0]["filename"])
    assert "Pagada" in _text(pdf) and "US$ 200,00" in _text(pdf)
    s3 = boto3.client("s3", region_name="us-east-1")
    versions = s3.list_object_versions(Bucket=stack.refs["DocumentsBucket"],
                                       Prefix=f"invoices/{client_id}/{invoice_id}.pdf")["Versions"]
    # One render per event (issued, then paid; both were relayed together): the newest says it is paid.
    assert len(versions) == 2
    latest = s3.get_object(Bucket=stack.refs["DocumentsBucket"], Key=f"invoices/{client_id}/{invoice_id}.pdf")
    assert "Pagada" in _text(latest["Body"].read())


def test_an_enabled_hosting_gets_the_habilitacion_email_with_the_self_service_migration(
        api, stack, aws, account, store, request):
    client_id, _ = account
    whm = FakeWhm("docs-whm-token").start()
    request.addfinalizer(whm.stop)
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=stack.refs["ProvisioningSecrets"], SecretString=json.dumps({"whm_url": whm.url,
                                                                             "whm_token": "docs-whm-token"}))
    order = _order(api, client_id, domain="nunez.com.ar", credentials={"clave cPanel": "No-En-El-Email-1"})
    pay(store, order["invoice"]["invoice_id"])
    relay(stack, aws)
    provision(stack)
    relay(stack, aws)
    mail(stack)
    enabled = _sent("Habilitación del servicio")
    assert [m["to"] for m in enabled] == [["ana@ejemplo.com.ar"]]  # the holder only
    text = enabled[0]["text"]
    assert enabled[0]["subject"] == "Habilitación del servicio Hosting Inicial (nunez.com.ar)"
    assert "ya está activo" in text and "MANUAL" in text and "opción 2" in text
    assert f"/servicios/{order['service']['service_id']}" in text
    assert "No-En-El-Email-1" not in text and "No-En-El-Email-1" not in enabled[0]["html"]


def test_a_free_invoice_gets_its_document_but_no_email(api, stack, aws, account):
    client_id, _ = account
    invoice_id = _order(api, client_id, "soporte-standard", billing_cycle="monthly")["invoice"]["invoice_id"]
    relay(stack, aws)
    mail(stack)
    assert Invoice.get(*Invoice.key(invoice_id)).document_key
    assert _sent("Factura") == [] and _sent("Recibimos") == []
    assert len(_sent("Habilitación")) == 1  # the support plan is active at once: not a hosting, no migration
    assert "opción 2" not in _sent("Habilitación")[0]["text"]


def test_an_unverified_sender_is_retried_not_dropped(api, stack, aws, account, monkeypatch):
    client_id, _ = account
    from devstack.runtime import ENV_OVERRIDES

    # After the template's value, as every Runtime applies it (an address outside the SES identity).
    monkeypatch.setitem(ENV_OVERRIDES, "MAIL_DOMAIN", "no-verificado.example")
    _order(api, client_id)
    relay(stack, aws)
    records, answer = mail(stack)
    # Back to the queue (its DLQ alarms after five receipts): nothing recorded as sent or rejected.
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                            if json.loads(r["body"])["type"] == "invoice.created"]}
    assert _records() == []
    assert _sent() == []


def test_a_payment_racing_the_document_step_is_settled_at_once_not_after_a_queue_timeout(api, stack, account, store,
                                                                                        now):
    """The documents worker numbers an invoice between the settlement's read and its write: the settlement
    reads again and applies the payment (before, it went back to the queue for its visibility timeout)."""
    from documents.invoice_documents import Issuer, SequenceNumbering, make_document
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.clock import FixedClock
    from shared.dal.billing import Billing
    from shared.money import Money

    client_id, _ = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]
    s3 = boto3.client("s3", region_name="us-east-1")
    issuer = Issuer("Paneldecliente", None, (), "0001")

    class DocumentStepMeanwhile(Billing):
        raced = False

        def find_invoice(self, wanted):
            found = super().find_invoice(wanted)
            if not self.raced:
                self.raced = True
                make_document(Billing(), s3, stack.refs["DocumentsBucket"], SequenceNumbering(Billing(), "0001"),
                              Billing().find_invoice(wanted), None, issuer)
            return found

    reported = ProviderPayment("mercadopago", "mp-carrera", "approved", Money(10000, "ARS"), invoice_id, "approved")
    assert settle(DocumentStepMeanwhile(), store.accounts, FixedClock(now), reported) == "applied"
    invoice = Invoice.get(*Invoice.key(invoice_id))
    assert (invoice.status, invoice.number) == ("paid", "0001-00000001")


def test_invoices_issued_before_the_document_step_are_numbered_in_issue_order_once(api, stack, account):
    from tools.backfill_documents import backfill

    client_id, holder = account
    first = _order(api, client_id)["invoice"]["invoice_id"]  # no relay: the worker never saw them
    second = _order(api, client_id, "hosting-avanzado")["invoice"]["invoice_id"]
    assert backfill(dry_run=True) == {"numbered": 2, "already": 0, "cancelled": 0}
    assert backfill() == {"numbered": 2, "already": 0, "cancelled": 0}
    assert [Invoice.get(*Invoice.key(i)).number for i in (first, second)] == ["0001-00000001", "0001-00000002"]
    assert api.call("GET", f"/me/invoices/{second}/document", claims=holder).status == 200
    assert backfill() == {"numbered": 0, "already": 2, "cancelled": 0}
    assert _sent() == []  # documents only: no email for old invoices


def _deliver(stack, *envelopes):
    """The documents worker on hand-made envelopes (what the relay puts on the mail queue), one batch."""
    from devstack.runtime import Runtime

    records = [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(e)} for i, e in enumerate(envelopes)]
    return Runtime(stack).invoke("DocumentsFunction", {"Records": records})


def _envelope(event_type, client_id, payload, event_id=None):
    from datetime import UTC, datetime

    from shared.clock import to_storage
    from shared.ids import new_id

    return {"id": event_id or new_id(), "type": event_type, "occurred_at": to_storage(datetime.now(UTC)),
            "client_id": client_id, "payload": payload, "version": 1}


def test_an_overdue_notice_carries_the_pdf_as_the_invoice_stands_now(api, stack, aws, account, store, now):
    """Paid in part after issue: the overdue email's PDF shows what was paid and what is owed."""
    from payments.providers import ProviderPayment
    from payments.settlement import settle

    from shared.clock import FixedClock
    from shared.money import Money

    client_id, _ = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]  # ARS 100,00
    relay(stack, aws)
    mail(stack)
    settle(store.billing, store.accounts, FixedClock(now),
           ProviderPayment("mercadopago", "mp-parte", "approved", Money(4000, "ARS"), invoice_id, "approved"))
    _deliver(stack, _envelope("invoice.overdue", client_id, {"invoice_id": invoice_id, "days_overdue": 3}))
    overdue = _sent("vencida")
    assert sorted(m["to"][0] for m in overdue) == ["ana@ejemplo.com.ar", "pagos@ejemplo.com.ar"]
    assert "tiene un saldo de ARS 60,00" in overdue[0]["text"] and "suspensión" in overdue[0]["text"]
    text = _text(mailbox.attachment(overdue[0]["message_id"], overdue[0]["attachments"][0]["filename"]))
    assert "$ 40,00" in text and "$ 60,00" in text  # paid, and the balance


def test_a_cancelled_invoice_is_not_mailed_and_gets_no_number(api, stack, account):
    client_id, _ = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]
    invoice = Invoice.get(*Invoice.key(invoice_id))
    invoice.status = "cancelled"  # e.g. an upgrade withdrawn before the worker saw its invoice
    invoice.save()
    assert _deliver(stack, _envelope("invoice.created", client_id, {"invoice_id": invoice_id})) == {
        "batchItemFailures": []}
    assert Invoice.get(*Invoice.key(invoice_id)).number is None
    assert _sent() == []


def test_habilitacion_goes_once_per_service_even_if_it_is_activated_again(api, stack, account):
    client_id, _ = account
    service_id = _order(api, client_id, "soporte-profesional", billing_cycle="monthly")["service"]["service_id"]
    activated = {"service_id": service_id, "product_name": "Soporte Profesional"}
    _deliver(stack, _envelope("service.activated", client_id, activated))
    _deliver(stack, _envelope("service.activated", client_id, activated))  # restored after a refund, paid again
    assert len(_sent("Habilitación")) == 1


def test_two_deliveries_of_one_event_at_once_send_each_email_once(api, stack, account):
    from concurrent.futures import ThreadPoolExecutor

    client_id, _ = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]
    envelope = _envelope("invoice.created", client_id, {"invoice_id": invoice_id})
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _deliver(stack, envelope), range(3)))
    assert all(a == {"batchItemFailures": []} for a in answers), answers
    assert sorted(m["to"][0] for m in _sent("emitida")) == ["ana@ejemplo.com.ar", "pagos@ejemplo.com.ar"]
    assert {i.status for i in TableItem.scan() if isinstance(i, SentEmail)} == {"sent"}


def test_invoices_numbered_at_once_get_consecutive_numbers(api, stack, account):
    from concurrent.futures import ThreadPoolExecutor

    client_id, _ = account
    invoices = [_order(api, client_id)["invoice"]["invoice_id"] for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda i: _deliver(stack, _envelope("invoice.created", client_id,
                                                                       {"invoice_id": i})), invoices))
    assert all(a == {"batchItemFailures": []} for a in answers), answers
    numbers = sorted(Invoice.get(*Invoice.key(i)).number for i in invoices)
    assert numbers == [f"0001-0000000{n}" for n in range(1, 5)]


def test_after_the_split_the_contacts_who_saw_invoices_keep_receiving_them(api, account, capsys):
    """tools.backfill_receive_invoices, once after the deploy: `invoices` used to bring the emails too."""
    from shared.dal.accounts import Contact
    from tools.backfill_receive_invoices import main

    def rights():
        return {c.email: sorted(c.permissions) for c in Contact.scan()}

    assert main(["--created-before", "2000-01-01T00:00:00Z"]) == 0  # contacts made after the deploy: untouched
    assert "added" not in capsys.readouterr().out and rights()["socio@ejemplo.com.ar"] == ["invoices"]
    deploy = ["--created-before", "2099-01-01T00:00:00Z"]
    assert main([*deploy, "--dry-run"]) == 0 and "would_add: 1" in capsys.readouterr().out
    assert rights()["socio@ejemplo.com.ar"] == ["invoices"]  # a dry run changes nothing
    assert main(deploy) == 0 and "added: 1" in capsys.readouterr().out
    both = ["invoices", "receive_invoices"]
    assert rights() == {"pagos@ejemplo.com.ar": both, "socio@ejemplo.com.ar": both,
                        "tecnico@ejemplo.com.ar": ["services"]}
    assert main(deploy) == 0 and "added" not in capsys.readouterr().out  # once is enough: nothing more to add


@pytest.mark.parametrize(("claimed_ago", "record"), [(timedelta(minutes=6), "unknown"),
                                                     (timedelta(minutes=2), "sending")])  # may still be sending
def test_a_claim_left_by_a_delivery_that_died_is_never_sent_again(api, stack, account, claimed_ago, record):
    """A claim without its record: the delivery died, or DynamoDB refused the record, before or after SES took the
    email. Nobody can tell which: after five minutes it is marked unknown, never sent again (a second copy is
    worse than a missing one); the other recipient still gets the email."""
    from datetime import UTC, datetime

    from shared.clock import to_storage

    client_id, _ = account
    invoice_id = _order(api, client_id)["invoice"]["invoice_id"]
    envelope = _envelope("invoice.created", client_id, {"invoice_id": invoice_id})
    left = datetime.now(UTC) - claimed_ago
    SentEmail(*SentEmail.key(envelope["id"], "ana@ejemplo.com.ar"), event_id=envelope["id"],
              recipient="ana@ejemplo.com.ar", client_id=client_id, kind="invoice_issued", subject="Factura",
              status="sending", sent_at=to_storage(left)).save()
    assert _deliver(stack, envelope) == {"batchItemFailures": []}
    assert [m["to"][0] for m in _sent("emitida")] == ["pagos@ejemplo.com.ar"]
    assert SentEmail.get(*SentEmail.key(envelope["id"], "ana@ejemplo.com.ar")).status == record
