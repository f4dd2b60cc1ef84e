"""Email to support on `make dev`: a message sent with smtplib to the loopback SMTP server goes through the
template's SES receipt rule (S3, then the inbound-mail function) and opens a ticket the demo holder sees in
the panel; staff answer; the copy of the answer is in what SES "sent", threaded to the client's email."""

import smtplib
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

HOLDER, STAFF = "demo@ejemplo.com.ar", "staff@ejemplo.com.ar"


def test_an_email_to_support_becomes_the_holders_ticket_and_the_staff_reply_comes_back_threaded(local_stack):
    http = local_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)
    domain = "soporte.paneldecliente.com"
    message = EmailMessage()
    message["From"] = f"Demo <{HOLDER}>"
    message["To"] = f"tickets@{domain}"
    message["Subject"] = "Consulta por correo: el webmail no abre"
    message["Message-ID"] = "<e2e-webmail-1@ejemplo.com.ar>"
    message.set_content("Hola, el webmail me da error de certificado desde ayer.\n\n-- \nDemo")
    with smtplib.SMTP("127.0.0.1", http.smtp_port, timeout=30) as smtp:
        refused = smtp.sendmail(HOLDER, [f"tickets@{domain}"], message.as_bytes())
    assert refused == {}

    def mine():
        return [t for t in http.json("GET", "/me/tickets", token=holder)[1]
                if t["subject"] == "Consulta por correo: el webmail no abre"]

    (ticket,) = wait_for(mine, bool)
    status, detail = http.json("GET", f"/me/tickets/{ticket['ticket_id']}", token=holder)
    assert status == 200 and detail["messages"][0]["channel"] == "email"
    assert detail["messages"][0]["body"] == "Hola, el webmail me da error de certificado desde ayer."

    status, answered = http.json("POST", f"/staff/tickets/{ticket['ticket_id']}/replies", token=staff,
                                 body={"body": "Renovamos el certificado: pruebe de nuevo, por favor."})
    assert status == 200, answered
    ours = f"<ticket.{ticket['ticket_id']}.{answered['messages'][-1]['message_id']}@{domain}>"

    def copies():
        return [m for m in http.json("GET", "/local/emails")[1]["emails"]
                if (m.get("message_id_header") or "").strip() == ours]

    (copy,) = wait_for(copies, bool)
    assert copy["to"] == [HOLDER] and "Renovamos el certificado" in copy["text"]
    assert copy["reply_to"] == f"tickets+{ticket['ticket_id']}@{domain}"
    references = copy["headers"]["References"].split()
    assert references[0] == "<e2e-webmail-1@ejemplo.com.ar>"
    assert copy["headers"]["In-Reply-To"].strip() == references[-1]


def test_smtp_refuses_a_recipient_no_receipt_rule_takes(local_stack):
    with smtplib.SMTP("127.0.0.1", local_stack.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("MAIL FROM:<alguien@ejemplo.com>")
        assert code == 250
        code, answer = smtp.docmd("RCPT TO:<alguien@otro-dominio.com>")
    assert code == 550 and b"receipt rule" in answer
