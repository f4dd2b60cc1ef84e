"""The client's whole path on `make dev`, over HTTP as a browser would: order a hosting plan, open its
checkout, pay on the provider's (fake) page, get the invoice email with its PDF and the "Habilitación del
servicio" email, and see the service active."""

import io
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

DEMO = "demo@ejemplo.com.ar"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("provider", ["mercadopago", "stripe"])
def test_the_demo_holder_orders_pays_on_the_providers_page_and_gets_its_emails_and_an_active_service(
        local_stack, provider):
    token = local_stack.token(DEMO)
    domain = f"autogestion-{provider}.com.ar"
    status, order = local_stack.json("POST", "/me/orders", token=token, headers={"Idempotency-Key": f"e2e-{provider}"},
                                     body={"product_id": "hosting-inicial", "billing_cycle": "annually",
                                           "domain": domain})
    assert status == 201, order
    invoice_id, service_id = order["invoice"]["invoice_id"], order["service"]["service_id"]

    status, checkout = local_stack.json("POST", f"/me/invoices/{invoice_id}/checkout", token=token,
                                        body={"provider": provider})
    assert status == 200, checkout
    assert checkout["amount"]["amount"] == order["invoice"]["balance"]["amount"]

    # The provider's page, as a person sees it, and its "Pagar" button.
    with urllib.request.urlopen(checkout["url"], timeout=10) as page:  # noqa: S310 (loopback)
        html = page.read().decode()
    assert "Pagar" in html and "100,00" in html
    parts = urllib.parse.urlsplit(checkout["url"])
    action = (f"{parts.scheme}://{parts.netloc}/checkout/v1/pay?{parts.query}" if provider == "mercadopago"
              else checkout["url"])
    try:
        urllib.request.build_opener(_NoRedirect).open(urllib.request.Request(action, data=b"", method="POST"),
                                                      timeout=15)
        raise AssertionError("the provider's page did not send the client back")
    except urllib.error.HTTPError as back:
        assert back.code == 303
        assert f"/local/panel/facturas/{invoice_id}?pago=aprobado" in back.headers["Location"]

    # Signed notification -> webhook -> settlement -> paid -> provisioning (fake WHM) -> active.
    invoice = wait_for(lambda: local_stack.json("GET", f"/me/invoices/{invoice_id}", token=token)[1],
                        lambda i: i["status"] == "paid", seconds=20)
    assert invoice["status"] == "paid", invoice
    service = wait_for(lambda: local_stack.json("GET", f"/me/services/{service_id}", token=token)[1],
                        lambda s: s["status"] == "active", seconds=20)
    assert service["status"] == "active", service

    def mine():
        """This order's emails to the holder: its Habilitación names the domain, its invoice emails the number."""
        number = local_stack.json("GET", f"/me/invoices/{invoice_id}", token=token)[1]["number"]
        emails = local_stack.json("GET", "/local/emails")[1]["emails"]
        return [(index, m) for index, m in enumerate(emails) if m["to"] == [DEMO] and
                (f"({domain})" in m["subject"] or (number and f"Factura {number} " in m["subject"]))]

    def kinds(found):
        return {("emitida" in m["subject"], "Recibimos" in m["subject"], "Habilitación" in m["subject"])
                for _, m in found}

    found = wait_for(mine, lambda f: len(kinds(f) & {(True, False, False), (False, False, True)}) == 2, seconds=20)
    issued = next((i, m) for i, m in found if "emitida" in m["subject"])
    invoice = local_stack.json("GET", f"/me/invoices/{invoice_id}", token=token)[1]  # numbered by now
    enabled = next(m for _, m in found if "Habilitación" in m["subject"])
    assert enabled["subject"] == f"Habilitación del servicio Hosting Inicial ({domain})"
    assert "opción 2" in enabled["text"] and f"/servicios/{service_id}" in enabled["text"]

    # The PDF attached to the invoice email, and the one the panel links to, say the same invoice.
    filename = issued[1]["attachments"][0]["filename"]
    status, attached = local_stack.request("GET", f"/local/emails/{issued[0]}/{urllib.parse.quote(filename)}")
    assert status == 200 and attached.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(attached)).pages)
    assert invoice["number"] in text and "Cliente Demo" in text and domain in text
    status, link = local_stack.json("GET", f"/me/invoices/{invoice_id}/document", token=token)
    assert status == 200, link
    with urllib.request.urlopen(link["url"], timeout=10) as download:  # noqa: S310 (loopback)
        assert download.read().startswith(b"%PDF-")
    assert json.loads(json.dumps(link))["filename"] == f"factura-{invoice['number']}.pdf"
