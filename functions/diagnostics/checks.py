"""The checks of a service's self-diagnostics ("autodiagnósticos", docs/diagnostics.md), on the network: where its
domain is delegated, where its website points, where its mail goes, its TLS certificate and its website's answer.

Every call has a short timeout (the whole run stays within a few seconds), every failure is a result with a Spanish
explanation and the knowledge base article that fixes it — never an exception for the handler. Addresses that are
not public (private, loopback, link-local: what a domain could point at to make us probe our own network) are never
connected to, unless ``Probe.allow_private`` (the local stack and the tests, whose servers are on loopback)."""

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dns.exception
import dns.name
import dns.resolver

OK, WARNING, FAIL, SKIPPED = "ok", "warning", "fail", "skipped"
DNS_TIMEOUT = 2.0  # seconds per question (its lifetime, retries included)
CONNECT_TIMEOUT = 3.0
EXPIRY_WARNING_DAYS = 14

ARTICLE_DELEGATION = "delegar-dominio"
ARTICLE_MAIL = "correo-registros-mx"
ARTICLE_CERTIFICATE = "certificado-ssl"
ARTICLE_WEBSITE = "sitio-no-responde"


@dataclass(frozen=True)
class Probe:
    """Where the checks ask and connect: the resolver (None: the system's), the ports, extra trusted CAs."""

    nameservers: tuple[str, ...]  # ours, as the domain should be delegated to them
    resolver: tuple[str, int] | None = None
    https_port: int = 443
    http_port: int = 80
    ca_file: str | None = None
    allow_private: bool = False


@dataclass
class Check:
    check: str
    status: str
    title: str
    explanation: str
    article: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Lookup:
    """DNS answers through one resolver, as sets of plain strings (names lower-case, without the final dot)."""

    def __init__(self, probe: Probe):
        self._resolver = dns.resolver.Resolver(configure=probe.resolver is None)
        if probe.resolver is not None:
            self._resolver.nameservers = [probe.resolver[0]]
            self._resolver.port = probe.resolver[1]
        self._resolver.timeout = self._resolver.lifetime = DNS_TIMEOUT

    def records(self, name: str, rdtype: str) -> list[str]:
        """The records (empty when there are none); raises NoDomain when the name does not exist, LookupFailed when
        no server answered."""
        try:
            answer = self._resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            raise NoDomain(name) from None
        except dns.resolver.NoAnswer:
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as error:
            raise LookupFailed(name) from error
        if rdtype == "MX":
            return [_name(r.exchange) for r in sorted(answer, key=lambda r: r.preference)]
        if rdtype == "NS":
            return sorted(_name(r.target) for r in answer)
        return sorted(r.to_text() for r in answer)

    def addresses(self, name: str) -> list[str]:
        try:
            return self.records(name, "A")
        except (NoDomain, LookupFailed):
            return []


class NoDomain(Exception):
    pass


class LookupFailed(Exception):
    pass


def _name(value: dns.name.Name) -> str:
    return value.to_text(omit_final_dot=True).lower()


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def delegation(lookup: Lookup, probe: Probe, domain: str) -> Check:
    title = "Delegación del dominio (DNS)"
    try:
        servers = lookup.records(domain, "NS")
    except NoDomain:
        return Check("delegation", FAIL, title, f"El dominio {domain} no existe en el DNS: puede que no esté "
                     "registrado, que haya vencido o que la delegación todavía no se haya propagado.",
                     ARTICLE_DELEGATION)
    except LookupFailed:
        return Check("delegation", WARNING, title, "No pudimos consultar el DNS del dominio en este momento. "
                     "Vuelva a probar en unos minutos.", ARTICLE_DELEGATION)
    ours = {n.lower().rstrip(".") for n in probe.nameservers}
    details = {"nameservers": servers, "expected": sorted(ours)}
    if ours and set(servers) == ours:
        return Check("delegation", OK, title, "El dominio está delegado a nuestros servidores de nombres.",
                     details=details)
    if ours & set(servers):
        return Check("delegation", WARNING, title, "El dominio está delegado en parte a nuestros servidores de "
                     f"nombres y en parte a otros ({', '.join(sorted(set(servers) - ours))}): según cuál responda, "
                     "su sitio y su correo pueden funcionar o no. Deje solo los nuestros.", ARTICLE_DELEGATION,
                     details)
    return Check("delegation", FAIL, title, "El dominio está delegado a otros servidores de nombres "
                 f"({', '.join(servers) or 'ninguno'}). Para que su sitio y su correo funcionen con nosotros, "
                 f"cámbielos por {', '.join(sorted(ours))} donde registró el dominio.", ARTICLE_DELEGATION, details)


