"""Quotes API: staff send a quote to a client; the client reads, accepts (its invoice is issued) or declines."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from quotes import logic
from quotes.schemas import AcceptedQuoteOut, CreateQuote, QuoteOut

from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.quotes import Quotes
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
clock = SystemClock()
accounts, quotes = Accounts(), Quotes()


@app.post("/staff/clients/<client_id>/quotes", tags=["Personal"], summary="Enviar un presupuesto a un cliente",
          security=SECURED, responses=answers(201, "Presupuesto enviado"))
def staff_create_quote(client_id: str, body: CreateQuote) -> tuple[QuoteOut, int]:
    return logic.create_quote(clock, current_identity(app), client_id, body), 201


@app.get("/staff/clients/<client_id>/quotes", tags=["Personal"], summary="Presupuestos de un cliente",
         security=SECURED, responses=answers())
def staff_client_quotes(client_id: str) -> list[QuoteOut]:
    return logic.client_quotes(quotes, clock, current_identity(app), client_id)


@app.get("/me/quotes", tags=["Presupuestos"], summary="Mis presupuestos", security=SECURED, responses=answers())
def my_quotes() -> list[QuoteOut]:
    return logic.my_quotes(accounts, quotes, clock, current_identity(app))


@app.get("/me/quotes/<quote_id>", tags=["Presupuestos"], summary="Detalle de un presupuesto", security=SECURED,
         responses=answers())
def get_my_quote(quote_id: str) -> QuoteOut:
    return logic.get_quote(accounts, quotes, clock, current_identity(app), quote_id)


@app.post("/me/quotes/<quote_id>/accept", tags=["Presupuestos"], summary="Aceptar un presupuesto",
          description="Emite su factura en el mismo paso. Un presupuesto vencido o ya respondido se rechaza (409).",
          security=SECURED, responses=answers(200, "Presupuesto aceptado y factura emitida"))
def accept_my_quote(quote_id: str) -> AcceptedQuoteOut:
    return logic.accept_quote(accounts, quotes, clock, current_identity(app), quote_id)


@app.post("/me/quotes/<quote_id>/decline", tags=["Presupuestos"], summary="Rechazar un presupuesto",
          security=SECURED, responses=answers())
def decline_my_quote(quote_id: str) -> QuoteOut:
    return logic.decline_quote(accounts, quotes, clock, current_identity(app), quote_id)


lambda_handler = lambda_handler_for(app)
