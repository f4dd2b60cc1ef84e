"""The checks of a service's self-diagnostics ("autodiagnósticos", docs/diagnostics.md), on the network: where its
domain is delegated, where its website points, where its mail goes, its TLS certificate and its website's answer.

Every call has a short timeout and the whole run one deadline (RUN_SECONDS): a check still waiting then has its
sockets closed and is reported as not finished, so no answer — however slow a server trickles it — holds the
function. Every failure is a result with a Spanish explanation and the knowledge base article that fixes it, never
an exception for the handler. Addresses that are not public (private, loopback, link-local, CGNAT: what a domain
could point at to make us probe our own network) are never connected to, unless ``Probe.allow_private`` (the
local stack and the tests, whose servers are on loopback)."""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import snapstart

if TYPE_CHECKING:  # imported on first use (Lookup); with SnapStart, before the snapshot
    import dns.name

snapstart.prime("dns.resolver", "dns.exception")


OK, WARNING, FAIL, SKIPPED = "ok", "warning", "fail", "skipped"
DNS_TIMEOUT = 2.0  # seconds per question (its lifetime, retries included)
CONNECT_TIMEOUT = 3.0
RUN_SECONDS = 9.0  # the whole run (the function's timeout is 15 s)
EXPIRY_WARNING_DAYS = 14
SHOWN = 10  # records kept in an answer's details (a DNS answer may hold hundreds)
MAX_EXCHANGERS = 5
MAX_INTERIM = 5  # "100 Continue" answers before the real one

ARTICLE_DELEGATION = "delegar-dominio"
ARTICLE_MAIL = "correo-registros-mx"
ARTICLE_CERTIFICATE = "certificado-ssl"
ARTICLE_WEBSITE = "sitio-no-responde"

# OpenSSL's verification codes, said for the client.
VERIFY_ES = {
    9: "todavía no es válido (su fecha de inicio es futura)",
    10: "venció",
    18: "es autofirmado",
    19: "lo firma una autoridad no reconocida",
    20: "falta el certificado intermedio de la autoridad (la cadena está incompleta)",
    21: "falta el certificado intermedio de la autoridad (la cadena está incompleta)",
}


@dataclass(frozen=True)
class Probe:
    """Where the checks ask and connect: the resolver (None: the system's), the ports, extra trusted CAs."""

    nameservers: tuple[str, ...]  # ours, as the domain should be delegated to them
    resolver: tuple[str, int] | None = None
    https_port: int = 443
    http_port: int = 80
    ca_file: str | None = None
    allow_private: bool = False
    dns_timeout: float = DNS_TIMEOUT
    run_seconds: float = RUN_SECONDS


@dataclass
class Check:
    check: str
    status: str
    title: str
    explanation: str
    article: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class NoDomain(Exception):
    pass


class LookupFailed(Exception):
    pass


class Deadline:
    """The run's end: what is left of it for a call's timeout, and the sockets to close when it passes."""

    def __init__(self, seconds: float):
        self._ends = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def left(self, most: float) -> float:
        return max(0.05, min(most, self._ends - time.monotonic()))

    def connect(self, address: str, port: int) -> socket.socket:
        sock = socket.create_connection((address, port), timeout=self.left(CONNECT_TIMEOUT))
        with self._lock:
            self._sockets.append(sock)
        return sock

    def expire(self) -> None:
        """Close every socket still open: a call blocked on one ends at once (with an OSError)."""
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass


class Lookup:
    """DNS answers through one resolver, as lists of plain strings (names lower-case, without the final dot); each
    question asked once per run (the checks share names: the domain's addresses, the server's)."""

    def __init__(self, probe: Probe):
        # dnspython is imported by the first run, not at init: its ~60 modules are a tenth of a cold start, and
        # most of the function's requests reuse a stored result.
        import dns.resolver

        self._resolver = dns.resolver.Resolver(configure=probe.resolver is None)
        if probe.resolver is not None:
            self._resolver.nameservers = [probe.resolver[0]]
            self._resolver.port = probe.resolver[1]
        self._resolver.timeout = self._resolver.lifetime = probe.dns_timeout
        self._asked: dict[tuple[str, str], list[str] | Exception] = {}
        self._lock = threading.Lock()

    def records(self, name: str, rdtype: str) -> list[str]:
        """The records (empty when there are none); raises NoDomain when the name does not exist, LookupFailed when
        it could not be known (no server answered, a broken answer)."""
        key = (name, rdtype)
        with self._lock:
            known = self._asked.get(key)
        if known is None:
            known = self._ask(name, rdtype)
            with self._lock:
                self._asked[key] = known
        if isinstance(known, Exception):
            raise known
        return known

    def _ask(self, name: str, rdtype: str) -> list[str] | Exception:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return NoDomain(name)
        except dns.resolver.NoAnswer:
            return []
        except dns.exception.DNSException:  # timeouts, no server, YXDOMAIN, a malformed answer
            return LookupFailed(name)
        if rdtype == "MX":
            return [_name(r.exchange) for r in sorted(answer, key=lambda r: r.preference)]
        if rdtype == "NS":
            return sorted(_name(r.target) for r in answer)
        return sorted(r.to_text() for r in answer)

    def addresses(self, name: str) -> list[str]:
        """The name's IPv4 addresses; none when it does not exist; LookupFailed when it could not be known."""
        try:
            return self.records(name, "A")
        except NoDomain:
            return []


