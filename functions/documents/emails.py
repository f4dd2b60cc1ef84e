"""What we email for each event, to whom, in Spanish (es-AR): plain text and the same in HTML.

Invoices (issued, paid, overdue) go to the holder and to the contacts with the `receive_invoices` right (the
help centre: a contact may "recibir las facturas"), with the invoice's PDF — apart from `invoices` (seeing and
paying them in the panel), as WHMCS keeps them: an accountant may get every PDF without paying, a partner pay
without a mailbox full of them. "Habilitación del servicio" goes to
the holder when a service becomes active: where its manual and credentials are in the panel (never a
password in an email) and, for a hosting, the self-service migration (option 2 of the help centre).
"""

from shared.auth import Permission
from shared.calendar import local_date
from shared.clock import from_storage
from shared.dal.accounts import Client, Contact
from shared.dal.billing import Invoice
from shared.dal.services import Service
from shared.money import Money
from shared.outbound_email import Mail


def invoice_recipients(client: Client | None, contacts: list[Contact], service_ids: list[str]) -> list[str]:
    """The holder and every contact with `receive_invoices` whose scope covers the invoice's services, each
    address once."""
    found: list[str] = []
    if client is not None and client.email:
        found.append(client.email.lower())
    for contact in sorted(contacts, key=lambda c: c.contact_id):
        address = (contact.email or "").lower()
        if Permission.RECEIVE_INVOICES.value in (contact.permissions or []) and address and address not in found \
                and contact.grant().covers(service_ids) and contact.status == "active":
            found.append(address)
    return found


def _day(stored: str) -> str:
    return local_date(from_storage(stored)).strftime("%d/%m/%Y")


def _name(invoice: Invoice) -> str:
    return invoice.number or invoice.invoice_id


def _how_to_pay(invoice: Invoice, lead: bool = True) -> str:
    """Mercado Pago charges in pesos only (checkout.logic.CURRENCIES)."""
    means = "con Mercado Pago o con tarjeta" if invoice.currency == "ARS" else "con tarjeta"
    return ("Puede pagarla " if lead else "") + f"{means} desde el panel."


def invoice_mail(kind: str, invoice: Invoice, panel_url: str) -> Mail:
    total = Money(invoice.total, invoice.currency).display()
    balance = Money(invoice.balance, invoice.currency).display()
    link = ("Ver y pagar la factura", f"{panel_url.rstrip('/')}/facturas/{invoice.invoice_id}")
    concept = "; ".join(line.description for line in invoice.lines)
    if kind == "invoice_paid":
        return Mail(kind, f"Recibimos su pago - Factura {_name(invoice)}", (
            "Hola,",
            f"Acreditamos el pago de la factura {_name(invoice)} por {total}. ¡Gracias!",
            f"Concepto: {concept}.",
            "Adjuntamos la factura en PDF.",
        ), ("Ver la factura", link[1]))
    if kind == "invoice_overdue":
        return Mail(kind, f"Factura {_name(invoice)} vencida", (
            "Hola,",
            f"La factura {_name(invoice)} venció el {_day(invoice.due_at)} y tiene un saldo de {balance}.",
            # Only an invoice of services can suspend one (a quote's cannot).
            ("Para evitar la suspensión del servicio, páguela " if invoice.service_ids() else "Puede pagarla ")
            + _how_to_pay(invoice, lead=False),
            "Adjuntamos la factura en PDF. Si ya la pagó, desestime este mensaje.",
        ), link)
    return Mail(kind, f"Factura {_name(invoice)} emitida - vence el {_day(invoice.due_at)}", (
        "Hola,",
        f"Emitimos la factura {_name(invoice)} por {total}, con vencimiento el {_day(invoice.due_at)}.",
        f"Concepto: {concept}.",
        (f"Saldo a pagar: {balance}. {_how_to_pay(invoice)}" if invoice.balance
         else "No tiene saldo a pagar: ya está pagada."),
        "Adjuntamos la factura en PDF.",
    ), link)


MIGRATION_ES = (
    "Si trae su sitio desde otro proveedor y prefiere migrarlo usted mismo (opción 2):\n"
    "1. Descargue una copia de los archivos del sitio y de sus bases de datos desde el proveedor anterior.\n"
    "2. Ingrese al cPanel con los datos de acceso que figuran debajo del MANUAL, en el panel.\n"
    "3. Suba los archivos con el Administrador de archivos o por FTP a public_html, cree las bases de datos "
    "y sus usuarios e importe cada copia con phpMyAdmin; ajuste la configuración del sitio con los nuevos datos.\n"
    "4. Cree las cuentas de email. Si lee el correo por webmail, descárguelo antes a su PC: los correos del "
    "servidor anterior no se pasan al nuevo.\n"
    "5. Cuando todo funcione, cambie la delegación (DNS) del dominio a nuestros servidores.\n"
    "Si prefiere que lo hagamos nosotros sin que note la baja (opción 1, recomendada), envíenos el acceso al "
    "servidor anterior desde el panel."
)


def enabling_mail(service: Service, panel_url: str) -> Mail:
    """The "Habilitación del servicio" email."""
    name = service.product_name + (f" ({service.domain})" if service.domain else "")
    paragraphs = [
        "Hola,",
        f"Su servicio {name} ya está activo.",
        ("Su MANUAL de uso y sus claves de acceso están" if service.manual
         else "Su detalle y sus datos de acceso están") + " en Paneldecliente → Mis servicios → el servicio. "
        "Por seguridad, nunca enviamos claves por email.",
    ]
    if service.product_kind == "hosting":
        paragraphs.append(MIGRATION_ES)
    return Mail("service_enabled", f"Habilitación del servicio {name}", tuple(paragraphs),
                ("Ver el servicio, su manual y sus claves", f"{panel_url.rstrip('/')}/servicios/{service.service_id}"))
