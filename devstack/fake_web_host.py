"""A hosting server on loopback, for the self-diagnostics (docs/diagnostics.md): an authoritative DNS server (UDP) for
the zones it is given, a website over HTTP and over HTTPS, and the certificate authority that signs the site's
certificates (its PEM is the CA file the diagnostics trust locally). Per domain, the certificate may be made expired,
self-signed or for another name, and the site may answer any status — the cases a client's domain is in.

Real protocols: dnspython answers real DNS messages (the resolver asks it over UDP as it would ask any server), the
TLS handshake is Python's ssl with certificates signed as a CA signs them (cryptography), HTTP is http.server."""

import socketserver
import ssl
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from devstack.aws import SHUTDOWN_POLL_S
from devstack.loopback import LoopbackJsonServer, RawAnswer

SITE = "<!doctype html><html lang=\"es-AR\"><title>{host}</title><p>Sitio de {host}, alojado en Paneldecliente.</p>"


class _Authority:
    """A CA and the leaf certificates it signs (keys in memory, files in a temporary folder)."""

    def __init__(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._x509, self._hashes, self._ec, self._oid = x509, hashes, ec, NameOID
        self.folder = Path(tempfile.mkdtemp(prefix="fake-web-host-"))
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Autoridad de prueba Paneldecliente"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "CA local de Paneldecliente")])
        now = datetime.now(UTC)
        self._name = name
        self._cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self._key.public_key())
                      .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                      .not_valid_after(now + timedelta(days=3650))
                      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                      .sign(self._key, hashes.SHA256()))
        self.ca_file = str(self._write("ca.pem", self._pem(self._cert)))

    @staticmethod
    def _pem(cert) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return cert.public_bytes(Encoding.PEM)

    def _write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def leaf(self, names: list[str], *, days: int = 90, self_signed: bool = False) -> ssl.SSLContext:
        """A server context for a certificate of ``names``, valid ``days`` more (negative: expired)."""
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        x509 = self._x509
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(self._oid.COMMON_NAME, names[0])])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(subject)
                .issuer_name(subject if self_signed else self._name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=max(1, -days) + 30))
                .not_valid_after(now + timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                .sign(key if self_signed else self._key, self._hashes.SHA256()))
        stem = f"{names[0]}-{x509.random_serial_number()}"
        cert_path = self._write(f"{stem}.pem", self._pem(cert))
        key_path = self._write(f"{stem}.key", key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context


class FakeWebHost:
    """``zone``: name -> {"A": ["127.0.0.1"], "NS": [...], "MX": ["10 mail.example."]}; ``sites``: host -> the HTTP
    status its home page answers (absent: 200). ``certificate(domain, days=…, self_signed=…, names=…)`` sets how its
    HTTPS certificate is."""

    def __init__(self, zone: dict[str, dict[str, list[str]]], sites: dict[str, int] | None = None):
        self.zone = {name.lower().rstrip("."): records for name, records in zone.items()}
        self.sites = dict(sites or {})
        self.authority = _Authority()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._dns = self._dns_server()
        self.http = LoopbackJsonServer("fake-web-http", self._answer)
        self.https = LoopbackJsonServer("fake-web-https", self._answer)
        default = self.authority.leaf(["localhost"])
        default.sni_callback = self._pick_certificate
        raw = self.https._server
        raw.socket = default.wrap_socket(raw.socket, server_side=True, do_handshake_on_connect=False)

    # --- what a test or the local stack sets --------------------------------------------------------------------

    def certificate(self, domain: str, *, days: int = 90, self_signed: bool = False,
                    names: list[str] | None = None) -> None:
        self._contexts[domain] = self.authority.leaf(names or [domain, f"www.{domain}"], days=days,
                                                     self_signed=self_signed)

    @property
    def resolver(self) -> str:
        host, port = self._dns.server_address[:2]
        return f"{host}:{port}"

    @property
    def ports(self) -> tuple[int, int]:
        """(https, http)"""
        return self.https._server.server_address[1], self.http._server.server_address[1]

    # --- servers --------------------------------------------------------------------------------------------------

    def _pick_certificate(self, tls: ssl.SSLSocket, server_name: str | None, _context: ssl.SSLContext) -> None:
        name = (server_name or "").lower()
        if name not in self._contexts and name in self.zone:
            self.certificate(name)
        if name in self._contexts:
            tls.context = self._contexts[name]

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> RawAnswer:
        host = next((v for k, v in headers.items() if k.lower() == "host"), "").split(":")[0].lower()
        status = self.sites.get(host, 200)
        return status, {"Content-Type": "text/html; charset=utf-8"}, SITE.format(host=host).encode()

    def _dns_server(self) -> socketserver.UDPServer:
        host = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                try:
                    query = dns.message.from_wire(data)
                except Exception:  # not DNS: dropped, as a server would
                    return
                sock.sendto(host._reply(query).to_wire(), self.client_address)

        server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    def _reply(self, query: dns.message.Message) -> dns.message.Message:
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if name not in self.zone:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            return reply
        rdtype = dns.rdatatype.to_text(question.rdtype)
        values = self.zone[name].get(rdtype) or []
        if values:
            reply.answer.append(dns.rrset.from_text(question.name, 300, "IN", rdtype, *values))
        return reply

    def start(self) -> "FakeWebHost":
        threading.Thread(target=self._dns.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                         name="fake-dns", daemon=True).start()
        self.http.start()
        self.https.start()
        return self

    def stop(self) -> None:
        self._dns.shutdown()
        self._dns.server_close()
        self.http.stop()
        self.https.stop()


DEMO_SERVER = "srv12.paneldecliente.com"


def demo_zone(nameservers: list[str]) -> dict[str, dict[str, list[str]]]:
    """The demo hosting's domain as it should be (delegated to us, its site and mail on srv12), and two broken ones
    a person can order on make dev to see failing checks (delegated elsewhere; no MX, a site answering 500)."""
    delegated = [f"{n}." for n in nameservers]
    return {
        "demo-pyme.com.ar": {"A": ["127.0.0.1"], "NS": delegated, "MX": ["10 mail.demo-pyme.com.ar."]},
        "www.demo-pyme.com.ar": {"A": ["127.0.0.1"]},
        "tienda.demo-pyme.com.ar": {"A": ["127.0.0.1"]},  # a subdomain: its zone's delegation is its parent's
        "mail.demo-pyme.com.ar": {"A": ["127.0.0.1"]},
        DEMO_SERVER: {"A": ["127.0.0.1"]},
        "otro-dns.com.ar": {"A": ["127.0.0.1"], "NS": ["ns1.otro-proveedor.com.", "ns2.otro-proveedor.com."],
                            "MX": ["10 mx.otro-proveedor.com."]},
        "mx.otro-proveedor.com": {"A": ["127.0.0.3"]},  # another provider's mail server, not srv12
        "sitio-roto.com.ar": {"A": ["127.0.0.1"], "NS": delegated},
    }


def diagnostics_env(host: FakeWebHost) -> dict[str, str]:
    """Where the self-diagnostics ask and connect: this host's DNS, ports and CA (loopback addresses allowed)."""
    https, http = host.ports
    return {"DIAGNOSTICS_RESOLVER": host.resolver, "DIAGNOSTICS_HTTPS_PORT": str(https),
            "DIAGNOSTICS_HTTP_PORT": str(http), "DIAGNOSTICS_CA_FILE": host.authority.ca_file,
            "DIAGNOSTICS_ALLOW_PRIVATE": "true",
            # Loopback answers at once; a loaded machine (CI's two workers) may still be slow to run the servers.
            "DIAGNOSTICS_DNS_TIMEOUT": "5", "DIAGNOSTICS_RUN_SECONDS": "12"}
