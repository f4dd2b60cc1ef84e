"""An invoice ("Factura") as a PDF: a pure function from plain values to bytes, no AWS and no I/O.

fpdf2 with its core font (Helvetica) keeps the file small and needs no font files, but a core font only
encodes Latin-1: every text that reaches fpdf goes through `pdf_text`, which drops control and invisible
characters, maps typographic punctuation to Latin-1 look-alikes ("–" -> "-", "“" -> '"', "€" -> "EUR") and
anything else outside Latin-1 to "?", so any client-supplied text renders.

The output is deterministic: the creation date comes from the issue date (fpdf2 would use "now"), fpdf2 derives
the file ID from the content and that date, and the "{nb}" page-count placeholders (a random UUID each until
output() substitutes them) are always substituted, so the same document always renders to the same bytes.
"""

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shared.money import Currency, Money


@dataclass(frozen=True)
class Party:
    name: str
    tax_id: str | None  # CUIT/CUIL/DNI text as stored, e.g. "20-12345678-6"
    details: tuple[str, ...] = ()  # further lines: company, address, email, country


@dataclass(frozen=True)
class DocumentLine:
    description: str
    period_start: date | None
    period_end: date | None  # exclusive end, as stored; the PDF prints the inclusive last day
    amount: Money


@dataclass(frozen=True)
class InvoiceDocument:
    number: str  # e.g. "0001-00000042"
    issued_on: date
    due_on: date
    issuer: Party
    client: Party
    lines: tuple[DocumentLine, ...]
    total: Money
    paid: Money  # what was paid so far
    status: str  # unpaid | paid | cancelled | refunded
    notes: tuple[str, ...] = ()  # free lines printed at the bottom


STATUS_LABELS: dict[str, str] = {
    "unpaid": "Pendiente de pago",
    "paid": "Pagada",
    "cancelled": "Anulada",
    "refunded": "Reintegrada",
}

CURRENCY_SYMBOLS: dict[Currency, str] = {Currency.ARS: "$", Currency.USD: "US$"}
CURRENCY_NAMES: dict[Currency, str] = {
    Currency.ARS: "Pesos argentinos",
    Currency.USD: "Dólares estadounidenses",
}

# Argentina has no daylight saving time: a fixed offset needs no tz database.
_ARGENTINA = timezone(timedelta(hours=-3), "ART")


# --- text -------------------------------------------------------------------------------------------------

# Characters outside Latin-1 that have a better stand-in than what NFKD (or "?") would give.
_REPLACEMENTS: dict[str, str] = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2039": "<", "\u203a": ">",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2022": "·", "\u2023": "·", "\u2043": "-", "\u2219": "·", "\u22c5": "·",
    "\u20ac": "EUR", "\u2116": "N.º", "\u2122": "(TM)", "\u2192": "->", "\u2190": "<-",
    "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2248": "~",
}


def _latin1_stand_in(char: str) -> str:
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # Compatibility decomposition without the accents Latin-1 lacks: "ő" -> "o", "ﬁ" -> "fi", "…" -> "...".
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(ord(c) < 256 and unicodedata.category(c) != "Cc" for c in base):
        return base
    return "?"


def pdf_text(text: str, *, multiline: bool = False) -> str:
    """`text` as fpdf2's core fonts can print it: Latin-1 only, no control characters.

    Line breaks are kept when `multiline` (for multi_cell), else they become spaces."""
    out = []
    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n")):
        code = ord(char)
        if char == "\n" and multiline:
            out.append(char)
        elif char in "\t\n\r\v\f\x85\u2028\u2029":
            out.append(" ")
        elif code < 0x20 or 0x7F <= code < 0xA0 or unicodedata.category(char) == "Cf":
            continue  # control characters; invisible format ones (zero-width, bidi overrides, soft hyphen)
        elif char == "\u00a0":
            out.append(" ")
        elif code < 256:
            out.append(char)
        else:
            out.append(_latin1_stand_in(char))
    return "".join(out)


def _metadata_text(text: str) -> str:
    """Metadata strings are UTF-16 in the PDF: any character may stay, control characters may not."""
    return "".join(c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c) != "Cc").strip()


# --- values -----------------------------------------------------------------------------------------------


def format_money(money: Money) -> str:
    """es-AR: "$ 12.345,67" (ARS), "US$ 1.234,50" (USD), "-$ 100,00" when negative.

    The digits are Money.display()'s ("ARS 12.345,67"): only the ISO code becomes the local symbol."""
    currency = money.currency
    digits = Money(abs(money.amount), currency).display().removeprefix(f"{currency.value} ")
    sign = "-" if money.amount < 0 else ""
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency.value)} {digits}"


