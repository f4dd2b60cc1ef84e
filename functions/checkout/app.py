"""Checkout API: POST /me/invoices/{invoice_id}/checkout."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from checkout import logic
from checkout.providers import MercadoPagoCheckout, StripeCheckout
from checkout.schemas import CheckoutOut, OpenCheckout

from shared import config
from shared.clock import SystemClock
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
clock = SystemClock()


def _gateways() -> dict:
    """The providers' clients with the current secrets (cached by provider_secrets; a rotation applies)."""
    # Imported on first use: Powertools' parameters utility loads boto3, which the route's validation
    # failures (and the cold start) never need.
    from shared.provider_secrets import provider_secrets

    secrets = provider_secrets()
    return {
        "mercadopago": MercadoPagoCheckout(config.env(config.MERCADOPAGO_API_URL),
                                           secrets["mercadopago_access_token"]),
        "stripe": StripeCheckout(config.env(config.STRIPE_API_URL), secrets["stripe_secret_key"]),
    }


@app.post(
    "/me/invoices/<invoice_id>/checkout",
    tags=["Facturación"],
    summary="Pagar una factura",
    description=(
        "Devuelve la página del proveedor (Mercado Pago Checkout Pro o Stripe Checkout) donde pagar el saldo de "
        "la factura. Antes usa el saldo a favor de la cuenta; si lo cubre todo, la factura queda pagada y `url` "
        "es null. Repetir la llamada mientras el pago sigue abierto devuelve el mismo."
    ),
    security=SECURED,
    responses=answers(200, "Dónde pagar"),
)
def open_checkout(invoice_id: str, body: OpenCheckout) -> CheckoutOut:
    urls = logic.Urls(api=config.env(config.PUBLIC_API_URL), panel=config.env(config.PANEL_URL))
    return logic.open_checkout(_gateways(), clock, urls, current_identity(app), invoice_id, body.provider)


lambda_handler = lambda_handler_for(app)
