"""Email to support through the template's SES receipt rule (in moto): the raw message stored under the S3
action's prefix, the inbound-mail function invoked with SES's event — new tickets, replies threaded into
their ticket only when the sender is part of it and the email authentic, SES's retries filed once, loops,
bounces and auto-replies kept out, spam quarantined until staff release it."""

import json
import sys
from datetime import UTC, datetime
from email.message import EmailMessage

import boto3
import pytest

from shared.clock import FixedClock
from shared.dal.tickets import InboundEmail, Ticket, TicketNote, Tickets
from tests.integration.conftest import claims_for, fix_ticket_clocks

STAFF = claims_for(staff=True, sub="sub-staff")
HOLDER_EMAIL = "cliente-mail@ejemplo.com.ar"
DOMAIN = "soporte.paneldecliente.com"
SUPPORT = f"tickets@{DOMAIN}"
MONDAY_11 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def mail(api, stack, monkeypatch):
    """Delivers an email as SES would, with the functions' clocks fixed."""
    import tickets.ses_inbound  # noqa: F401 - its module is the first container's handler

    from devstack.mail_receiving import ReceiptRules
    from devstack.runtime import Runtime

    fixed = FixedClock(MONDAY_11)
    fix_ticket_clocks(api, monkeypatch, fixed)
    monkeypatch.setattr(sys.modules["tickets.ses_inbound"], "clock", fixed)
    rules = ReceiptRules(stack, Runtime(stack), boto3.Session(region_name="us-east-1"))

    def deliver(message: EmailMessage, to: str = SUPPORT, ses_id: str | None = None, **verdicts) -> str:
        (outcome,) = rules.deliver(message.as_bytes(), [to], verdicts or None, message_id=ses_id)
        return outcome["outcomes"][0]

    deliver.clock = fixed
    deliver.rules = rules
    return deliver


@pytest.fixture
def holder(api, catalog):
    made = api.call("POST", "/clients", body={"email": HOLDER_EMAIL, "password": "Segura123", "name": "Cliente Mail"})
    assert made.status == 201, made
    return made.json()["client_id"]


def email(sender=HOLDER_EMAIL, subject="Mi sitio no carga", body="Desde hoy da error 500.", message_id=None,
          **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Cliente <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{abs(hash((sender, subject, body)))}@mail.ejemplo.com.ar>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _inbound(message: EmailMessage) -> InboundEmail:
    import hashlib

    return Tickets().find_inbound(hashlib.sha256(message["Message-ID"].encode()).hexdigest())


def _staff_view(api, ticket_id):
    found = api.call("GET", f"/staff/tickets/{ticket_id}", claims=STAFF)
    assert found.status == 200, found
    return found.json()


def _only_ticket(client_id) -> Ticket:
    (ticket,) = Tickets().tickets_of(client_id)
    return ticket


def test_a_clients_email_opens_a_ticket_of_its_account_and_ses_retries_file_it_once(api, mail, holder, stack):
    first = email(body="Hola, mi sitio www.ejemplo.com.ar da error 500 desde las 9.")
    assert mail(first, ses_id="sesretry0001") == "opened"
    ticket = _only_ticket(holder)
    assert ticket.channel == "email" and ticket.requester_email == HOLDER_EMAIL
    record = _inbound(first)
    assert (record.outcome, record.ticket_id) == ("opened", ticket.ticket_id)
    # The raw message is where the S3 action put it, and the message keeps a link to it for staff.
    raw = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=stack.refs["AttachmentsBucket"], Key="mail/inbound/sesretry0001")["Body"].read()
    assert b"error 500" in raw
    assert mail(first, ses_id="sesretry0001") == "duplicate"  # Lambda's retry of SES's event
    assert mail(first, to=f"ventas@{DOMAIN}") == "duplicate"  # the same email to another of our addresses
    seen = api.call("GET", f"/me/tickets/{ticket.ticket_id}",
                    claims=claims_for(client_id=holder, sub="sub-holder"))
    assert seen.status == 200, seen
    (message,) = seen.json()["messages"]
    assert message["channel"] == "email" and message["body"].startswith("Hola, mi sitio")


