"""Received emails as mail programs really write them (tests/fixtures/mail): charsets, HTML-only bodies,
attachments, quoted replies, auto-replies and bounces."""

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from tickets.email_parsing import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    REPLY_MARKER,
    MalformedEmail,
    html_to_text,
    message_ids,
    parse,
    trim_reply,
)

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
TICKET, MESSAGE = "01KB0000000000000000000000", "01KB0000000000000000000001"


def sample(name: str) -> bytes:
    return (MAIL / name).read_bytes().replace(b"{TICKET}", TICKET.encode()).replace(b"{MESSAGE}", MESSAGE.encode())


def test_a_gmail_reply_keeps_only_the_new_text_and_its_attachment():
    parsed = parse(sample("gmail-reply.eml"))
    assert parsed.from_address == "maria@example.com" and parsed.from_name == "María Gómez"
    assert parsed.subject == f"Re: [Ticket#{TICKET}] El sitio no carga"
    assert parsed.in_reply_to == [f"<ticket.{TICKET}.{MESSAGE}@soporte.paneldecliente.com>"]
    assert len(parsed.references) == 2
    assert parsed.reply == ("Hola, adjunto la captura del error.\nEl sitio sigue sin cargar desde anoche.\n\n"
                            "Gracias,\nMaría")
    assert REPLY_MARKER in parsed.text  # the whole text is kept; the reply is what the ticket shows
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("captura_error.png", "image/png")]
    assert parsed.attachments[0].content.startswith(b"\x89PNG")
    assert not parsed.auto_submitted


def test_an_html_only_outlook_email_in_windows_1252_becomes_clean_text():
    parsed = parse(sample("outlook-html-new.eml"))
    assert parsed.from_name == "Jorge Núñez" and parsed.subject == "Cambio de plan y facturación"
    assert parsed.text.startswith("Buenos días,")
    assert "hosting & sumar" in parsed.text
    assert "alert" not in parsed.text and "color" not in parsed.text and "<" not in parsed.text
    # The PDF sent as octet-stream is a PDF; the signature's inline logo is not an attachment; the .exe is refused.
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("comprobante.pdf", "application/pdf")]
    assert parsed.refused_attachments == [("factura.exe", "type_not_allowed")]


def test_auto_replies_and_bounces_are_recognised():
    ooo = parse(sample("out-of-office.eml"))
    assert ooo.auto_submitted and not ooo.from_mailer_daemon
    bounce = parse(sample("bounce.eml"))
    assert bounce.from_mailer_daemon and bounce.auto_submitted
    assert bounce.attachments == [] and bounce.refused_attachments == []  # the delivery report is not a file
    assert not parse(sample("new-plain.eml")).auto_submitted


def test_a_signature_after_the_standard_separator_is_cut():
    parsed = parse(sample("new-plain.eml"))
    assert parsed.reply == "Hola, quiero saber si el plan Pyme incluye certificado SSL."
    assert "Estudio Ruiz" in parsed.text


@pytest.mark.parametrize(("text", "reply"), [
    ("Funciona.\n\nOn Mon, Dec 1, 2026 at 10:00 AM Soporte <t@s.com> wrote:\n> hola", "Funciona."),
    ("Listo, gracias.\n\n-----Mensaje original-----\nDe: Soporte\nAsunto: x", "Listo, gracias."),
    ("Hecho.\n\nDe: Soporte <t@s.com>\nEnviado: lunes, 1 de diciembre de 2026 10:00\nPara: yo\nAsunto: x\n\nc",
     "Hecho."),
    ("Ya está.\n\nEnviado desde mi iPhone", "Ya está."),
    (f"Todo bien.\n\nEl lun, 1 dic 2026 a las 10:00, Soporte\n<t@s.com> escribió:\n> {REPLY_MARKER}\n> Hola",
     "Todo bien."),
    # A line that starts like a quote header but is the client's own sentence stays.
    ("El sitio sigue caído.\nEl 3 de diciembre vuelvo a probar.\n\nGracias,\nJuan",
     "El sitio sigue caído.\nEl 3 de diciembre vuelvo a probar.\n\nGracias,\nJuan"),
    # Nothing but a quote: the whole text is kept rather than an empty message.
    ("> solo una cita", "> solo una cita"),
])
def test_quoted_replies_are_trimmed_in_spanish_and_english(text, reply):
    assert trim_reply(text) == reply


