"""WhatsApp to support on `make dev` (a stack of its own: the demo account's support plan changes): the demo
holder's account takes the Full plan, a message from the holder's number (Meta's signed webhook, played by
/local/whatsapp/messages) opens a ticket the holder sees, and staff's answer goes back by WhatsApp."""

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("whatsapp_channel")]

HOLDER, STAFF = "demo@ejemplo.com.ar", "staff@ejemplo.com.ar"
HOLDER_NUMBER = "5491123456789"  # the seed's demo holder


def test_a_full_plan_clients_whatsapp_message_is_a_ticket_answered_by_whatsapp(own_stack):
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)
    client_id = http.json("GET", "/me", token=holder)[1]["account"]["client_id"]
    status, order = http.json("POST", f"/staff/clients/{client_id}/orders", token=staff,
                              body={"product_id": "soporte-full", "billing_cycle": "monthly"})
    assert status == 201, order
    http.json("POST", "/local/payments", body={"invoice_id": order["invoice"]["invoice_id"]})
    wait_for(lambda: http.json("GET", f"/me/services/{order['service']['service_id']}", token=holder)[1],
             lambda s: s["status"] == "active")

    status, sent = http.json("POST", "/local/whatsapp/messages",
                             body={"from": HOLDER_NUMBER, "text": "Hola, no me llegan los correos a Gmail"})
    assert status == 200 and sent["webhook_status"] == 200, sent

    def whatsapp_tickets():
        return [t for t in http.json("GET", "/me/tickets", token=holder)[1] if t["channel"] == "whatsapp"]

    (ticket,) = wait_for(whatsapp_tickets, bool)
    assert ticket["plan"] == "full" and ticket["subject"].startswith("WhatsApp: Hola, no me llegan")

    status, answered = http.json("POST", f"/staff/tickets/{ticket['ticket_id']}/replies", token=staff,
                                 body={"body": "Agregamos el registro SPF: pruebe de nuevo."})
    assert status == 200, answered

    def replies():
        return [m for m in http.json("GET", "/local/whatsapp")[1]["messages"]
                if m.get("text") and "registro SPF" in m["text"]]

    (reply,) = wait_for(replies, bool)
    assert reply["to"] == HOLDER_NUMBER and ticket["ticket_id"] in reply["text"]
