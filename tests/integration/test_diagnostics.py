"""Self-diagnostics through the real handler, against a hosting server on loopback (devstack.fake_web_host: a real DNS
server, a website over HTTP and HTTPS, its own certificate authority): a healthy domain passes every check, each
broken one fails the check it should with its explanation and article, a result is reused for a few minutes,
new runs are limited per service, and our own network is never probed through a client's DNS."""

import pytest

from devstack.fake_web_host import DEMO_SERVER
from devstack.help_centre import DIAGNOSTIC_ARTICLES
from tests.integration.conftest import claims_for, hosting_on, signed_up


def _diagnose(api, claims, service_id, query=""):
    return api.call("GET", f"/services/{service_id}/diagnostics{query}", claims=claims)


def _by_check(answer) -> dict[str, tuple[str, str | None]]:
    return {c["check"]: (c["status"], c["article"]) for c in answer.json()["checks"]}


def test_a_healthy_domain_passes_and_its_result_is_reused_for_a_few_minutes(api, probing):
    holder = signed_up(api, "diag-1")
    service_id = hosting_on(holder, DEMO_SERVER, "demo-pyme.com.ar")
    first = _diagnose(api, holder, service_id)
    assert first.status == 200, first
    assert (first.json()["status"], first.json()["cached"]) == ("ok", False), first.json()["checks"]
    assert _by_check(first) == {check: ("ok", None) for check in
                                ("delegation", "website_address", "mail", "certificate", "website")}
    certificate = next(c for c in first.json()["checks"] if c["check"] == "certificate")
    assert certificate["details"]["issuer"] == "Autoridad de prueba Paneldecliente"
    assert 85 <= certificate["details"]["days_left"] <= 90
    again = _diagnose(api, holder, service_id)
    assert again.json()["cached"] is True and again.json()["checked_at"] == first.json()["checked_at"]
    assert _diagnose(api, holder, service_id, "?refresh=true").json()["cached"] is False


@pytest.mark.parametrize(("domain", "expected"), [
    # delegated to another provider, whose mail server is not ours
    ("otro-dns.com.ar", {"delegation": ("fail", "delegar-dominio"), "mail": ("warning", "correo-registros-mx"),
                         "website": ("ok", None)}),
    # no MX, the site answers 500
    ("sitio-roto.com.ar", {"mail": ("fail", "correo-registros-mx"), "website": ("fail", "sitio-no-responde")}),
    # an expired certificate: the site is still checked, over http
    ("vencido.com.ar", {"certificate": ("fail", "certificado-ssl"), "website": ("ok", None)}),
    # a self-signed certificate
    ("casero.com.ar", {"certificate": ("fail", "certificado-ssl"), "delegation": ("ok", None)}),
    # not in the DNS at all
    ("no-existe.com.ar", {"delegation": ("fail", "delegar-dominio"), "website_address": ("fail", "delegar-dominio"),
                          "certificate": ("skipped", "certificado-ssl")}),
])
def test_each_broken_domain_fails_its_check_with_the_article_that_fixes_it(api, probing, domain, expected):
    holder = signed_up(api, f"diag-{domain}")
    answer = _diagnose(api, holder, hosting_on(holder, DEMO_SERVER, domain))
    assert answer.status == 200 and answer.json()["status"] == "fail", answer
    found = _by_check(answer)
    assert {check: found[check] for check in expected} == expected
    certificate = next(c for c in answer.json()["checks"] if c["check"] == "certificate")
    if domain in ("vencido.com.ar", "casero.com.ar"):
        assert {"vencido.com.ar": "venció", "casero.com.ar": "es autofirmado"}[domain] in certificate["explanation"]
    assert {slug for _, slug in found.values() if slug} <= {a["slug"] for a in DIAGNOSTIC_ARTICLES}


def test_new_runs_are_limited_per_service_and_the_limit_answers_429(api, probing):
    holder = signed_up(api, "diag-limite")
    service_id = hosting_on(holder, DEMO_SERVER, "sitio-roto.com.ar")
    answers = [_diagnose(api, holder, service_id, "?refresh=true").status for _ in range(11)]
    assert answers == [200] * 10 + [429]
    limited = _diagnose(api, holder, service_id, "?refresh=true")
    assert limited.json()["code"] == "too_many_diagnostics"
    assert _diagnose(api, holder, service_id).json()["cached"] is True  # the last result is still there
    other = hosting_on(holder, DEMO_SERVER, "demo-pyme.com.ar")
    assert _diagnose(api, holder, other).status == 200  # per service


def test_our_own_network_is_never_probed_and_bad_targets_are_refused(api, probing, monkeypatch):
    from devstack.runtime import ENV_OVERRIDES

    monkeypatch.setitem(ENV_OVERRIDES, "DIAGNOSTICS_ALLOW_PRIVATE", "false")  # as deployed
    monkeypatch.setenv("DIAGNOSTICS_ALLOW_PRIVATE", "false")
    holder = signed_up(api, "diag-privada")
    answer = _diagnose(api, holder, hosting_on(holder, DEMO_SERVER, "demo-pyme.com.ar"))
    checks = {c["check"]: c for c in answer.json()["checks"]}
    assert (checks["certificate"]["status"], checks["website"]["status"]) == ("skipped", "skipped")
    assert "dirección privada" in checks["website"]["explanation"]

    stranger = signed_up(api, "diag-ajeno")
    assert _diagnose(api, stranger, hosting_on(holder, DEMO_SERVER, "demo-pyme.com.ar")).status == 404
    no_domain = hosting_on(holder, DEMO_SERVER, "")
    refused = _diagnose(api, holder, no_domain)
    assert (refused.status, refused.json()["code"]) == (409, "service_without_domain")
    assert _diagnose(api, claims_for(staff=True), no_domain).status == 409  # staff see what the client sees


def test_a_subdomain_is_judged_by_its_zone_and_an_unpaid_order_is_not_probed(api, probing):
    holder = signed_up(api, "diag-sub")
    shop = _diagnose(api, holder, hosting_on(holder, DEMO_SERVER, "tienda.demo-pyme.com.ar"))
    delegation = next(c for c in shop.json()["checks"] if c["check"] == "delegation")
    assert (delegation["status"], delegation["details"]["zone"]) == ("ok", "demo-pyme.com.ar")
    unpaid = _diagnose(api, holder, hosting_on(holder, DEMO_SERVER, "ajeno.com.ar", status="pending"))
    assert (unpaid.status, unpaid.json()["code"]) == (409, "service_not_running")


def test_a_server_that_never_answers_cannot_hold_the_run_past_its_deadline(probing):
    """A port that accepts and then says nothing (a TLS handshake that never ends): the run ends at its deadline
    with that check reported as not finished, the others answered."""
    import socket
    import time
    from datetime import UTC, datetime

    from diagnostics.checks import Probe, run_all

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    host, port = probing.resolver.split(":")
    probe = Probe(nameservers=("ns1.paneldecliente.com", "ns2.paneldecliente.com"), resolver=(host, int(port)),
                  https_port=silent.getsockname()[1], http_port=probing.ports[1], allow_private=True)
    started = time.monotonic()
    try:
        checks = {c.check: c for c in run_all(probe, "demo-pyme.com.ar", DEMO_SERVER, datetime.now(UTC),
                                               seconds=1.5)}
    finally:
        silent.close()
    assert time.monotonic() - started < 2.5
    assert checks["certificate"].status == "warning" and "no terminó a tiempo" in checks["certificate"].explanation
    assert (checks["delegation"].status, checks["mail"].status) == ("ok", "ok")
