"""Alerts API: GET /me/alerts, GET/PATCH /me/alerts/settings (each person their own)."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from alerts import logic
from alerts.schemas import AlertOut, AlertSettingsOut, UpdateAlertSettings

from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.alerts import Alerts
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
deliveries, accounts = Alerts(), Accounts()
clock = SystemClock()


@app.get("/me/alerts", tags=["Alertas"],
         summary="Mis alertas por WhatsApp y por correo, y su estado (las más recientes primero)",
         security=SECURED, responses=answers())
def list_my_alerts() -> list[AlertOut]:
    return logic.my_alerts(deliveries, accounts, current_identity(app))


@app.get("/me/alerts/settings", tags=["Alertas"], summary="Qué alertas recibo por WhatsApp y por correo",
         security=SECURED, responses=answers())
def get_my_alert_settings() -> AlertSettingsOut:
    return logic.my_settings(accounts, current_identity(app))


@app.patch("/me/alerts/settings", tags=["Alertas"],
           summary="Activar o desactivar las alertas de WhatsApp, el celular y cada tipo de alerta por canal",
           security=SECURED, responses=answers())
def update_my_alert_settings(body: UpdateAlertSettings) -> AlertSettingsOut:
    return logic.update_my_settings(accounts, clock, current_identity(app), body)


lambda_handler = lambda_handler_for(app)