def _name(value: "dns.name.Name") -> str:
    return value.to_text(omit_final_dot=True).lower()


def _shown(values: list[str]) -> str:
    text = ", ".join(values[:3])
    return text if len(values) <= 3 else f"{text} y {len(values) - 3} más"


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _unknown(check: str, title: str, article: str) -> Check:
    return Check(check, WARNING, title, "No pudimos consultar el DNS del dominio en este momento. Vuelva a probar en "
                 "unos minutos.", article)


def delegation(lookup: Lookup, probe: Probe, domain: str) -> Check:
    """The NS of the domain's zone: the domain's own, or its parent's for a subdomain (tienda.ejemplo.com.ar)."""
    title = "Delegación del dominio (DNS)"
    zone, servers = domain, []
    try:
        while True:
            servers = lookup.records(zone, "NS")
            if servers or zone.count(".") < 2:
                break
            zone = zone.split(".", 1)[1]
    except NoDomain:
        return Check("delegation", FAIL, title, f"El dominio {domain} no existe en el DNS: puede que no esté "
                     "registrado, que haya vencido o que la delegación todavía no se haya propagado.",
                     ARTICLE_DELEGATION)
    except LookupFailed:
        return _unknown("delegation", title, ARTICLE_DELEGATION)
    ours = {n.lower().rstrip(".") for n in probe.nameservers}
    details = {"zone": zone, "nameservers": servers[:SHOWN], "expected": sorted(ours)}
    if ours and set(servers) == ours:
        return Check("delegation", OK, title, "El dominio está delegado a nuestros servidores de nombres.",
                     details=details)
    if ours & set(servers):
        return Check("delegation", WARNING, title, "El dominio está delegado en parte a nuestros servidores de "
                     f"nombres y en parte a otros ({_shown(sorted(set(servers) - ours))}): según cuál responda, "
                     "su sitio y su correo pueden funcionar o no. Deje solo los nuestros.", ARTICLE_DELEGATION,
                     details)
    return Check("delegation", FAIL, title, "El dominio está delegado a otros servidores de nombres "
                 f"({_shown(servers) or 'ninguno'}). Para que su sitio y su correo funcionen con nosotros, "
                 f"cámbielos por {', '.join(sorted(ours))} donde registró el dominio.", ARTICLE_DELEGATION, details)


def website_address(lookup: Lookup, domain: str, server: str | None) -> Check:
    title = "Dirección del sitio"
    if not server:
        return Check("website_address", SKIPPED, title, "El servicio todavía no tiene servidor asignado: se "
                     "revisa cuando esté activo.")
    try:
        ours, found = lookup.addresses(server), lookup.addresses(domain)
    except LookupFailed:
        return _unknown("website_address", title, ARTICLE_DELEGATION)
    details = {"addresses": found[:SHOWN], "server": server, "server_addresses": ours[:SHOWN]}
    if not found:
        return Check("website_address", FAIL, title, f"{domain} no tiene una dirección (registro A): nadie puede "
                     "llegar a su sitio.", ARTICLE_DELEGATION, details)
    if set(found) & set(ours):
        return Check("website_address", OK, title, f"{domain} apunta a su servidor ({server}).", details=details)
    return Check("website_address", FAIL, title, f"{domain} apunta a {_shown(found)}, que no es su servidor "
                 f"({server}, {_shown(ours) or 'sin dirección'}): los visitantes ven otro sitio o ninguno.",
                 ARTICLE_DELEGATION, details)


