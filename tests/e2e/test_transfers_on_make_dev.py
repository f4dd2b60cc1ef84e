"""Cambio de titular on `make dev` (a stack of its own: the demo hosting changes hands): the demo holder transfers
the hosting to the second demo client with the password, that client accepts with theirs, staff approve with the
note of their verification call, and each side sees the result."""

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("transfers_on_make_dev")]

HOLDER, OTHER, STAFF = "demo@ejemplo.com.ar", "otro@ejemplo.com.ar", "staff@ejemplo.com.ar"


def test_the_demo_hosting_changes_holder_and_each_side_sees_the_result(own_stack):
    http = own_stack
    holder, other, staff = http.token(HOLDER), http.token(OTHER), http.token(STAFF)
    (hosting,) = [s for s in http.json("GET", "/me/services", token=holder)[1] if s["product_id"] == "hosting-inicial"]
    status, asked = http.json("POST", f"/services/{hosting['service_id']}/transfer", token=holder,
                              body={"target_email": OTHER, "password": "Demo1234"})
    assert status == 201 and asked["status"] == "awaiting_target", asked
    status, (offered,) = http.json("GET", "/me/transfers", token=other)
    assert offered["from_name"] == "Cliente Demo" and offered["service"].startswith("Hosting Inicial")
    status, accepted = http.json("POST", f"/me/transfers/{offered['transfer_id']}/accept", token=other,
                                 body={"password": "Demo1234"})
    assert accepted["status"] == "awaiting_staff", accepted
    (queued,) = [t for t in http.json("GET", "/staff/transfers", token=staff)[1]
                 if t["transfer_id"] == offered["transfer_id"]]
    assert queued["needs_verification"] and "tax_id" in queued["verification_reasons"]
    status, approved = http.json("POST", f"/staff/transfers/{offered['transfer_id']}/approve", token=staff,
                                 body={"verification_note": "Llamamos al titular: confirma el cambio."})
    assert status == 200 and approved["status"] == "completed", approved

    assert hosting["service_id"] not in [s["service_id"] for s in http.json("GET", "/me/services", token=holder)[1]]
    status, received = http.json("GET", f"/me/services/{hosting['service_id']}", token=other)
    assert status == 200 and received["domain"] == "demo-pyme.com.ar"
    assert http.json("GET", f"/me/services/{hosting['service_id']}", token=holder)[0] == 404
    # Both holders are told (their alerts), the request is recorded as a ticket of the demo account.
    wait_for(lambda: http.json("GET", "/me/tickets", token=holder)[1],
             lambda tickets: any(t["subject"].startswith("Cambio de titular") for t in tickets))
    # Its cPanel passwords were the previous holder's: the new holder's account has the ticket to change them.
    renewed = wait_for(lambda: http.json("GET", "/me/tickets", token=other)[1],
                       lambda tickets: any("nuevas claves" in t["subject"] for t in tickets))
    assert any("nuevas claves de Hosting Inicial" in t["subject"] for t in renewed)
    alerts = wait_for(lambda: http.json("GET", "/me/alerts", token=other)[1],
                      lambda found: {"transferencia_ofrecida", "servicio_recibido"} <= {a["template"] for a in found})
    assert {"transferencia_ofrecida", "servicio_recibido"} <= {a["template"] for a in alerts}