def test_a_reply_threads_into_its_ticket_by_our_message_id_with_its_attachment(api, mail, holder, stack):
    mail(email())
    ticket = _only_ticket(holder)
    mail.clock.advance(minutes=30)
    reply = email(subject=f"Re: [Ticket#{ticket.ticket_id}] Mi sitio no carga",
                  body="Adjunto la captura.\n\nEl lun, 30 nov 2026 a las 11:00, Soporte <tickets@x> escribió:\n> hola",
                  In_Reply_To=f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>")
    reply.add_attachment(b"\x89PNG data", maintype="image", subtype="png", filename="captura.png")
    assert mail(reply, to=f"tickets+{ticket.ticket_id.lower()}@{DOMAIN}") == "filed"
    assert Tickets().tickets_of(holder)[0].ticket_id == ticket.ticket_id  # no second ticket
    view = _staff_view(api, ticket.ticket_id)
    last = view["messages"][-1]
    assert last["body"] == "Adjunto la captura." and last["channel"] == "email"
    (attachment,) = last["attachments"]
    assert attachment["filename"] == "captura.png"
    assert view["originals"] and last["message_id"] in view["originals"]


def test_knowing_a_ticket_number_is_not_enough_to_write_into_it(api, mail, holder):
    mail(email())
    ticket = _only_ticket(holder)
    stranger = email(sender="intruso@otro.com", subject=f"Re: [Ticket#{ticket.ticket_id}] Mi sitio no carga",
                     body="Cambien la contraseña de la cuenta a 1234.",
                     In_Reply_To=f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>")
    assert mail(stranger) == "opened"
    assert [m["body"] for m in _staff_view(api, ticket.ticket_id)["messages"]] == ["Desde hoy da error 500."]
    guest_ticket = Ticket.get(*Ticket.key(_inbound(stranger).ticket_id))
    assert guest_ticket.client_id is None and guest_ticket.guest_email == "intruso@otro.com"
    assert guest_ticket.claimed_ticket_id == ticket.ticket_id
    assert _staff_view(api, guest_ticket.ticket_id)["claimed_ticket_id"] == ticket.ticket_id
    # The client's list shows only its own ticket.
    mine = api.call("GET", "/me/tickets", claims=claims_for(client_id=holder, sub="sub-holder")).json()
    assert [t["ticket_id"] for t in mine] == [ticket.ticket_id]


def test_the_holders_address_failing_dkim_is_not_the_holder(api, mail, holder):
    mail(email())
    ticket = _only_ticket(holder)
    forged = email(subject=f"Re: [Ticket#{ticket.ticket_id}]", body="Den de baja todo.",
                   In_Reply_To=f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>")
    assert mail(forged, dkim="FAIL", dmarc="FAIL") == "opened"
    assert len(_staff_view(api, ticket.ticket_id)["messages"]) == 1
    opened = Ticket.get(*Ticket.key(_inbound(forged).ticket_id))
    assert opened.client_id is None and _inbound(forged).reason == "failed_authentication"
    assert _inbound(forged).verdicts["dkim"] == "FAIL"


def test_loops_bounces_and_auto_replies_open_nothing(api, mail, holder):
    mail(email())
    ticket = _only_ticket(holder)
    ours = email(sender=f"tickets@{DOMAIN}",
                 message_id=f"<ticket.{ticket.ticket_id}.01KB00000000000000000000AA@{DOMAIN}>")
    assert mail(ours) == "ignored" and _inbound(ours).reason == "own_message"
    bounce = email(sender="MAILER-DAEMON@amazonses.com", subject="Delivery Status Notification (Failure)")
    assert mail(bounce) == "ignored" and _inbound(bounce).reason == "bounce"
    alone = email(subject="Fuera de la oficina", body="Vuelvo el lunes.", Auto_Submitted="auto-replied")
    assert mail(alone) == "ignored" and _inbound(alone).reason == "auto_submitted"
    # An out-of-office answering our reply is a note for staff: no message, the clocks do not move.
    before = Ticket.get(*Ticket.key(ticket.ticket_id))
    ooo = email(subject=f"Respuesta automática: [Ticket#{ticket.ticket_id}]", body="Vuelvo el lunes.",
                Auto_Submitted="auto-replied", In_Reply_To=f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>")
    assert mail(ooo) == "filed"
    after = Ticket.get(*Ticket.key(ticket.ticket_id))
    assert (after.status, after.version) == (before.status, before.version)
    notes = list(TicketNote.query(*[Ticket.key(ticket.ticket_id)[0]], TicketNote.sk.startswith("NOTE#")))
    assert any("Respuesta automática" in n.body for n in notes)
    assert len(Tickets().tickets_of(holder)) == 1


def test_spam_waits_in_quarantine_until_staff_release_it(api, mail, holder):
    suspicious = email(body="Necesito ayuda con mi dominio.")
    assert mail(suspicious, spam="FAIL", ses_id="spam00001") == "quarantined"
    assert Tickets().tickets_of(holder) == []
    listed = api.call("GET", "/staff/inbound-emails", claims=STAFF)
    assert listed.status == 200, listed
    (held,) = listed.json()
    assert (held["sender"], held["outcome"], held["reason"]) == (HOLDER_EMAIL, "quarantined", "spam")
    assert held["verdicts"]["spam"] == "FAIL"
    released = api.call("POST", f"/staff/inbound-emails/{held['email_key']}/release", claims=STAFF)
    assert released.status == 200, released
    assert released.json()["outcome"] == "opened"
    assert [t.ticket_id for t in Tickets().tickets_of(holder)] == [released.json()["ticket_id"]]
    assert api.call("GET", "/staff/inbound-emails", claims=STAFF).json() == []
    again = api.call("POST", f"/staff/inbound-emails/{held['email_key']}/release", claims=STAFF)
    assert (again.status, again.json()["code"]) == (409, "email_not_quarantined")
    assert len(Tickets().tickets_of(holder)) == 1
    missing = api.call("POST", f"/staff/inbound-emails/{'0' * 64}/release", claims=STAFF)
    assert missing.status == 404
    bad = api.call("POST", "/staff/inbound-emails/..%2F..%2Fsecret/release", claims=STAFF)
    assert bad.status in (404, 422)


def test_staff_download_the_original_of_an_emailed_message(api, mail, holder):
    import urllib.request

    sent = email(body="Adjunto detalles.", X_Mailer="Thunderbird 128")
    mail(sent)
    ticket = _only_ticket(holder)
    (message,) = _staff_view(api, ticket.ticket_id)["messages"]
    link = api.call("GET", f"/staff/tickets/{ticket.ticket_id}/messages/{message['message_id']}/original",
                    claims=STAFF)
    assert link.status == 200, link
    with urllib.request.urlopen(link.json()["url"]) as response:
        raw = response.read()
        assert response.headers["Content-Type"] == "message/rfc822"
    assert b"X-Mailer: Thunderbird 128" in raw and b"Adjunto detalles." in raw
    # A message typed in the panel has no original.
    mail.clock.advance(minutes=5)
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Recibido."})
    typed = _staff_view(api, ticket.ticket_id)["messages"][-1]["message_id"]
    nothing = api.call("GET", f"/staff/tickets/{ticket.ticket_id}/messages/{typed}/original", claims=STAFF)
    assert nothing.status == 404


def test_a_flood_from_one_sender_is_acknowledged_a_few_times_an_hour(api, mail):
    from tickets.email_intake import ACKNOWLEDGEMENTS_PER_HOUR

    from shared.dal.outbox import EventRecord

    for n in range(ACKNOWLEDGEMENTS_PER_HOUR + 2):
        assert mail(email(sender="apurado@otro.com", subject=f"Consulta {n}")) == "opened"
    opened = [e for e in EventRecord.scan(EventRecord.type == "ticket.opened")]
    acknowledged = [e for e in opened if '"acknowledge": true' in e.payload]
    assert len(opened) == ACKNOWLEDGEMENTS_PER_HOUR + 2 and len(acknowledged) == ACKNOWLEDGEMENTS_PER_HOUR
    mail.clock.advance(hours=1)
    assert mail(email(sender="apurado@otro.com", subject="Otra hora")) == "opened"
    assert len([e for e in EventRecord.scan(EventRecord.type == "ticket.opened")
                if '"acknowledge": true' in e.payload]) == ACKNOWLEDGEMENTS_PER_HOUR + 1


def test_what_is_not_an_email_is_recorded_and_never_retried(api, mail, stack):
    from tickets import ses_inbound

    from devstack.mail_receiving import ses_event

    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=stack.refs["AttachmentsBucket"], Key="mail/inbound/garbage0001", Body=b"not an email at all")
    record = ses_event(b"Subject: x\r\n\r\n", "garbage0001", [SUPPORT], "arn")["Records"][0]
    assert ses_inbound.file_one(ses_inbound.mailroom(), record["ses"]) == "ignored"
    assert ses_inbound.file_one(ses_inbound.mailroom(), record["ses"]) == "duplicate"



def test_staff_replies_go_back_by_email_threaded_so_the_answer_comes_back_to_its_ticket(api, mail, holder, stack, aws):
    from tickets.email_parsing import REPLY_MARKER, message_ids

    from devstack.mailbox import sent_emails
    from tests.integration.flows import relay, ticket_events

    first = email(body="¿Cómo configuro el correo en Outlook?", message_id="<pregunta-1@mail.ejemplo.com.ar>")
    assert mail(first) == "opened"
    ticket = _only_ticket(holder)
    relay(stack, aws)
    ticket_events(stack)
    (ack,) = sent_emails()
    assert ack["to"] == [HOLDER_EMAIL] and ticket.ticket_id in ack["subject"]
    assert ack["message_id_header"] == f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>"
    assert message_ids(ack["headers"]["In-Reply-To"]) == ["<pregunta-1@mail.ejemplo.com.ar>"]
    assert ack["reply_to"] == f"tickets+{ticket.ticket_id}@{DOMAIN}"

    mail.clock.advance(minutes=20)
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/notes", claims=STAFF, body={"body": "Cliente VIP."})
    answered = api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF,
                        body={"body": "Use el servidor mail.ejemplo.com.ar, puerto 465 con SSL."})
    assert answered.status == 200, answered
    staff_message = answered.json()["messages"][-1]["message_id"]
    relay(stack, aws)
    ticket_events(stack)
    relay(stack, aws)  # at-least-once: the same events again send nothing more
    ticket_events(stack)
    ack_again, copy = sent_emails()
    assert ack_again == ack
    assert copy["to"] == [HOLDER_EMAIL] and copy["from"] == f"Soporte Paneldecliente <tickets@{DOMAIN}>"
    assert copy["subject"] == f"[Ticket#{ticket.ticket_id}] Mi sitio no carga"
    assert copy["text"].startswith(REPLY_MARKER) and "puerto 465" in copy["text"]
    assert "Cliente VIP" not in copy["text"] and "Cliente VIP" not in copy["html"]  # notes never leave
    assert copy["message_id_header"] == f"<ticket.{ticket.ticket_id}.{staff_message}@{DOMAIN}>"
    assert message_ids(copy["headers"]["In-Reply-To"]) == [f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>"]
    assert message_ids(copy["headers"]["References"]) == ["<pregunta-1@mail.ejemplo.com.ar>",
                                                     f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>"]

    # The client answers the copy from a mail program: it lands in the ticket, quote trimmed.
    mail.clock.advance(minutes=20)
    answer = email(subject=f"Re: {copy['subject']}", message_id="<respuesta-2@mail.ejemplo.com.ar>",
                   body="Listo, funcionó.\n\nEl lun, 30 nov 2026 a las 11:20, Soporte escribió:\n"
                        f"> {REPLY_MARKER}\n> x",
                   In_Reply_To=copy["message_id_header"], References=copy["headers"]["References"] + " " +
                   copy["message_id_header"])
    assert mail(answer) == "filed"
    messages = _staff_view(api, ticket.ticket_id)["messages"]
    assert [m["body"] for m in messages][-1] == "Listo, funcionó."
    assert Ticket.get(*Ticket.key(ticket.ticket_id)).status == "customer_reply"


def test_a_permanent_bounce_stops_every_email_to_that_address(api, mail, holder, stack, aws):
    from devstack.mailbox import feedback_event, sent_emails
    from shared.dal.mail import SentEmail, SentEmails
    from tests.integration.flows import email_feedback, relay, ticket_events

    sqs = boto3.client("sqs", region_name="us-east-1")
    for event in (feedback_event("bounce", "lleno@otro.com", "Transient"),
                  feedback_event("complaint", "harto@otro.com"),
                  feedback_event("bounce", HOLDER_EMAIL.upper()), feedback_event("bounce", HOLDER_EMAIL)):
        sqs.send_message(QueueUrl=stack.refs["MailFeedbackQueue"], MessageBody=json.dumps(event))
    records, answer = email_feedback(stack)
    assert len(records) == 4 and answer == {"batchItemFailures": []}
    assert sorted(s.address for s in SentEmails().suppressed()) == [HOLDER_EMAIL, "harto@otro.com"]
    assert SentEmails().suppression(HOLDER_EMAIL).detail.startswith("General: 5.1.1")

    assert mail(email()) == "opened"  # the email still becomes a ticket; its acknowledgement is not sent
    relay(stack, aws)
    ticket_events(stack)
    assert sent_emails() == []
    (record,) = [r for r in SentEmail.scan() if r.recipient == HOLDER_EMAIL]
    assert record.status == "suppressed"


def test_staff_move_a_guest_ticket_to_the_account_it_belongs_to(api, mail, holder):
    stranger = email(sender="socio@otra-empresa.com", body="Soy socio de Cliente Mail, ¿pueden ver el hosting?")
    assert mail(stranger) == "opened"
    guest_id = _inbound(stranger).ticket_id
    moved = api.call("POST", f"/staff/tickets/{guest_id}/account", claims=STAFF, body={"client_id": holder})
    assert moved.status == 200, moved
    assert moved.json()["history"][-1]["what"] == "account"
    mine = api.call("GET", "/me/tickets", claims=claims_for(client_id=holder, sub="sub-holder")).json()
    assert [t["ticket_id"] for t in mine] == [guest_id]
    again = api.call("POST", f"/staff/tickets/{guest_id}/account", claims=STAFF, body={"client_id": holder})
    assert (again.status, again.json()["code"]) == (409, "ticket_has_account")
    nobody = api.call("POST", f"/staff/tickets/{_only_ticket(holder).ticket_id}/account", claims=STAFF,
                      body={"client_id": "0" * 26})
    assert nobody.status in (404, 409)
    # Its copies go to the holder: the stranger's address is no person of the account.
    from tickets.email_copies import recipient_of

    assert recipient_of(Ticket.get(*Ticket.key(guest_id))) == HOLDER_EMAIL


def test_the_auto_close_warning_also_goes_by_email(api, mail, holder, stack, aws, monkeypatch):
    from devstack.mailbox import sent_emails
    from devstack.runtime import Runtime
    from tests.integration.flows import relay, ticket_events

    Runtime(stack).invoke("TicketSweepFunction", {})  # loads the sweep's module, to fix its clock
    monkeypatch.setattr(sys.modules["tickets.sla_sweep"], "clock", mail.clock)
    mail(email())
    ticket = _only_ticket(holder)
    mail.clock.advance(minutes=30)
    api.call("POST", f"/staff/tickets/{ticket.ticket_id}/replies", claims=STAFF, body={"body": "Ya está resuelto."})
    mail.clock.advance(days=5)  # Saturday: past the warning (Friday, a business day before), not the close
    Runtime(stack).invoke("TicketSweepFunction", {})
    relay(stack, aws)
    ticket_events(stack)
    warnings = [m for m in sent_emails() if "se cerrará" in (m["text"] or "")]
    assert len(warnings) == 1 and warnings[0]["to"] == [HOLDER_EMAIL]
    assert ticket.ticket_id in warnings[0]["subject"]


@pytest.mark.parametrize(("headers", "verdicts", "trusted"), [
    # No DMARC on the client's domain, SPF passed for the attacker's own envelope domain: not proof.
    ({"Return-Path": "<rebote@atacante.com>"}, {"dmarc": "GRAY", "dkim": "GRAY"}, False),
    # No DMARC, SPF passed for an envelope sender of the From's own domain: proof enough.
    ({"Return-Path": f"<{HOLDER_EMAIL}>"}, {"dmarc": "GRAY", "dkim": "GRAY"}, True),
    # DMARC passed: aligned, whatever the envelope.
    ({"Return-Path": "<bounces@mailer.net>"}, {}, True),
])
def test_only_a_proven_sender_writes_as_the_client(api, mail, holder, headers, verdicts, trusted):
    mail(email())
    ticket = _only_ticket(holder)
    mail.clock.advance(minutes=10)
    reply = email(subject=f"Re: [Ticket#{ticket.ticket_id}]", body="Borren el sitio.",
                  In_Reply_To=f"<ticket.{ticket.ticket_id}.ack@{DOMAIN}>", **headers)
    assert mail(reply, **verdicts) == ("filed" if trusted else "opened")
    if not trusted:
        opened = Ticket.get(*Ticket.key(_inbound(reply).ticket_id))
        assert opened.client_id is None and opened.claimed_ticket_id == ticket.ticket_id


def test_a_from_header_naming_nobody_is_not_the_sender_it_claims(api, mail, holder):
    mail(email())
    ticket = _only_ticket(holder)
    group = EmailMessage()
    group["From"] = "undisclosed-recipients:;"
    group["Sender"] = HOLDER_EMAIL
    group["To"] = SUPPORT
    group["Subject"] = f"Re: [Ticket#{ticket.ticket_id}]"
    group["Message-ID"] = "<grupo-1@ejemplo.com.ar>"
    group.set_content("Cambien el titular de la cuenta.")
    assert mail(group) == "opened"
    assert Ticket.get(*Ticket.key(_inbound(group).ticket_id)).client_id is None
    assert [m["body"] for m in _staff_view(api, ticket.ticket_id)["messages"]] == ["Desde hoy da error 500."]


def test_staff_see_the_suppressed_addresses_and_lifting_one_lets_email_go_again(api, stack, aws):
    from devstack.mailbox import feedback_event
    from shared.dal.mail import SentEmails
    from shared.dal.outbox import EventRecord
    from shared.dal.table import TableItem
    from tests.integration.flows import email_feedback

    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=stack.refs["MailFeedbackQueue"],
                     MessageBody=json.dumps(feedback_event("bounce", "Rebota@Ejemplo.com.ar")))
    email_feedback(stack)

    listed = api.call("GET", "/staff/email-suppressions", claims=STAFF).json()
    assert [(s["address"], s["reason"]) for s in listed] == [("rebota@ejemplo.com.ar", "bounce")]
    assert "550 5.1.1" in listed[0]["detail"]
    lifted = api.call("DELETE", "/staff/email-suppressions?address=REBOTA%40ejemplo.com.ar", claims=STAFF)
    assert lifted.status == 204 and SentEmails().suppression("rebota@ejemplo.com.ar") is None
    assert api.call("GET", "/staff/email-suppressions", claims=STAFF).json() == []
    (event,) = [e for e in TableItem.scan() if isinstance(e, EventRecord) and e.type == "email.suppression_lifted"]
    assert json.loads(event.payload) == {"address": "rebota@ejemplo.com.ar", "reason": "bounce", "by": "sub-staff"}
    again = api.call("DELETE", "/staff/email-suppressions?address=rebota%40ejemplo.com.ar", claims=STAFF)
    assert (again.status, again.json()["code"]) == (404, "address_not_suppressed")
    missing = api.call("DELETE", "/staff/email-suppressions", claims=STAFF)
    assert missing.status == 422