def mail_exchangers(lookup: Lookup, domain: str, server: str | None) -> Check:
    title = "Correo (registros MX)"
    try:
        exchangers = lookup.records(domain, "MX")
        ours = set(lookup.addresses(server)) if server else set()
        addresses = {host: lookup.addresses(host) for host in exchangers[:MAX_EXCHANGERS]}
    except NoDomain:
        return Check("mail", SKIPPED, title, "Sin DNS del dominio no se puede revisar el correo.", ARTICLE_MAIL)
    except LookupFailed:
        return _unknown("mail", title, ARTICLE_MAIL)
    details: dict[str, Any] = {"exchangers": exchangers[:SHOWN]}
    if not exchangers:
        return Check("mail", FAIL, title, f"{domain} no tiene registros MX: los correos que le envíen no llegan.",
                     ARTICLE_MAIL, details)
    if ours and any(set(found) & ours for found in addresses.values()):
        return Check("mail", OK, title, "Su correo llega a su servidor con nosotros.", details=details)
    if not any(addresses.values()):
        return Check("mail", FAIL, title, f"Los registros MX ({_shown(exchangers)}) apuntan a nombres sin "
                     "dirección: los correos no llegan.", ARTICLE_MAIL, details)
    return Check("mail", WARNING, title, f"Su correo lo recibe otro servidor ({_shown(exchangers)}). Si usa otro "
                 "proveedor de correo a propósito (Google, Microsoft), está bien; si no, sus casillas con nosotros no "
                 "reciben nada.", ARTICLE_MAIL, details)


def _context(probe: Probe) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if probe.ca_file:
        context.load_verify_locations(probe.ca_file)
    return context


def _connectable(lookup: Lookup, probe: Probe, domain: str) -> tuple[str | None, str]:
    """The address to connect to for the domain, or why there is none."""
    try:
        found = lookup.addresses(domain)
    except LookupFailed:
        return None, "No pudimos consultar el DNS del dominio en este momento: vuelva a probar en unos minutos."
    if not found:
        return None, f"{domain} no tiene dirección: no hay a dónde conectarse."
    usable = [a for a in found if probe.allow_private or _public(a)]
    if not usable:
        return None, f"{domain} apunta a una dirección privada ({found[0]}): desde Internet no se llega."
    return usable[0], ""


def certificate(lookup: Lookup, probe: Probe, deadline: Deadline, domain: str, now: datetime) -> Check:
    title = "Certificado SSL (https)"
    address, why = _connectable(lookup, probe, domain)
    if address is None:
        return Check("certificate", SKIPPED, title, why, ARTICLE_CERTIFICATE)
    try:
        raw = deadline.connect(address, probe.https_port)
        raw.settimeout(deadline.left(CONNECT_TIMEOUT))
        with _context(probe).wrap_socket(raw, server_hostname=domain) as tls:
            peer = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as error:
        reason = VERIFY_ES.get(error.verify_code)
        if error.verify_code == 62 or "Hostname mismatch" in str(error):
            reason = f"no es para {domain} (es de otro dominio)"
        return Check("certificate", FAIL, title, f"El certificado de {domain} no es válido: "
                     f"{reason or 'no lo firma una autoridad reconocida'}. Los navegadores muestran un aviso de sitio "
                     "inseguro.", ARTICLE_CERTIFICATE, {"error": (error.verify_message or str(error))[:200]})
    except (OSError, ssl.SSLError, ValueError) as error:
        return Check("certificate", FAIL, title, f"{domain} no atiende conexiones seguras (https, puerto "
                     f"{probe.https_port}).", ARTICLE_CERTIFICATE, {"error": type(error).__name__})
    issuer = dict(item for part in peer.get("issuer", ()) for item in part)
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    days = (expires - now).days
    by = issuer.get("organizationName") or issuer.get("commonName") or "una autoridad sin nombre"
    details = {"issuer": by, "expires_at": expires.isoformat().replace("+00:00", "Z"), "days_left": days}
    if days < EXPIRY_WARNING_DAYS:
        when = "hoy" if days <= 0 else "mañana" if days == 1 else f"en {days} días"
        return Check("certificate", WARNING, title, f"El certificado vence {when}. Si se renueva solo (Let's "
                     "Encrypt, AutoSSL), se renovará antes; si no, renuévelo.", ARTICLE_CERTIFICATE, details)
    return Check("certificate", OK, title, f"El certificado es válido por {days} días más (emitido por {by}).",
                 details=details)


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to an address we chose, with the domain for SNI and the certificate's name check."""

    def __init__(self, address: str, domain: str, port: int, context: ssl.SSLContext, deadline: Deadline):
        super().__init__(domain, port, timeout=deadline.left(CONNECT_TIMEOUT), context=context)
        self._address, self._deadline = address, deadline

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(self._deadline.connect(self._address, self.port),
                                              server_hostname=self.host)


