"""A service's manual, filled with the service's own data (functions/services/manual.py)."""

from services.manual import PENDING, facts_of, render

NS = ["ns1.paneldecliente.com", "ns2.paneldecliente.com"]
TEMPLATE = "Entre a {{panel_url}} como {{ usuario }}; correo: {{correo_entrante}}; DNS: {{nameservers}}; {{otra}}."


def test_a_hosting_manual_names_its_server_account_and_nameservers():
    facts = facts_of(kind="hosting", module="cpanel", domain="ana.com.ar", server="srv3.paneldecliente.com",
                     account="anacomar", nameservers=NS)
    assert render(TEMPLATE, facts) == (
        "Entre a https://srv3.paneldecliente.com:2083 como anacomar; correo: srv3.paneldecliente.com; DNS: "
        f"ns1.paneldecliente.com, ns2.paneldecliente.com; {PENDING}.")
    assert {f.key for f in facts} == {"dominio", "servidor", "panel_url", "webmail_url", "usuario", "ftp_host",
                                      "correo_entrante", "correo_saliente", "nameservers"}


def test_what_a_hosting_does_not_have_yet_reads_as_pending_never_as_a_guess():
    facts = facts_of(kind="hosting", module="cpanel", domain="ana.com.ar", server=None, account=None, nameservers=NS)
    assert render(TEMPLATE, facts).startswith(f"Entre a {PENDING} como {PENDING}; correo: {PENDING};")
    assert {f.key: f.value for f in facts}["panel_url"] is None


def test_a_domain_shows_where_to_delegate_it_and_other_services_only_what_they_have():
    domain = facts_of(kind="domain", module=None, domain="ana.com.ar", server=None, account=None, nameservers=NS)
    assert [(f.key, f.value) for f in domain] == [("dominio", "ana.com.ar"),
                                                  ("nameservers", "ns1.paneldecliente.com, ns2.paneldecliente.com")]
    assert facts_of(kind="service", module=None, domain=None, server=None, account=None, nameservers=NS) == []
    assert render(None, []) is None
