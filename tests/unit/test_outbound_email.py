"""shared.outbound_email: the MIME message it builds, and sending it through SESv2 (moto)."""

import email
import email.policy
import random
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from devstack import mailbox
from devstack.cfn import ACCOUNT_ID, create_email_identity, provision
from shared.outbound_email import (
    Attachment,
    InvalidEmail,
    OutgoingEmail,
    PermanentEmailFailure,
    TransientEmailFailure,
    build_message,
    recipient_message_id,
    send,
    send_each,
    to_bytes,
)

PDF = b"%PDF-1.4\n% factura de prueba\n" + bytes(range(256))
NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
DOMAIN = "mail.paneldecliente.example"


def invoice_email(**changes) -> OutgoingEmail:
    fields = dict(
        sender="Facturación Paneldecliente <facturacion@paneldecliente.example>",
        to=("Juan Núñez <juan.nunez@cliente.example>",),
        subject="Tu factura Nº 0001-00001234 está disponible — vencé pronto, señor Núñez",
        text="Hola, Juan:\n\nAdjuntamos tu factura Nº 0001-00001234 por $ 12.345,67.\n¡Gracias por elegirnos!\n",
        html="<p>Hola, Juan:</p><p>Adjuntamos tu factura Nº 0001-00001234 por <b>$ 12.345,67</b>.</p>",
        attachments=(Attachment("Factura Nº 0001-00001234.pdf", PDF),),
        reply_to="Atención al cliente <soporte@paneldecliente.example>",
        headers=(("X-Paneldecliente-Event", "01JNP5Z8Q4V3XK2M7R9T6W1Y0A"),),
    )
    fields.update(changes)
    return OutgoingEmail(**fields)


def round_trip(msg) -> email.message.EmailMessage:
    raw = to_bytes(msg)
    raw.decode("ascii")  # 7-bit on the wire
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_message_is_mixed_with_alternative_text_html_then_the_pdf():
    got = round_trip(build_message(invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN,
                                   message_id="01JNP5Z8Q4V3XK2M7R9T6W1Y0A", now=NOW))

    assert got.get_content_type() == "multipart/mixed"
    alternative, pdf = got.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert got.get_body(("plain",)).get_content() == invoice_email().text.replace("\n", "\r\n")  # CRLF on the wire
    assert "<b>$ 12.345,67</b>" in got.get_body(("html",)).get_content()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content_disposition() == "attachment"
    assert pdf.get_filename() == "Factura Nº 0001-00001234.pdf"
    assert pdf.get_content() == PDF
    assert got["MIME-Version"] == "1.0" and all(p["MIME-Version"] is None for p in got.walk() if p is not got)


def test_accents_in_subject_and_display_names_survive_the_round_trip():
    got = round_trip(build_message(invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN, now=NOW))

    assert got["Subject"] == invoice_email().subject
    assert got["From"].addresses[0].display_name == "Facturación Paneldecliente"
    assert got["From"].addresses[0].addr_spec == "facturacion@paneldecliente.example"
    assert got["To"].addresses[0].display_name == "Juan Núñez"  # the name listed in email.to
    assert got["Reply-To"].addresses[0].display_name == "Atención al cliente"
    assert got["X-Paneldecliente-Event"] == "01JNP5Z8Q4V3XK2M7R9T6W1Y0A"
    assert got["Date"] == "Mon, 10 Mar 2025 15:30:00 +0000"


def test_long_spanish_subjects_keep_every_space_when_folded():
    # Python 3.11's own folder drops the space between two encoded words ("pronto:señor").
    words = ["Tu", "factura", "Nº", "0001", "—", "vencé", "pronto:", "señor", "Núñez,", "¿cómo", "estás?", "año",
             "pagó", "aviso", "de", "suspensión"]
    rng = random.Random(7)
    for _ in range(100):
        subject = " ".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
        got = round_trip(build_message(invoice_email(subject=subject), "juan.nunez@cliente.example",
                                       message_id_domain=DOMAIN, now=NOW))
        assert got["Subject"] == subject
        assert all(len(line) <= 78 for line in to_bytes(got).split(b"\r\n")[:12])