class _PinnedHttp(http.client.HTTPConnection):
    def __init__(self, address: str, port: int, deadline: Deadline):
        super().__init__(address, port, timeout=deadline.left(CONNECT_TIMEOUT))
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = self._deadline.connect(self.host, self.port)


def website(lookup: Lookup, probe: Probe, deadline: Deadline, domain: str, secure: bool) -> Check:
    """The home page's answer: over https when the certificate is good, else over http."""
    title = "Respuesta del sitio"
    address, why = _connectable(lookup, probe, domain)
    if address is None:
        return Check("website", SKIPPED, title, why, ARTICLE_WEBSITE)
    connection: http.client.HTTPConnection = (
        _PinnedHttps(address, domain, probe.https_port, _context(probe), deadline) if secure
        else _PinnedHttp(address, probe.http_port, deadline))
    url = f"{'https' if secure else 'http'}://{domain}/"
    try:
        connection.request("GET", "/", headers={"Host": domain, "User-Agent": "Paneldecliente-autodiagnostico/1.0"})
        answer = connection.getresponse()
        status, location = answer.status, (answer.getheader("Location") or "")[:300]
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Check("website", FAIL, title, f"{url} no responde: el sitio no carga.", ARTICLE_WEBSITE,
                     {"url": url, "error": type(error).__name__})
    finally:
        connection.close()
    details = {"url": url, "status": status, **({"location": location} if location else {})}
    if status >= 500:
        return Check("website", FAIL, title, f"{url} responde con un error del servidor ({status}): suele ser un "
                     "error del sitio (PHP, la base de datos) o un archivo .htaccess mal escrito.", ARTICLE_WEBSITE,
                     details)
    if status >= 400:
        return Check("website", WARNING, title, f"{url} responde {status}: falta la página de inicio (index) o su "
                     "acceso está restringido.", ARTICLE_WEBSITE, details)
    if not secure and location.lower().startswith("https://"):
        return Check("website", WARNING, title, f"{url} lleva a la versión segura (https), donde el certificado no "
                     "es válido: los visitantes ven un aviso de sitio inseguro.", ARTICLE_CERTIFICATE, details)
    moved = f", y lleva a {location[:100]}" if 300 <= status < 400 and location else ""
    return Check("website", OK, title, f"{url} responde ({status}{moved}).", details=details)


TITLES = {"delegation": "Delegación del dominio (DNS)", "website_address": "Dirección del sitio",
          "mail": "Correo (registros MX)", "certificate": "Certificado SSL (https)", "website": "Respuesta del sitio"}


def _late(check: str) -> Check:
    return Check(check, WARNING, TITLES[check], "Esta revisión no terminó a tiempo: algún servidor responde muy "
                 "lento. Vuelva a probar en unos minutos.")


def run_all(probe: Probe, domain: str, server: str | None, now: datetime,
            lookup_factory: Callable[[Probe], Lookup] = Lookup, seconds: float | None = None) -> list[Check]:
    """Every check of the domain, the independent ones at once, all within ``seconds`` (the probe's)."""
    seconds = seconds or probe.run_seconds
    lookup, deadline = lookup_factory(probe), Deadline(seconds)
    pool = ThreadPoolExecutor(4, thread_name_prefix="diagnostics")
    started: dict[str, Future] = {
        "delegation": pool.submit(delegation, lookup, probe, domain),
        "website_address": pool.submit(website_address, lookup, domain, server),
        "mail": pool.submit(mail_exchangers, lookup, domain, server),
        "certificate": pool.submit(certificate, lookup, probe, deadline, domain, now),
    }

    def then_website(done: Future) -> None:
        secure = not done.cancelled() and done.exception() is None and done.result().status in (OK, WARNING)
        started["website"] = pool.submit(website, lookup, probe, deadline, domain, secure)

    started["certificate"].add_done_callback(then_website)
    wait_for(list(started.values()), timeout=deadline.left(seconds))
    if "website" in started:
        wait_for([started["website"]], timeout=deadline.left(seconds))
    deadline.expire()  # whatever still waits on a socket ends now
    pool.shutdown(wait=False, cancel_futures=True)
    checks = []
    for name in TITLES:
        future = started.get(name)
        checks.append(future.result() if future is not None and future.done() and not future.cancelled()
                      and future.exception() is None else _late(name))
    return checks