def website_address(lookup: Lookup, domain: str, server: str | None) -> Check:
    title = "Dirección del sitio"
    if not server:
        return Check("website_address", SKIPPED, title, "El servicio todavía no tiene servidor asignado: se "
                     "revisa cuando esté activo.")
    ours, found = lookup.addresses(server), lookup.addresses(domain)
    details = {"addresses": found, "server": server, "server_addresses": ours}
    if not found:
        return Check("website_address", FAIL, title, f"{domain} no tiene una dirección (registro A): nadie puede "
                     "llegar a su sitio.", ARTICLE_DELEGATION, details)
    if set(found) & set(ours):
        return Check("website_address", OK, title, f"{domain} apunta a su servidor ({server}).", details=details)
    return Check("website_address", FAIL, title, f"{domain} apunta a {', '.join(found)}, que no es su servidor "
                 f"({server}, {', '.join(ours) or 'sin dirección'}): los visitantes ven otro sitio o ninguno.",
                 ARTICLE_DELEGATION, details)


def mail_exchangers(lookup: Lookup, domain: str, server: str | None) -> Check:
    title = "Correo (registros MX)"
    try:
        exchangers = lookup.records(domain, "MX")
    except (NoDomain, LookupFailed):
        return Check("mail", SKIPPED, title, "Sin DNS del dominio no se puede revisar el correo.", ARTICLE_MAIL)
    details: dict[str, Any] = {"exchangers": exchangers}
    if not exchangers:
        return Check("mail", FAIL, title, f"{domain} no tiene registros MX: los correos que le envíen no llegan.",
                     ARTICLE_MAIL, details)
    ours = set(lookup.addresses(server)) if server else set()
    if ours and any(set(lookup.addresses(host)) & ours for host in exchangers):
        return Check("mail", OK, title, "Su correo llega a su servidor con nosotros.", details=details)
    if not any(lookup.addresses(host) for host in exchangers):
        return Check("mail", FAIL, title, f"Los registros MX ({', '.join(exchangers)}) apuntan a nombres sin "
                     "dirección: los correos no llegan.", ARTICLE_MAIL, details)
    return Check("mail", WARNING, title, f"Su correo lo recibe otro servidor ({', '.join(exchangers)}). Si usa "
                 "otro proveedor de correo a propósito (Google, Microsoft), está bien; si no, sus casillas con "
                 "nosotros no reciben nada.", ARTICLE_MAIL, details)


def _context(probe: Probe) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if probe.ca_file:
        context.load_verify_locations(probe.ca_file)
    return context


def _connectable(lookup: Lookup, probe: Probe, domain: str) -> tuple[str | None, str | None]:
    """The address to connect to for the domain, or why there is none."""
    found = lookup.addresses(domain)
    if not found:
        return None, f"{domain} no tiene dirección: no hay a dónde conectarse."
    usable = [a for a in found if probe.allow_private or _public(a)]
    if not usable:
        return None, f"{domain} apunta a una dirección privada ({found[0]}): desde Internet no se llega."
    return usable[0], None