def test_message_id_is_deterministic_when_given():
    def message_id(**kw):
        return build_message(invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN, **kw)[
            "Message-ID"]

    assert message_id(message_id="01JNP5Z8Q4V3XK2M7R9T6W1Y0A") == f"<01JNP5Z8Q4V3XK2M7R9T6W1Y0A@{DOMAIN}>"
    assert message_id(message_id="evt-1") == message_id(message_id="evt-1")
    assert message_id() != message_id()  # generated
    with pytest.raises(InvalidEmail):
        message_id(message_id="a@b>\r\nBcc: x@y")
    assert recipient_message_id("evt-1", "A@Cliente.example") == recipient_message_id("evt-1", "a@cliente.example")
    assert recipient_message_id("evt-1", "a@cliente.example") != recipient_message_id("evt-1", "b@cliente.example")


@pytest.mark.parametrize("changes", [
    {"subject": "Factura\r\nBcc: victima@otro.example"},
    {"subject": "Factura\nBcc: victima@otro.example"},
    {"subject": "Factura\u2028Bcc: victima@otro.example"},
    {"sender": "Paneldecliente\r\nBcc: victima@otro.example <facturacion@paneldecliente.example>"},
    {"reply_to": "soporte@paneldecliente.example\r\nBcc: victima@otro.example"},
    {"headers": (("X-Paneldecliente-Event", "1\r\nBcc: victima@otro.example"),)},
    {"headers": (("Bcc", "victima@otro.example"),)},
    {"headers": (("X-Bad Name", "1"),)},
    {"attachments": (Attachment("factura.pdf\r\nBcc: victima@otro.example", PDF),)},
    {"sender": "dos@a.example, tres@b.example"},
])
def test_header_injection_is_refused(changes):
    with pytest.raises(InvalidEmail, match="line breaks|expected one|header name|not a header"):
        build_message(invoice_email(**changes), "juan.nunez@cliente.example", message_id_domain=DOMAIN, now=NOW)


def test_recipient_must_be_one_address_of_the_email():
    with pytest.raises(InvalidEmail):
        build_message(invoice_email(), "juan.nunez@cliente.example\r\nBcc: x@y.example", message_id_domain=DOMAIN)
    with pytest.raises(InvalidEmail, match="not one of"):
        build_message(invoice_email(), "otro@cliente.example", message_id_domain=DOMAIN)
    assert isinstance(InvalidEmail("x"), ValueError) and isinstance(InvalidEmail("x"), PermanentEmailFailure)


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("sesv2", region_name="us-east-1")


def test_send_through_sesv2_and_read_it_back_from_the_mailbox(aws):
    create_email_identity(aws, "PanelDeCliente.example")  # a domain identity, as template.yaml declares one

    ses_id = send(aws, invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN,
                  message_id="01JNP5Z8Q4V3XK2M7R9T6W1Y0A", now=NOW)

    (sent,) = mailbox.sent_emails(ACCOUNT_ID, "us-east-1")
    assert sent["message_id"] == ses_id
    assert sent["from"] == "Facturación Paneldecliente <facturacion@paneldecliente.example>"
    assert sent["to"] == ["juan.nunez@cliente.example"] == sent["destinations"]
    assert sent["subject"] == invoice_email().subject
    assert sent["date"] == "Mon, 10 Mar 2025 15:30:00 +0000"
    assert sent["message_id_header"] == f"<01JNP5Z8Q4V3XK2M7R9T6W1Y0A@{DOMAIN}>"
    assert sent["text"] == invoice_email().text
    assert sent["html"].rstrip("\n") == invoice_email().html
    assert sent["attachments"] == [{"filename": "Factura Nº 0001-00001234.pdf", "mime_type": "application/pdf",
                                    "size": len(PDF)}]
    assert sent["headers"]["X-Paneldecliente-Event"] == "01JNP5Z8Q4V3XK2M7R9T6W1Y0A"
    assert mailbox.attachment(ses_id, "Factura Nº 0001-00001234.pdf") == PDF == mailbox.attachment(
        0, "Factura Nº 0001-00001234.pdf")


