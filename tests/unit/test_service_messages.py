"""What the client area says about a service (shared.schemas)."""


def test_an_eta_of_one_day_is_said_as_one_day():
    from shared.dal.services import Service
    from shared.schemas import service_summary

    service = Service(*Service.key("S"), service_id="S", client_id="C", product_id="p", product_name="P",
                      product_group="g", status="pending", billing_cycle="monthly", currency="ARS", recurring_amount=1,
                      activation_mode="manual", activation_state="in_progress", eta_from="2026-12-03",
                      eta_to="2026-12-03", created_at="x", updated_at="x")
    assert service_summary(service).activation.message == "En preparación: estará listo el 03/12/2026."
    service.eta_to = "2026-12-07"
    assert "entre el 03/12/2026 y el 07/12/2026" in service_summary(service).activation.message