def _email(**headers) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_headers_in_any_charset_and_odd_addresses():
    message = _email(From='"Pérez, José" <JOSE@Example.COM>', To="tickets@soporte.paneldecliente.com",
                     Subject="¿Por qué no anda el correo? ñandú", Message_ID="<x1@example.com>")
    message.set_content("Cuerpo en UTF-8: ñ á é", charset="utf-8", cte="quoted-printable")
    parsed = parse(message.as_bytes(policy=SMTP))
    assert parsed.from_address == "jose@example.com" and parsed.from_name == "Pérez, José"
    assert parsed.subject == "¿Por qué no anda el correo? ñandú"
    assert parsed.text == "Cuerpo en UTF-8: ñ á é"


def test_a_lying_charset_loses_no_email():
    raw = (b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
           b"Hola \xe1rbol\r\n")
    assert parse(raw).text.startswith("Hola ")


def test_attachment_limits(monkeypatch):
    import tickets.email_parsing as email_parsing

    monkeypatch.setattr(email_parsing, "MAX_ATTACHMENT_BYTES", 100)
    message = _email(From="a@example.com", Subject="archivos")
    message.set_content("ver adjuntos")
    message.add_attachment(b"x" * 101, maintype="application", subtype="pdf", filename="grande.pdf")
    for n in range(MAX_ATTACHMENTS + 1):
        message.add_attachment(b"ok", maintype="text", subtype="plain", filename=f"log{n}.txt")
    parsed = parse(message.as_bytes())
    assert len(parsed.attachments) == MAX_ATTACHMENTS
    assert ("grande.pdf", "too_large") in parsed.refused_attachments
    assert (f"log{MAX_ATTACHMENTS}.txt", "too_many") in parsed.refused_attachments


@pytest.mark.parametrize("raw", [b"", b"no headers at all", b"Subject: sin remitente\r\n\r\nhola\r\n",
                                 b"From: nadie\r\nSubject: x\r\n\r\nhola\r\n"])
def test_what_is_not_an_email_is_malformed(raw):
    with pytest.raises(MalformedEmail):
        parse(raw)


def test_message_ids_and_html_text():
    assert message_ids("<a@b> junk <c@d>\r\n <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert message_ids(None) == []
    assert html_to_text("<p>Uno</p><p>Dos<br>tres</p><style>x</style><script>y()</script>&lt;b&gt;") == \
        "Uno\n\nDos\ntres\n<b>"  # an escaped tag is the text "<b>": the panel shows text, never HTML


def test_a_forwarded_email_keeps_what_it_forwards():
    parsed = parse(sample("gmail-forward.eml"))
    assert parsed.reply.startswith("Me llegó este aviso, ¿qué tengo que hacer?")
    assert "usa el 98% de su cuota de disco" in parsed.reply  # the notice is the substance: not cut


def test_a_broken_message_is_read_as_far_as_it_goes():
    parsed = parse(sample("malformed.eml"))  # no closing boundary, truncated base64, a raw 8-bit subject
    assert parsed.from_name == "José" and parsed.reply == "El adjunto no abre."
    assert parsed.subject.startswith("Caf") and "CloseBoundaryNotFoundDefect" in parsed.defects
    assert [a.filename for a in parsed.attachments] == ["roto.pdf"]


def test_a_huge_attachment_is_refused_and_the_email_still_read():
    message = _email(From="a@example.com", Subject="backup")
    message.set_content("Les mando el backup.")
    message.add_attachment(b"\0" * (MAX_ATTACHMENT_BYTES + 1), maintype="application", subtype="zip",
                           filename="backup.zip")
    parsed = parse(message.as_bytes())
    assert parsed.reply == "Les mando el backup." and parsed.attachments == []
    assert parsed.refused_attachments == [("backup.zip", "too_large")]