def test_send_each_sends_one_message_per_recipient(aws):
    create_email_identity(aws, "facturacion@paneldecliente.example")  # an address identity
    both = invoice_email(to=("juan.nunez@cliente.example", "María Pérez <maria@cliente.example>"))

    ids = send_each(aws, both, message_id_domain=DOMAIN, message_id="evt-7", now=NOW)

    sent = mailbox.sent_emails()
    assert [s["to"] for s in sent] == [["juan.nunez@cliente.example"], ["maria@cliente.example"]]
    assert [s["message_id"] for s in sent] == list(ids.values())
    assert sent[1]["headers"]["To"] == "María Pérez <maria@cliente.example>"
    assert sent[0]["message_id_header"] == f"<{recipient_message_id('evt-7', 'juan.nunez@cliente.example')}@{DOMAIN}>"


def test_sending_from_an_unverified_identity_is_retried_not_dropped(aws):
    """SES refuses a sender outside our verified identities (or in the sandbox) with MessageRejected: that is for
    operations to fix, after which the same email goes out, so it is transient."""
    create_email_identity(aws, "otro-dominio.example")
    with pytest.raises(TransientEmailFailure) as failure:
        send(aws, invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN)
    assert failure.value.code == "MessageRejected"
    assert failure.value.recipient == "juan.nunez@cliente.example"
    assert mailbox.sent_emails() == []


def test_send_each_reports_who_got_it_when_one_recipient_fails(aws):
    create_email_identity(aws, "paneldecliente.example")
    stubbed = invoice_email(to=("a@cliente.example", "b@cliente.example"))
    stubber = Stubber(aws)
    stubber.add_response("send_email", {"MessageId": "ses-1"})
    stubber.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    with stubber, pytest.raises(TransientEmailFailure) as failure:
        send_each(aws, stubbed, message_id_domain=DOMAIN)
    assert failure.value.sent == {"a@cliente.example": "ses-1"}
    assert set(failure.value.failures) == {"b@cliente.example"}


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("TooManyRequestsException", 429, TransientEmailFailure),
    ("Throttling", 400, TransientEmailFailure),
    ("LimitExceededException", 400, TransientEmailFailure),
    ("SendingPausedException", 400, TransientEmailFailure),
    ("InternalFailure", 500, TransientEmailFailure),
    ("SomethingNew", 503, TransientEmailFailure),
    ("MessageRejected", 400, PermanentEmailFailure),  # e.g. "Address blacklisted."
    ("MailFromDomainNotVerifiedException", 400, PermanentEmailFailure),
    ("AccountSuspendedException", 400, PermanentEmailFailure),
    ("NotFoundException", 404, PermanentEmailFailure),
    ("BadRequestException", 400, PermanentEmailFailure),
])
def test_ses_errors_are_classified(code, status, kind):
    client = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    stubber = Stubber(client)
    stubber.add_client_error("send_email", code, "mensaje", status)
    with stubber, pytest.raises(kind) as failure:
        send(client, invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN, configuration_set="cs")
    assert failure.value.code == code and type(failure.value) is kind


def test_connection_errors_are_transient():
    class Unreachable:
        def send_email(self, **request):
            assert request["FromEmailAddress"] == "facturacion@paneldecliente.example"
            assert request["Destination"] == {"ToAddresses": ["juan.nunez@cliente.example"]}
            assert request["Content"]["Raw"]["Data"].startswith(b"From: ")
            raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    with pytest.raises(TransientEmailFailure, match="unreachable"):
        send(Unreachable(), invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN)


def test_template_identity_and_configuration_set_are_provisioned(aws):
    template = {"Resources": {
        "Sending": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"SendingOptions": {"SendingEnabled": True}}},
        "Identity": {"Type": "AWS::SES::EmailIdentity", "Properties": {
            "EmailIdentity": "paneldecliente.example",
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "Sending"}}}},
    }}
    stack = provision(boto3.session.Session(region_name="us-east-1"), stack_name="t", template=template)

    assert stack.refs == {"Sending": "t-Sending", "Identity": "paneldecliente.example"}
    assert not stack.skipped
    assert aws.get_configuration_set(ConfigurationSetName="t-Sending")["ConfigurationSetName"] == "t-Sending"
    assert aws.get_email_identity(EmailIdentity="paneldecliente.example")["IdentityType"] == "DOMAIN"
    send(aws, invoice_email(), "juan.nunez@cliente.example", message_id_domain=DOMAIN, configuration_set="t-Sending")
    assert len(mailbox.sent_emails()) == 1
