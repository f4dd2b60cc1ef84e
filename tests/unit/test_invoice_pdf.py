"""The invoice PDF, read back as a client's PDF reader would show it (text extracted with pypdf)."""

import io
import re
from dataclasses import replace
from datetime import date

import pytest
from documents.invoice_pdf import (
    DocumentLine,
    InvoiceDocument,
    Party,
    format_money,
    format_period,
    pdf_text,
    render_invoice_pdf,
)
from pypdf import PdfReader

from shared.money import Currency, Money

ISSUER = Party(
    name="Hosting del Sur S.R.L.",
    tax_id="30-71234567-1",
    details=("Av. Corrientes 1234, Piso 5", "C1043AAZ Ciudad Autónoma de Buenos Aires", "facturacion@example.com.ar"),
)
CLIENT = Party(
    name="Señor Núñez",
    tax_id="20-12345678-6",
    details=("Estudio Núñez & Asociados", "Mendoza, Argentina"),
)


def ars(amount: int) -> Money:
    return Money(amount, Currency.ARS)


def usd(amount: int) -> Money:
    return Money(amount, Currency.USD)


def invoice(**changes) -> InvoiceDocument:
    document = InvoiceDocument(
        number="0001-00000042",
        issued_on=date(2026, 12, 1),
        due_on=date(2026, 12, 15),
        issuer=ISSUER,
        client=CLIENT,
        lines=(
            DocumentLine("Habilitación del plan Hosting Pro", None, None, ars(1000000)),
            DocumentLine("Hosting Pro (mensual)", date(2026, 12, 1), date(2027, 1, 1), ars(234567)),
        ),
        total=ars(1234567),
        paid=ars(234567),
        status="unpaid",
        notes=("Comprobante no válido como factura electrónica (AFIP).",),
    )
    return replace(document, **changes)


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def text_of(data: bytes) -> str:
    return "\n".join(pages_text(data))


def test_a_pdf_with_the_number_dates_and_both_parties():
    data = render_invoice_pdf(invoice())
    assert isinstance(data, bytes) and data.startswith(b"%PDF-")
    text = text_of(data)
    assert "Factura N.º 0001-00000042" in text
    assert "Fecha de emisión: 01/12/2026" in text
    assert "Vencimiento: 15/12/2026" in text
    assert "Hosting del Sur S.R.L." in text and "CUIT: 30-71234567-1" in text
    assert "Av. Corrientes 1234, Piso 5" in text and "facturacion@example.com.ar" in text
    assert "Cliente" in text
    assert "Señor Núñez" in text and "CUIT/DNI: 20-12345678-6" in text
    assert "Estudio Núñez & Asociados" in text and "Ciudad Autónoma de Buenos Aires" in text
    assert "Comprobante no válido como factura electrónica (AFIP)." in text


def test_a_party_without_tax_id_prints_no_tax_id_line():
    text = text_of(render_invoice_pdf(invoice(client=Party(name="Consumidor Final", tax_id=None))))
    assert "Consumidor Final" in text
    assert "CUIT/DNI" not in text


def test_each_line_with_its_period_up_to_the_inclusive_last_day_and_its_amount():
    text = text_of(render_invoice_pdf(invoice()))
    assert "Habilitación del plan Hosting Pro" in text
    assert "Hosting Pro (mensual)" in text
    assert "01/12/2026 al 31/12/2026" in text  # stored end 2027-01-01 is exclusive
    assert "01/01/2027" not in text
    assert "$ 10.000,00" in text and "$ 2.345,67" in text
    assert re.search(r"Habilitación del plan Hosting Pro\s+-\s+\$ 10\.000,00", text)  # no period: "-"


def test_totals_paid_and_balance_in_pesos():
    text = text_of(render_invoice_pdf(invoice()))
    assert re.search(r"Total\s*\$ 12\.345,67", text)
    assert re.search(r"Pagado\s*\$ 2\.345,67", text)
    assert re.search(r"Saldo\s*\$ 10\.000,00", text)
    assert "Moneda: ARS - Pesos argentinos" in text
    assert "Pendiente de pago" in text


