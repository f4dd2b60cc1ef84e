"""Demo data for `make dev`: the seed's catalog, a demo client with services and invoices, a secondary
contact with limited rights, and a staff user. Written through the same repositories as production."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import lifecycle
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import SystemClock, to_storage
from shared.credentials import encrypt_credentials
from shared.dal.accounts import Accounts, Client, Contact
from shared.dal.billing import Invoice, InvoiceLine
from shared.dal.catalog import Catalog, Product
from shared.dal.services import Service
from shared.dal.status import StatusPage, server_member
from shared.dal.unit_of_work import UnitOfWork
from shared.ids import new_id
from shared.invoices import invoice_due_at, schedule_reminder
from shared.logins import CognitoLogins

PASSWORD = "Demo1234"


@dataclass(frozen=True)
class DemoUser:
    role: str
    email: str
    password: str


DEMO_CPANEL_USER = "demopyme"
HOSTING_MANUAL = (
    "Manual de uso del hosting {{dominio}}: ingrese a cPanel en {{panel_url}} con el usuario {{usuario}} y la clave "
    "de abajo (el webmail, en {{webmail_url}}). Correo en Outlook: servidor entrante {{correo_entrante}} (IMAP, "
    "puerto 993) y saliente {{correo_saliente}} (SMTP, puerto 465), con la dirección completa como usuario. FTP: "
    "{{ftp_host}}, puerto 21. Para que su sitio y su correo funcionen, delegue el dominio a {{nameservers}}."
)

# The seed's upgrade example: 100 per year -> 150 per year (amounts in centavos). upgrade_targets are the
# catalog's upgrade and downgrade paths (the "Upgrade/Downgrade" action of the client area).
CATALOG = [
    dict(product_id="hosting-inicial", group="Hosting", kind="hosting", name="Hosting Inicial", currency="ARS",
         prices={"monthly": 1000, "annually": 10000}, upgrade_targets=["hosting-avanzado", "hosting-empresa"],
         activation_mode="instant", provisioning_module="cpanel", manual=HOSTING_MANUAL, sort_order=10,
         description="1 sitio, 5 GB, correo incluido."),
    dict(product_id="hosting-avanzado", group="Hosting", kind="hosting", name="Hosting Avanzado", currency="ARS",
         prices={"monthly": 1500, "annually": 15000}, upgrade_targets=["hosting-empresa", "hosting-inicial"],
         activation_mode="instant", provisioning_module="cpanel", manual=HOSTING_MANUAL, sort_order=20,
         description="5 sitios, 20 GB, correo incluido."),
    dict(product_id="hosting-empresa", group="Hosting", kind="hosting", name="Hosting Empresa", currency="ARS",
         prices={"monthly": 2500, "annually": 25000}, upgrade_targets=["hosting-avanzado", "hosting-inicial"],
         activation_mode="instant", provisioning_module="cpanel", manual=HOSTING_MANUAL, sort_order=30,
         description="Sitios ilimitados, 50 GB."),
    dict(product_id="vps-cloud", group="Servidores", name="VPS Cloud", currency="USD",
         prices={"monthly": 2000, "annually": 20000}, upgrade_targets=[],
         activation_mode="manual", activation_days_min=2, activation_days_max=2, provisioning_module=None,
         requirements=["Sistema operativo elegido", "Clave SSH pública"],
         manual="Acceda por SSH con el usuario root y la clave de abajo.", sort_order=40,
         description="2 vCPU, 4 GB RAM; se activa en 2 días hábiles."),
    dict(product_id="diseno-web", group="Diseño web", name="Diseño Web Autoadministrable", currency="ARS",
         prices={"annually": 90000}, upgrade_targets=[], activation_mode="custom",
         activation_days_min=10, activation_days_max=15, provisioning_module=None, sort_order=50,
         manual="Le enviaremos el acceso al administrador del sitio cuando esté listo.",
         description="Sitio a medida; de 10 a 15 días desde que recibimos toda la información."),
    dict(product_id="dominio-com-ar", group="Dominios", kind="domain", name="Dominio .com.ar", currency="ARS",
         prices={"annually": 800000}, upgrade_targets=[], activation_mode="instant", provisioning_module=None,
         domain_suffix=".com.ar",
         sort_order=55,
         description="Registro anual del dominio; se paga por año adelantado y puede dejar de renovarse."),
    dict(product_id="soporte-standard", group="Soporte", name="Soporte Standard", currency="ARS",
         prices={"monthly": 0}, upgrade_targets=["soporte-profesional", "soporte-full"],
         activation_mode="instant", provisioning_module=None, sort_order=60,
         support_plan="standard", support_channels=["ticket", "chat", "video_tutorials"],
         description="Incluido con todos los servicios. Respuesta en 8 horas laborables."),
    dict(product_id="soporte-profesional", group="Soporte", name="Soporte Profesional", currency="ARS",
         prices={"monthly": 5000}, upgrade_targets=["soporte-full", "soporte-standard"], activation_mode="instant",
         provisioning_module=None, sort_order=70,
         support_plan="profesional", support_channels=["ticket", "chat", "phone", "video_tutorials"],
         description="Respuesta en 2 horas laborables, atención telefónica."),
    dict(product_id="soporte-full", group="Soporte", name="Soporte Full", currency="ARS",
         prices={"monthly": 15000}, upgrade_targets=["soporte-profesional", "soporte-standard"],
         activation_mode="instant", provisioning_module=None,
         support_plan="full", support_channels=["ticket", "chat", "phone", "whatsapp", "telegram", "video_tutorials"],
         sort_order=80, description="Respuesta en 15 minutos, WhatsApp y Telegram."),
]


def seed(logins: CognitoLogins, kms, now: datetime | None = None) -> list[DemoUser]:
    now = now or SystemClock().now()
    catalog, accounts = Catalog(), Accounts()
    for spec in CATALOG:
        product = Product(*Product.key(spec["product_id"]), **spec)
        catalog.put_product(product)

    client_id = new_id()
    client = Client(
        *Client.key(client_id), client_id=client_id, email="demo@ejemplo.com.ar", name="Cliente Demo",
        company="Demo SRL", tax_id="20123456786", country="AR", phone="+5491123456789", whatsapp_opt_in=True,
        support_plan="standard", account_executive="Laura (ventas)", created_at=to_storage(now),
        updated_at=to_storage(now),
    )
    with UnitOfWork() as uow:
        accounts.add_client(uow, client)
    logins.create(client.email, client_id=client_id, password=PASSWORD)

    # An annual hosting in the middle of its year (the seed's upgrade example) and a monthly VPS.
    start = local_midnight(add_months(local_date(now), -6))
    hosting = _service(client_id, "hosting-inicial", "Hosting", "Hosting Inicial", "annually", "ARS", 10000,
                       start, add_months(start.date(), 12), "active", "demo-pyme.com.ar", HOSTING_MANUAL, now)
    hosting.server = "srv12.paneldecliente.com"  # staff may flag it: PUT /staff/servers/srv12.paneldecliente.com
    # Its account on the (fake) WHM, which devstack.stack creates there: the holder can have its password changed.
    hosting.provisioning_account = DEMO_CPANEL_USER
    hosting.credentials_ciphertext = encrypt_credentials(kms, hosting.service_id, {
        "usuario cPanel": DEMO_CPANEL_USER, "clave cPanel": "S3gura!2026", "servidor": "srv12.paneldecliente.com",
    })
    vps = _service(client_id, "vps-cloud", "Servidores", "VPS Cloud", "monthly", "USD", 2000,
                   None, None, "pending", None, "Acceda por SSH con el usuario root.", now)
    paid = _invoice(client_id, hosting, 10000, "ARS", start, "paid", now - timedelta(days=183))
    # Ordered ten days ago and not paid: overdue, for the daily reminder to find.
    ordered = now - timedelta(days=10)
    unpaid = _invoice(client_id, vps, 2000, "USD", local_midnight(local_date(ordered)), "unpaid", ordered)
    # A domain a month before the end of its paid year: its renewal invoice is 14 days away.
    domain_start = local_midnight(add_months(local_date(now), -11))
    domain = _service(client_id, "dominio-com-ar", "Dominios", "Dominio .com.ar", "annually", "ARS", 800000,
                      domain_start, add_months(domain_start.date(), 12), "active", "demo-pyme.com.ar", None, now)
    policy = lifecycle.LifecyclePolicy.from_env()
    for service in (hosting, domain):  # on the renewal sweep's index, as activation puts them
        lifecycle.started(service)
        lifecycle.schedule(service, policy)
    for item in (hosting, vps, domain, paid, unpaid, server_member(hosting.server, hosting.service_id)):
        item.save()
    seed_status_page(now)

    contact_id = new_id()
    contact = Contact(
        *Contact.key(client_id, contact_id), client_id=client_id, contact_id=contact_id,
        email="contable@ejemplo.com.ar", name="Estudio Contable",
        permissions=["invoices", "receive_invoices", "tickets"], created_at=to_storage(now),
    )
    with UnitOfWork() as uow:
        accounts.add_contact(uow, contact)
    logins.create(contact.email, client_id=client_id, contact_id=contact_id, password=PASSWORD)
    # Who the demo number is (a WhatsApp message from it), as the tickets worker keeps it from the accounts'
    # events (the seed writes the account directly, without them).
    from tickets.phonebook import reconcile

    from shared.dal.tickets import Tickets

    reconcile(Tickets(), client_id, None)

    # A second client, with no services yet: who the demo holder can transfer a service to (Cambio de titular).
    other_id = new_id()
    other = Client(*Client.key(other_id), client_id=other_id, email="otro@ejemplo.com.ar", name="Otra Empresa",
                   company="Otra Empresa SA", tax_id="30712345671", country="AR", created_at=to_storage(now),
                   updated_at=to_storage(now))
    with UnitOfWork() as uow:
        accounts.add_client(uow, other)
    logins.create(other.email, client_id=other_id, password=PASSWORD)

    logins.create("staff@ejemplo.com.ar", client_id=None, password=PASSWORD, groups=("staff",))
    return [
        DemoUser("cliente (titular)", client.email, PASSWORD),
        DemoUser("contacto secundario (solo facturas y tickets)", contact.email, PASSWORD),
        DemoUser("otro cliente (recibe transferencias)", other.email, PASSWORD),
        DemoUser("personal (staff)", "staff@ejemplo.com.ar", PASSWORD),
    ]


# The status page's components: our servers and the platform's services, grouped (docs/status-page.md).
STATUS_COMPONENTS = {
    "srv12": {"name": "Servidor srv12 (hosting)", "group": "Servidores", "servers": ["srv12.paneldecliente.com"],
              "sort_order": 1},
    "srv13": {"name": "Servidor srv13 (hosting)", "group": "Servidores", "servers": ["srv13.paneldecliente.com"],
              "sort_order": 2},
    "correo": {"name": "Correo (SMTP, IMAP y webmail)", "group": "Plataforma",
               "servers": ["srv12.paneldecliente.com", "srv13.paneldecliente.com"], "sort_order": 1},
    "dns": {"name": "DNS (ns1 y ns2)", "group": "Plataforma", "servers": [], "sort_order": 2},
    "panel": {"name": "Paneldecliente", "group": "Plataforma", "servers": [], "sort_order": 3},
}


def seed_status_page(now: datetime) -> None:
    StatusPage(*StatusPage.key(), document={"components": STATUS_COMPONENTS}, updated_at=to_storage(now)).save()


def _service(client_id, product_id, group, name, cycle, currency, amount, start, end, status, domain, manual, now):
    service_id = new_id()
    spec = next(p for p in CATALOG if p["product_id"] == product_id)
    return Service(
        *Service.key(service_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"SERVICE#{service_id}",
        activation_mode=spec["activation_mode"], activation_days_min=spec.get("activation_days_min", 0),
        activation_days_max=spec.get("activation_days_max", 0), provisioning_module=spec["provisioning_module"],
        requirements=spec.get("requirements", []), upgrade_targets=list(spec.get("upgrade_targets", [])),
        activation_state="active" if status == "active" else "awaiting_payment",
        product_kind=spec.get("kind", "service"),
        service_id=service_id, client_id=client_id, product_id=product_id, product_name=name,
        product_group=group, status=status, billing_cycle=cycle, currency=currency, recurring_amount=amount,
        period_start=to_storage(start) if start else None,
        period_end=to_storage(local_midnight(end)) if end else None,
        domain=domain, manual=manual, created_at=to_storage(now), updated_at=to_storage(now),
    )


def _invoice(client_id, service, amount, currency, period_start, status, issued):
    invoice_id = new_id(int(issued.timestamp() * 1000))
    due = invoice_due_at(issued)
    invoice = Invoice(
        *Invoice.key(invoice_id), gsi1pk=f"CLIENT#{client_id}", gsi1sk=f"INVOICE#{invoice_id}",
        invoice_id=invoice_id, client_id=client_id, currency=currency, total=amount,
        amount_paid=amount if status == "paid" else 0, status=status, issued_at=to_storage(issued),
        due_at=to_storage(due), paid_at=to_storage(issued) if status == "paid" else None,
        lines=[InvoiceLine(service_id=service.service_id, description=service.product_name,
                           period_start=to_storage(period_start), amount=amount)],
    )
    if status == "unpaid":
        schedule_reminder(invoice)
    return invoice


def seed_knowledge_base(s3, bucket: str) -> int:
    """The help centre's articles (and the self-diagnostics' own), published, and the search index built from them
    (as the indexer would on their kb.article_changed events). Returns how many."""
    from kb.index_store import rebuild

    from devstack.help_centre import DIAGNOSTIC_ARTICLES, articles
    from shared.dal.kb import KbArticle, KnowledgeBase

    now = to_storage(SystemClock().now())
    for found in [*articles(), *DIAGNOSTIC_ARTICLES]:
        article = KbArticle(*KbArticle.key(found["slug"]), slug=found["slug"], title=found["title"],
                            category=found["category"], body=found["body"], status="published", published_at=now,
                            updated_by="seed", created_at=now, updated_at=now)
        article.save()
    return len(rebuild(KnowledgeBase(), s3, bucket))
