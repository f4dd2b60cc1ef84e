"""WhatsApp and Telegram to support on `make dev` (a stack of its own: the demo account's support plan changes):
the demo holder's account takes the Full plan, a message from the holder's number (Meta's signed webhook, played
by /local/whatsapp/messages) opens a ticket the holder sees, and staff's answer goes back by WhatsApp; the holder
links a Telegram with the panel's code (the bot's webhook, set by make dev with setWebhook and played by
/local/telegram/messages) and the same happens there."""

import pytest

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("whatsapp_channel")]

HOLDER, STAFF = "demo@ejemplo.com.ar", "staff@ejemplo.com.ar"
HOLDER_NUMBER = "5491123456789"  # the seed's demo holder


def _on_full(http, holder, staff):
    client_id = http.json("GET", "/me", token=holder)[1]["account"]["client_id"]
    if any(s["product_id"] == "soporte-full" and s["status"] == "active"
           for s in http.json("GET", "/me/services", token=holder)[1]):
        return
    status, order = http.json("POST", f"/staff/clients/{client_id}/orders", token=staff,
                              body={"product_id": "soporte-full", "billing_cycle": "monthly"})
    assert status == 201, order
    http.json("POST", "/local/payments", body={"invoice_id": order["invoice"]["invoice_id"]})
    wait_for(lambda: http.json("GET", f"/me/services/{order['service']['service_id']}", token=holder)[1],
             lambda s: s["status"] == "active")


def test_a_full_plan_clients_whatsapp_message_is_a_ticket_answered_by_whatsapp(own_stack):
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)
    _on_full(http, holder, staff)

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


def test_a_linked_telegram_opens_a_ticket_answered_in_telegram(own_stack):
    http = own_stack
    holder, staff = http.token(HOLDER), http.token(STAFF)
    _on_full(http, holder, staff)
    status, code = http.json("POST", "/me/telegram-link", token=holder)
    assert status == 201 and code["link"].endswith(f"?start={code['code']}"), code
    user = 555000111

    def said(fragment):
        return [m for m in http.json("GET", "/local/telegram")[1]["messages"] if fragment in m["text"]]

    assert http.json("POST", "/local/telegram/messages",
                     body={"from": user, "text": f"/start {code['code']}", "username": "demo_tg"})[1][
        "webhook_status"] == 200
    (linked,) = wait_for(lambda: said("quedó vinculado"), bool)
    assert linked["chat_id"] == user
    http.json("POST", "/local/telegram/messages", body={"from": user, "text": "No me anda el webmail"})

    def telegram_tickets():
        return [t for t in http.json("GET", "/me/tickets", token=holder)[1] if t["channel"] == "telegram"]

    (ticket,) = wait_for(telegram_tickets, bool)
    status, _ = http.json("POST", f"/staff/tickets/{ticket['ticket_id']}/replies", token=staff,
                          body={"body": "Reiniciamos el servicio de webmail: pruebe ahora."})
    assert status == 200
    (reply,) = wait_for(lambda: said("Reiniciamos el servicio"), bool)
    assert reply["chat_id"] == user and ticket["ticket_id"] in reply["text"]