def test_dollar_invoice():
    document = invoice(
        lines=(DocumentLine("Servidor dedicado", date(2026, 12, 1), date(2026, 12, 31), usd(123450)),),
        total=usd(123450),
        paid=usd(0),
        status="paid",
    )
    text = text_of(render_invoice_pdf(document))
    assert "01/12/2026 al 30/12/2026" in text
    assert re.search(r"Total\s*US\$ 1\.234,50", text)
    assert re.search(r"Pagado\s*US\$ 0,00", text)
    assert re.search(r"Saldo\s*US\$ 1\.234,50", text)
    assert "Moneda: USD - Dólares estadounidenses" in text
    assert "Pagada" in text and "Pendiente de pago" not in text


def test_an_overpaid_invoice_owes_nothing_rather_than_a_negative_balance():
    text = text_of(render_invoice_pdf(invoice(paid=ars(2000000), status="paid")))
    assert re.search(r"Saldo\s*\$ 0,00", text)
    assert "-$" not in text


@pytest.mark.parametrize(
    ("status", "label"),
    [("unpaid", "Pendiente de pago"), ("paid", "Pagada"), ("cancelled", "Anulada"), ("refunded", "Reintegrada")],
)
def test_status_in_spanish(status, label):
    assert f"Estado: {label}" in text_of(render_invoice_pdf(invoice(status=status)))


def test_an_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError, match="status"):
        render_invoice_pdf(invoice(status="draft"))


def test_money_formatting_es_ar():
    assert format_money(ars(1234567)) == "$ 12.345,67"
    assert format_money(usd(123450)) == "US$ 1.234,50"
    assert format_money(ars(5)) == "$ 0,05"
    assert format_money(ars(123456789012)) == "$ 1.234.567.890,12"
    assert format_money(ars(-150000)) == "-$ 1.500,00"


def test_period_formatting():
    assert format_period(date(2026, 12, 1), date(2027, 1, 1)) == "01/12/2026 al 31/12/2026"
    assert format_period(date(2026, 2, 1), date(2026, 3, 1)) == "01/02/2026 al 28/02/2026"
    assert format_period(date(2026, 12, 1), date(2026, 12, 2)) == "01/12/2026"  # one day
    assert format_period(None, None) == "-"


def test_text_outside_latin1_renders_and_keeps_its_latin1_part():
    name = "Zoë “Ñandú” — 東京"
    assert pdf_text(name) == 'Zoë "Ñandú" - ??'
    document = invoice(
        client=Party(name=name, tax_id="DNI 12.345.678", details=("Calle Ñ 12 – 3.º “B”", "Zürich … €")),
        lines=(DocumentLine("Dominio ejemplo.com.ar — renovación 🎉", None, None, ars(100)),),
        notes=("Observación: ‘precio’ final\u00a0con IVA\tincluido\x00.",),
    )
    text = text_of(render_invoice_pdf(document))
    assert 'Zoë "Ñandú" - ??' in text
    assert 'Calle Ñ 12 - 3.º "B"' in text and "Zürich ... EUR" in text
    assert "Dominio ejemplo.com.ar - renovación ?" in text
    assert "Observación: 'precio' final con IVA incluido." in text


def test_decomposed_accents_are_composed_before_printing():
    text = text_of(render_invoice_pdf(invoice(client=Party(name="Nu\u0301n\u0303ez", tax_id=None))))
    assert "Núñez" in text


def test_a_client_text_like_the_page_count_alias_prints_as_written():
    text = text_of(render_invoice_pdf(invoice(client=Party(name="Empresa {nb}", tax_id=None))))
    assert "Empresa {nb}" in text


