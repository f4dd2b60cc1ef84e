"""API shapes that more than one function returns (services, invoices, money)."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from shared.clock import from_storage
from shared.dal.services import Service
from shared.money import Currency, Money

if TYPE_CHECKING:  # only annotations: every function loads this module, and most never read an invoice or product
    from shared.dal.billing import Invoice
    from shared.dal.catalog import Product


class ApiModel(BaseModel):
    """Base of every request/response model. Validators are built on first use, not at import: a cold
    start builds only the models of the route it serves."""

    model_config = ConfigDict(defer_build=True)


def _normalise_email(value: object) -> object:
    # One account per email whatever the case or surrounding spaces: the login is case-insensitive.
    return value.strip().lower() if isinstance(value, str) else value


# A login's email (what the EmailMarker is keyed by). Cognito usernames are at most 128 characters.
LoginEmail = Annotated[EmailStr, BeforeValidator(_normalise_email), Field(max_length=128)]
# Never stored nor logged: only handed to Cognito to confirm it is the holder.
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]

BillingCycle = Literal["monthly", "quarterly", "semiannually", "annually", "biennially"]
ServiceStatus = Literal["pending", "active", "suspended", "cancelled", "terminated", "expired", "activation_failed"]
InvoiceStatus = Literal["unpaid", "paid", "cancelled", "refunded"]


class MoneyOut(ApiModel):
    amount: int  # minor units
    currency: Currency
    display: str  # es-AR text, e.g. "ARS 1.500,00"

    @classmethod
    def of(cls, money: Money) -> "MoneyOut":
        return cls(amount=money.amount, currency=money.currency, display=money.display())


class ProductOut(ApiModel):
    product_id: str
    group: str
    name: str
    description: str | None
    prices: dict[BillingCycle, MoneyOut]
    activation_mode: Literal["instant", "manual", "custom"]
    activation_days_min: int
    activation_days_max: int
    kind: Literal["domain", "hosting", "service"] = "service"  # a hosting or a domain is ordered with its domain
    domain_suffix: str | None = None  # a domain product's: the names it registers end in it


class ActivationOut(ApiModel):
    mode: Literal["instant", "manual", "custom"]
    state: Literal[
        "awaiting_payment", "queued", "provisioning", "awaiting_requirements", "in_progress", "active", "failed",
        "cancelled",
    ]
    eta_from: date | None  # local dates: the window in which the service will be active
    eta_to: date | None
    requirements: list[str]
    message: str  # es-AR, for the client area


class LifecycleOut(ApiModel):
    """Where the service is in its life: a pending cancellation, a suspension and why, its end and the
    backup kept after it, in one Spanish sentence for the page (``message``)."""

    suspension_reason: Literal["overdue", "payment_refunded", "staff"] | None
    cancellation_type: Literal["immediate", "end_of_period"] | None
    cancellation_effective_at: datetime | None
    renewal_invoice_id: str | None
    ended_at: datetime | None
    backup_retained_until: date | None
    message: str | None


class ServiceSummary(ApiModel):
    service_id: str
    product_id: str
    product_name: str
    product_group: str
    status: ServiceStatus
    billing_cycle: BillingCycle
    recurring_price: MoneyOut
    domain: str | None
    next_due_at: datetime | None
    auto_renew: bool
    activation: ActivationOut
    lifecycle: LifecycleOut


class InvoiceLineOut(ApiModel):
    service_id: str | None
    description: str
    period_start: datetime | None
    period_end: datetime | None
    amount: MoneyOut


class InvoiceOut(ApiModel):
    invoice_id: str
    number: str | None = None  # given by the document step, moments after the invoice is issued
    client_id: str
    status: InvoiceStatus
    document_ready: bool = False  # its PDF can be downloaded (GET /me/invoices/{invoice_id}/document)
    total: MoneyOut
    amount_paid: MoneyOut
    balance: MoneyOut
    issued_at: datetime
    due_at: datetime
    paid_at: datetime | None
    lines: list[InvoiceLineOut]


class PaymentOut(ApiModel):
    provider: str
    payment_id: str
    invoice_id: str | None
    status: Literal["applied", "underpaid", "credited", "currency_mismatch", "unmatched", "refunded",
                    "refunded_unseen", "invalid_amount"]
    amount: MoneyOut | None
    applied: int  # minor units applied to the invoice
    credited: int  # minor units sent to the client's credit
    provider_status: str
    received_at: datetime


def payment_out(payment) -> PaymentOut:
    currency = payment.currency
    return PaymentOut(
        provider=payment.provider, payment_id=payment.provider_payment_id, invoice_id=payment.invoice_id,
        status=payment.status,
        amount=MoneyOut.of(Money(payment.amount, Currency(currency))) if currency else None,
        applied=payment.applied, credited=payment.credited, provider_status=payment.provider_status,
        received_at=from_storage(payment.received_at),
    )


def _dt(text: str | None) -> datetime | None:
    return from_storage(text) if text else None


def product_out(product: "Product") -> ProductOut:
    return ProductOut(
        product_id=product.product_id,
        group=product.group,
        name=product.name,
        description=product.description,
        prices={
            cycle: MoneyOut.of(Money(amount, Currency(product.currency)))
            for cycle, amount in product.price_list().items()
        },
        activation_mode=product.activation_mode,
        activation_days_min=product.activation_days_min,
        activation_days_max=product.activation_days_max,
        kind=product.kind,
        domain_suffix=product.domain_suffix,
    )


def service_summary(service: Service) -> ServiceSummary:
    return ServiceSummary(**service_fields(service))


def service_fields(service: Service) -> dict:
    """A service's summary fields (a function's own richer view of a service adds to them)."""
    return {
        "service_id": service.service_id,
        "product_id": service.product_id,
        "product_name": service.product_name,
        "product_group": service.product_group,
        "status": service.status,
        "billing_cycle": service.billing_cycle,
        "recurring_price": MoneyOut.of(Money(service.recurring_amount, Currency(service.currency))),
        "domain": service.domain,
        "next_due_at": _dt(service.period_end),
        "auto_renew": service.auto_renew,
        "activation": ActivationOut(
            mode=service.activation_mode,
            state=service.activation_state,
            eta_from=date.fromisoformat(service.eta_from) if service.eta_from else None,
            eta_to=date.fromisoformat(service.eta_to) if service.eta_to else None,
            requirements=list(service.requirements or []),
            message=_activation_message(service),
        ),
        "lifecycle": LifecycleOut(
            suspension_reason=service.suspension_reason,
            cancellation_type=service.cancellation_type,
            cancellation_effective_at=_dt(service.cancellation_effective_at),
            renewal_invoice_id=service.renewal_invoice_id,
            ended_at=_dt(service.ended_at),
            backup_retained_until=date.fromisoformat(service.backup_retained_until)
            if service.backup_retained_until else None,
            message=_lifecycle_message(service),
        ),
    }


def _lifecycle_message(service: Service) -> str | None:
    from shared.calendar import local_date

    def day(stored: str) -> str:
        return local_date(from_storage(stored)).strftime("%d/%m/%Y")

    if service.status in ("cancelled", "terminated", "expired"):
        ended = {"cancelled": "Servicio dado de baja", "terminated": "Servicio dado de baja por el proveedor",
                 "expired": "Dominio vencido: no se renovó"}[service.status]
        if service.backup_retained_until:
            kept = date.fromisoformat(service.backup_retained_until).strftime("%d/%m/%Y")
            return f"{ended}. Backup disponible hasta {kept}: puede pedir su restauración (puede tener costo)."
        return f"{ended}."
    if service.cancellation_type and service.cancellation_effective_at:
        return (f"Baja solicitada: el servicio sigue funcionando hasta el {day(service.cancellation_effective_at)}"
                " y no se renueva. Puede cancelar la solicitud hasta entonces.")
    if service.status == "suspended":
        return {"overdue": "Suspendido por falta de pago: se reactiva en cuanto se acredite el pago de la factura.",
                "payment_refunded": "Suspendido: el pago fue devuelto. Se reactiva al volver a pagar la factura.",
                "staff": "Suspendido por el equipo del proveedor. Consulte por un ticket."}.get(
                    service.suspension_reason or "", "Suspendido.")
    if service.product_kind == "domain" and not service.auto_renew and service.period_end:
        return f"Renovación automática desactivada: el dominio vence el {day(service.period_end)}."
    return None


def _activation_message(service: Service) -> str:
    state, mode = service.activation_state, service.activation_mode
    if state == "active":
        return "Servicio activo: el MANUAL y las claves están en el detalle del servicio."
    if state == "failed":
        return "No pudimos activar el servicio automáticamente. Nuestro equipo ya fue avisado y lo resolverá."
    if state == "awaiting_payment":
        waits = {"instant": "se activa en hasta 2 minutos", "manual": "se activa en días hábiles",
                 "custom": "se realiza en 10 a 15 días"}[mode]
        return f"Pendiente de pago: una vez acreditado el pago, {waits}."
    if state in ("queued", "provisioning"):
        return "Pago acreditado: el servicio se está activando (hasta 2 minutos)."
    if state == "cancelled":
        return "Activación cancelada: el pago fue devuelto."
    if state == "awaiting_requirements":
        return "Para comenzar necesitamos: " + "; ".join(service.requirements or []) + "."
    if service.eta_from == service.eta_to:  # "entre el 03/12 y el 03/12" reads like a mistake
        return f"En preparación: estará listo el {_es_date(service.eta_to)}."
    return f"En preparación: estará listo entre el {_es_date(service.eta_from)} y el {_es_date(service.eta_to)}."


def _es_date(text: str | None) -> str:
    return date.fromisoformat(text).strftime("%d/%m/%Y") if text else "-"


class DocumentOut(ApiModel):
    url: str  # presigned: a GET downloads the PDF until expires_at
    filename: str
    number: str | None
    expires_at: datetime


def invoice_out(invoice: "Invoice") -> InvoiceOut:
    currency = Currency(invoice.currency)
    total = Money(invoice.total, currency)
    paid = Money(invoice.amount_paid, currency)
    return InvoiceOut(
        invoice_id=invoice.invoice_id,
        number=invoice.number,
        client_id=invoice.client_id,
        status=invoice.status,
        document_ready=bool(invoice.document_key),
        total=MoneyOut.of(total),
        amount_paid=MoneyOut.of(paid),
        balance=MoneyOut.of(total - paid),
        issued_at=from_storage(invoice.issued_at),
        due_at=from_storage(invoice.due_at),
        paid_at=_dt(invoice.paid_at),
        lines=[
            InvoiceLineOut(
                service_id=line.service_id,
                description=line.description,
                period_start=_dt(line.period_start),
                period_end=_dt(line.period_end),
                amount=MoneyOut.of(Money(line.amount, currency)),
            )
            for line in invoice.lines
        ],
    )
