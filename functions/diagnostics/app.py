"""Self-diagnostics API: GET /services/{service_id}/diagnostics checks the service's domain (DNS delegation, where
the website and the mail point, the TLS certificate, the website's answer) with explanations in Spanish and the
knowledge base article for each problem. Its own function: network calls of a few seconds, dnspython at import."""

from typing import Annotated

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler.openapi.params import Query
from diagnostics import logic
from diagnostics.checks import Probe
from diagnostics.schemas import DiagnosticsOut

from shared import config
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.rate_limits import RateWindows
from shared.dal.services import Services
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
services, accounts, rates = Services(), Accounts(), RateWindows()
clock = SystemClock()


def probe() -> Probe:
    """Read per request, so the local stack and the tests can point a warm process at their loopback servers."""
    resolver = config.env(config.DIAGNOSTICS_RESOLVER, "")
    host, _, port = resolver.rpartition(":")
    return Probe(
        nameservers=tuple(n.strip() for n in config.env(config.NAMESERVERS, "").split(",") if n.strip()),
        resolver=(host, int(port)) if resolver else None,
        https_port=int(config.env(config.DIAGNOSTICS_HTTPS_PORT, "443")),
        http_port=int(config.env(config.DIAGNOSTICS_HTTP_PORT, "80")),
        ca_file=config.env(config.DIAGNOSTICS_CA_FILE, "") or None,
        allow_private=config.env(config.DIAGNOSTICS_ALLOW_PRIVATE, "false") == "true",
        # The tests' loopback servers answer at once, but a loaded CI machine may not run them at once.
        dns_timeout=float(config.env(config.DIAGNOSTICS_DNS_TIMEOUT, "2")),
        run_seconds=float(config.env(config.DIAGNOSTICS_RUN_SECONDS, "9")),
    )


@app.get("/services/<service_id>/diagnostics", tags=["Servicios"], summary="Autodiagnóstico del servicio",
         description="Revisa el dominio del servicio: su delegación (DNS), a dónde apuntan el sitio y el correo "
                     "(MX), su certificado SSL y la respuesta del sitio, cada punto con su explicación y el artículo "
                     "que lo resuelve. El resultado se reutiliza 5 minutos (`refresh=true` lo repite), hasta 10 "
                     "revisiones nuevas por hora y servicio.", security=SECURED, responses=answers())
def diagnose(service_id: str, refresh: Annotated[bool, Query()] = False) -> DiagnosticsOut:
    return logic.diagnose(services, accounts, rates, clock, probe(), current_identity(app), service_id, refresh)


lambda_handler = lambda_handler_for(app)