def format_date(day: date) -> str:
    """dd/mm/aaaa (strftime's %Y is not zero-padded on every platform)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def format_period(start: date | None, end: date | None) -> str:
    """ "01/12/2026 al 31/12/2026" from the stored exclusive end (2027-01-01); "-" without a period."""
    last = end - timedelta(days=1) if end is not None else None
    if start is not None and last is not None:
        if last <= start:
            return format_date(start)
        return f"{format_date(start)} al {format_date(last)}"
    if start is not None:
        return f"desde {format_date(start)}"
    if last is not None:
        return f"hasta {format_date(last)}"
    return "-"


def currency_label(currency: Currency) -> str:
    return f"{currency.value} - {CURRENCY_NAMES.get(currency, currency.value)}"


def balance(document: InvoiceDocument) -> Money:
    """What is still owed: total - paid, never negative (an overpayment is credit, not a negative balance)."""
    owed = document.total - document.paid
    return owed if owed.amount > 0 else Money.zero(owed.currency)


# --- layout (A4, mm) --------------------------------------------------------------------------------------

_MARGIN = 15.0
_BOTTOM = 18.0  # the footer lives in the bottom margin
_LINE_H = 5.0  # one line of 9-10 pt text
_TABLE_WIDTH = 180.0  # A4 width less both margins
_PERIOD_WIDTH = 45.0
_AMOUNT_WIDTH = 32.0  # widened for amounts that would not fit: an amount never wraps
_ALIAS_NB = "{nb}"


class _InvoicePdf(FPDF):
    def __init__(self, document: InvoiceDocument):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.document = document
        self.heading = pdf_text(f"Factura N.º {document.number}")
        # The total-pages alias is enabled only while the footer is drawn: a client text such as "{nb}"
        # elsewhere must print as written, not as the page count. `finish` turns it back on for output(),
        # which draws the last footer and then substitutes only if the alias is still set.
        self.alias_nb_pages(None)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM)
        self.c_margin = 1.5
        self.columns = self.table_columns(document)

    def table_columns(self, document: InvoiceDocument) -> tuple[tuple[str, float, str], ...]:
        self.set_font("Helvetica", "", 9)
        widest = max((self.get_string_width(format_money(line.amount)) for line in document.lines), default=0)
        amount = min(max(_AMOUNT_WIDTH, widest + 2 * self.c_margin + 1), 70.0)
        description = _TABLE_WIDTH - _PERIOD_WIDTH - amount
        return (("Descripción", description, "L"), ("Período", _PERIOD_WIDTH, "L"), ("Importe", amount, "R"))

    def finish(self) -> bytes:
        self.alias_nb_pages(_ALIAS_NB)  # no body text is drawn after this
        return bytes(self.output())  # output() returns a bytearray

    def header(self) -> None:
        if self.page == 1:
            return  # the first page opens with the full heading drawn by render_invoice_pdf
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(90)
        self.cell(0, _LINE_H, f"{self.heading} (continuación)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(90)
        body_alias = self.str_alias_nb_pages
        self.alias_nb_pages(_ALIAS_NB)
        self.cell(0, 4, f"Página {self.page_no()} de {_ALIAS_NB}", align="C")
        self.alias_nb_pages(body_alias)
        self.set_text_color(0)

    # -- blocks --

    def text_lines(self, width: float, text: str, *, align: str = "L") -> list[str]:
        """How multi_cell would break `text` in a column of `width` (at least one, possibly empty, line)."""
        lines = self.multi_cell(width, _LINE_H, text, align=align, dry_run=True, output="LINES")
        return list(lines) or [""]

    def paragraph(self, width: float, text: str, *, style: str = "", size: float = 9, x: float | None = None):
        self.set_font("Helvetica", style, size)
        if x is not None:
            self.set_x(x)
        self.multi_cell(width, _LINE_H, text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)

    def party(self, party: Party, *, x: float, y: float, width: float, heading: str | None, tax_label: str) -> float:
        """A party's block at (x, y); returns the y below it."""
        self.set_xy(x, y)
        if heading:
            self.paragraph(width, pdf_text(heading), style="B", size=8)
        self.paragraph(width, pdf_text(party.name), style="B", size=11 if heading is None else 10)
        if party.tax_id and party.tax_id.strip():
            self.paragraph(width, pdf_text(f"{tax_label}: {party.tax_id.strip()}"))
        for detail in party.details:
            if detail and detail.strip():
                self.paragraph(width, pdf_text(detail.strip()))
        return self.get_y()

    def table_header(self) -> None:
        self.set_font("Helvetica", "B", 9)
        self.set_fill_color(230)
        self.set_x(self.l_margin)
        for title, width, align in self.columns:
            self.cell(width, _LINE_H + 1, title, align=align, fill=True)
        self.ln(_LINE_H + 1)

    def room_for(self, height: float) -> float:
        return self.page_break_trigger - self.get_y() - height

    def table_row(self, line: DocumentLine) -> None:
        """One line of the table; a row that does not fit moves to the next page, under a repeated header.
        A row taller than a whole page (a very long description) is split across pages."""
        self.set_font("Helvetica", "", 9)
        texts = (pdf_text(line.description, multiline=True), format_period(line.period_start, line.period_end),
                 format_money(line.amount))
        cells = [self.text_lines(width, text, align=align) for text, (_, width, align) in zip(texts, self.columns,
                                                                                                strict=True)]
        remaining = max(len(c) for c in cells)
        # Rows a page holds under the continuation heading and the table header (an underestimate).
        page_rows = int((self.page_break_trigger - self.t_margin - 20) // _LINE_H)
        start, fresh = 0, False
        while remaining > 0:
            fits = int(self.room_for(0.01) // _LINE_H)
            if fits < remaining and not fresh and (remaining <= page_rows or fits < 3):
                self.add_page()
                self.table_header()
                self.set_font("Helvetica", "", 9)
                fresh = True
                continue
            fits = max(fits, 1)
            fresh = False
            chunk = min(remaining, fits)
            top = self.get_y()
            for column, (_, width, align) in zip(cells, self.columns, strict=True):
                x = self.get_x()
                for offset in range(chunk):
                    index = start + offset
                    self.set_xy(x, top + offset * _LINE_H)
                    self.cell(width, _LINE_H, column[index] if index < len(column) else "", align=align)
                self.set_xy(x + width, top)
            start += chunk
            remaining -= chunk
            self.set_xy(self.l_margin, top + chunk * _LINE_H)
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.set_draw_color(0)
        self.ln(1.5)


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes; the same document always gives the same bytes."""
    status = STATUS_LABELS.get(document.status)
    if status is None:
        raise ValueError(f"unknown invoice status {document.status!r}")
    owed = balance(document)  # also checks that total and paid share a currency

    pdf = _InvoicePdf(document)
    pdf.set_title(_metadata_text(f"Factura {document.number}"))
    pdf.set_author(_metadata_text(document.issuer.name))
    pdf.set_subject(_metadata_text(f"Factura {document.number} - {document.client.name}"))
    pdf.set_lang("es-AR")
    issued = document.issued_on
    pdf.set_creation_date(datetime(issued.year, issued.month, issued.day, tzinfo=_ARGENTINA))
    pdf.add_page()
    content_width = pdf.w - pdf.l_margin - pdf.r_margin

    # Heading: title, then the issuer on the left and the dates and status on the right.
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(content_width, 8, pdf.heading, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    top = pdf.get_y()
    left_bottom = pdf.party(document.issuer, x=pdf.l_margin, y=top, width=105, heading=None, tax_label="CUIT")
    right_x, right_width = pdf.l_margin + 115, content_width - 115
    pdf.set_xy(right_x, top)
    pdf.set_font("Helvetica", "", 10)
    for text in (f"Fecha de emisión: {format_date(document.issued_on)}",
                 f"Vencimiento: {format_date(document.due_on)}"):
        pdf.paragraph(right_width, text, size=10, x=right_x)
    pdf.paragraph(right_width, f"Estado: {status}", style="B", size=10, x=right_x)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 4)

    pdf.set_draw_color(160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_draw_color(0)
    pdf.ln(3)
    pdf.party(document.client, x=pdf.l_margin, y=pdf.get_y(), width=content_width, heading="Cliente",
              tax_label="CUIT/DNI")
    pdf.ln(5)

    # Lines.
    pdf.table_header()
    for line in document.lines:
        pdf.table_row(line)
    pdf.ln(3)

    # Totals, right-aligned under the Importe column, kept on one page with the notes when they fit one.
    totals = (("Total", format_money(document.total)), ("Pagado", format_money(document.paid)),
              ("Saldo", format_money(owed)))
    notes = [pdf_text(note, multiline=True) for note in document.notes if note and note.strip()]
    totals_height = (len(totals) + 2) * (_LINE_H + 1)
    pdf.set_font("Helvetica", "", 8)
    notes_height = (6 + sum(len(pdf.text_lines(content_width, note)) for note in notes) * _LINE_H) if notes else 0
    page_height = pdf.page_break_trigger - pdf.t_margin - 2 * _LINE_H
    if pdf.room_for(totals_height) < 0 or (
        pdf.room_for(totals_height + notes_height) < 0 and totals_height + notes_height <= page_height
    ):
        pdf.add_page()
    pdf.set_font("Helvetica", "B", 10)
    label_width = 35.0
    value_width = min(max(40.0, *(pdf.get_string_width(value) + 2 * pdf.c_margin + 1 for _, value in totals)),
                      content_width - label_width)
    label_x = pdf.w - pdf.r_margin - label_width - value_width
    for index, (label, value) in enumerate(totals):
        pdf.set_font("Helvetica", "B" if index == len(totals) - 1 else "", 10)
        pdf.set_x(label_x)
        pdf.cell(label_width, _LINE_H + 1, label, align="L")
        pdf.cell(value_width, _LINE_H + 1, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.set_x(label_x)
    pdf.cell(label_width + value_width, _LINE_H + 1, f"Moneda: {currency_label(document.total.currency)}",
             align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_x(label_x)
    pdf.cell(label_width + value_width, _LINE_H + 1, f"Estado: {status}", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # Notes: free text, wrapping and flowing onto further pages as needed.
    if notes:
        pdf.ln(6)
        for note in notes:
            pdf.paragraph(content_width, note, size=8, x=pdf.l_margin)

    return pdf.finish()
