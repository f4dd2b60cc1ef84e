from datetime import datetime
from typing import Literal

from pydantic import ConfigDict

from shared.schemas import ApiModel, InvoiceOut, MoneyOut

Provider = Literal["mercadopago", "stripe"]


class OpenCheckout(ApiModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider


class CheckoutOut(ApiModel):
    provider: Provider
    # Where to send the client to pay; null when the account's credit paid the whole invoice.
    url: str | None
    reference: str | None  # the Mercado Pago preference or Stripe Checkout Session id
    amount: MoneyOut  # what the checkout asks for: the invoice's balance after credit
    open_until: datetime | None
    credit_applied: MoneyOut  # credit spent on the invoice by this call
    invoice: InvoiceOut