def test_long_descriptions_wrap_inside_the_page():
    words = " ".join(f"palabra{i}" for i in range(60))
    data = render_invoice_pdf(invoice(lines=(DocumentLine(words, None, None, ars(100)),), total=ars(100), paid=ars(0)))
    text = text_of(data)
    assert all(f"palabra{i}" in text for i in range(60))
    lines_with_words = [line for line in text.splitlines() if "palabra" in line]
    assert len(lines_with_words) > 3  # wrapped, not one line running off the page


def test_many_lines_flow_onto_further_pages_with_the_header_repeated():
    lines = tuple(DocumentLine(f"Servicio número {i:02d}", date(2026, 12, 1), date(2027, 1, 1), ars(1000))
                  for i in range(60))
    data = render_invoice_pdf(invoice(lines=lines, total=ars(60000), paid=ars(0)))
    pages = pages_text(data)
    assert len(pages) > 1
    text = "\n".join(pages)
    for i in range(60):
        assert f"Servicio número {i:02d}" in text
        assert text.count(f"Servicio número {i:02d}") == 1
    for number, page in enumerate(pages, start=1):
        assert f"Página {number} de {len(pages)}" in page
    assert "Descripción" in pages[1] and "Período" in pages[1] and "Importe" in pages[1]
    assert "Factura N.º 0001-00000042" in pages[1]
    assert re.search(r"Saldo\s*\$ 600,00", pages[-1])  # totals after the last line, with the notes
    assert "Comprobante no válido como factura electrónica (AFIP)." in pages[-1]


def test_a_description_longer_than_a_page_is_split_across_pages():
    huge = "\n".join(f"renglón {i:03d}" for i in range(120))
    data = render_invoice_pdf(invoice(lines=(DocumentLine(huge, None, None, ars(100)),), total=ars(100), paid=ars(0)))
    pages = pages_text(data)
    assert len(pages) >= 3
    text = "\n".join(pages)
    assert all(f"renglón {i:03d}" in text for i in range(120))


def test_a_single_page_invoice_says_page_1_of_1():
    pages = pages_text(render_invoice_pdf(invoice()))
    assert len(pages) == 1
    assert "Página 1 de 1" in pages[0]


def test_metadata():
    metadata = PdfReader(io.BytesIO(render_invoice_pdf(invoice()))).metadata
    assert metadata.title == "Factura 0001-00000042"
    assert metadata.author == "Hosting del Sur S.R.L."
    assert metadata.creation_date.date() == date(2026, 12, 1)


def test_the_same_document_renders_to_the_same_bytes():
    lines = tuple(DocumentLine(f"Servicio {i}", date(2026, 12, 1), date(2027, 1, 1), ars(1000)) for i in range(40))
    document = invoice(lines=lines)
    first = render_invoice_pdf(document)
    assert render_invoice_pdf(document) == first
    assert render_invoice_pdf(replace(document, issued_on=date(2026, 12, 2))) != first


def test_any_character_becomes_printable_latin1():
    sample = "".join(chr(c) for c in range(0, 0x30000, 7) if not 0xD800 <= c < 0xE000) + "\n\r\U0001f389"
    for multiline in (False, True):
        out = pdf_text(sample, multiline=multiline)
        out.encode("latin-1")
        assert not [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0]
        assert ("\n" in out) is multiline


def test_hostile_texts_everywhere_still_render():
    nasty = "\x00\x07\u202e\u200b{nb}\u00ad\ufeff\U0001f600 ﬁ ½ № \u2028" + "x" * 300
    document = invoice(
        issuer=Party(nasty, nasty, (nasty,)),
        client=Party(nasty, nasty, (nasty, "")),
        lines=(DocumentLine(nasty, None, None, ars(10**15)), DocumentLine("", None, None, ars(-100))),
        notes=(nasty, "   "),
    )
    text = text_of(render_invoice_pdf(document))
    assert "$ 10.000.000.000.000,00" in text  # an amount never wraps
    assert "-$ 1,00" in text
    assert "{nb}? fi ½ N.º" in text  # invisible characters dropped, the emoji a "?", the others look-alikes