def certificate(lookup: Lookup, probe: Probe, domain: str, now: datetime) -> Check:
    title = "Certificado SSL (https)"
    address, why = _connectable(lookup, probe, domain)
    if address is None:
        return Check("certificate", SKIPPED, title, why or "", ARTICLE_CERTIFICATE)
    try:
        with socket.create_connection((address, probe.https_port), timeout=CONNECT_TIMEOUT) as raw, \
                _context(probe).wrap_socket(raw, server_hostname=domain) as tls:
            peer = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as error:
        reason = {"certificate has expired": "venció", "self-signed certificate": "es autofirmado",
                  "self signed certificate": "es autofirmado"}.get(error.verify_message or "")
        if reason is None and "Hostname mismatch" in str(error):
            reason = f"no es para {domain} (es de otro dominio)"
        return Check("certificate", FAIL, title, f"El certificado de {domain} no es válido: "
                     f"{reason or error.verify_message or 'no lo firma una autoridad reconocida'}. Los navegadores "
                     "muestran un aviso de sitio inseguro.", ARTICLE_CERTIFICATE,
                     {"error": error.verify_message or str(error)[:200]})
    except (OSError, ssl.SSLError) as error:
        return Check("certificate", FAIL, title, f"{domain} no atiende conexiones seguras (https, puerto "
                     f"{probe.https_port}).", ARTICLE_CERTIFICATE, {"error": type(error).__name__})
    issuer = dict(item for part in peer.get("issuer", ()) for item in part)
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    days = (expires - now).days
    details = {"issuer": issuer.get("organizationName") or issuer.get("commonName"),
               "expires_at": expires.isoformat().replace("+00:00", "Z"), "days_left": days}
    if days < EXPIRY_WARNING_DAYS:
        return Check("certificate", WARNING, title, f"El certificado vence en {max(days, 0)} días. Si se renueva "
                     "solo (Let's Encrypt, AutoSSL), se renovará antes; si no, renuévelo.", ARTICLE_CERTIFICATE,
                     details)
    return Check("certificate", OK, title, f"El certificado es válido por {days} días más (emitido por "
                 f"{details['issuer']}).", details=details)


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to an address we chose, with the domain for SNI and the certificate's name check."""

    def __init__(self, address: str, domain: str, port: int, context: ssl.SSLContext):
        super().__init__(domain, port, timeout=CONNECT_TIMEOUT, context=context)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def website(lookup: Lookup, probe: Probe, domain: str, secure: bool) -> Check:
    """The home page's answer: over https when the certificate is good, else over http."""
    title = "Respuesta del sitio"
    address, why = _connectable(lookup, probe, domain)
    if address is None:
        return Check("website", SKIPPED, title, why or "", ARTICLE_WEBSITE)
    connection: http.client.HTTPConnection = (
        _PinnedHttps(address, domain, probe.https_port, _context(probe)) if secure
        else http.client.HTTPConnection(address, probe.http_port, timeout=CONNECT_TIMEOUT))
    url = f"{'https' if secure else 'http'}://{domain}/"
    try:
        connection.request("GET", "/", headers={"Host": domain, "User-Agent": "Paneldecliente-autodiagnostico/1.0"})
        answer = connection.getresponse()
        status, location = answer.status, answer.getheader("Location")
    except (OSError, http.client.HTTPException) as error:
        return Check("website", FAIL, title, f"{url} no responde: el sitio no carga.", ARTICLE_WEBSITE,
                     {"url": url, "error": type(error).__name__})
    finally:
        connection.close()
    details = {"url": url, "status": status, **({"location": location[:300]} if location else {})}
    if status >= 500:
        return Check("website", FAIL, title, f"{url} responde con un error del servidor ({status}): suele ser un "
                     "error del sitio (PHP, la base de datos) o un archivo .htaccess mal escrito.", ARTICLE_WEBSITE,
                     details)
    if status >= 400:
        return Check("website", WARNING, title, f"{url} responde {status}: falta la página de inicio (index) o su "
                     "acceso está restringido.", ARTICLE_WEBSITE, details)
    moved = f", y lleva a {location[:100]}" if 300 <= status < 400 and location else ""
    return Check("website", OK, title, f"{url} responde ({status}{moved}).", details=details)


def run_all(probe: Probe, domain: str, server: str | None, now: datetime,
            lookup_factory: Callable[[Probe], Lookup] = Lookup) -> list[Check]:
    """Every check of the domain, the independent ones at once (the run lasts as long as its slowest)."""
    from concurrent.futures import ThreadPoolExecutor

    lookup = lookup_factory(probe)
    with ThreadPoolExecutor(4) as pool:
        delegated = pool.submit(delegation, lookup, probe, domain)
        pointed = pool.submit(website_address, lookup, domain, server)
        mail = pool.submit(mail_exchangers, lookup, domain, server)
        secured = pool.submit(certificate, lookup, probe, domain, now)
        checks = [delegated.result(), pointed.result(), mail.result(), secured.result()]
    checks.append(website(lookup, probe, domain, secure=checks[3].status in (OK, WARNING)))
    return checks
