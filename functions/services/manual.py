"""A service's manual with the service's own data in it (help centre, "¿Cómo accedo a mi servicio?": "Cada servicio
tiene un MANUAL y claves de acceso … Debajo del mismo MANUAL tendrá todos los datos necesarios para usar el
servicio").

The product's manual is a text with placeholders — ``{{dominio}}``, ``{{servidor}}``, ``{{panel_url}}``,
``{{webmail_url}}``, ``{{nameservers}}``, ``{{usuario}}``, ``{{ftp_host}}``, ``{{correo_entrante}}``,
``{{correo_saliente}}`` — filled from the service; the same facts are listed as the service's data (label and
value) under the manual. A fact the service does not have yet (a hosting being created has no server) reads as
pending, never as an empty string or a wrong guess. Pure: no reads, no clock.

Host names: the server's own name for the panel, webmail, FTP and mail. cPanel's AutoSSL certificate always covers
the server's host name, while ``mail.<dominio>`` only resolves (and is only covered) once the domain's delegation
points to us: the server's name works from the first minute, before and after the delegation (docs/service-access.md).
"""

import re
from dataclasses import dataclass

PENDING = "(se completa al activarse el servicio)"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

# cPanel's standard ports (https://docs.cpanel.net/knowledge-base/general-systems-administration/how-to-configure-your-firewall-for-cpanel-services/)
CPANEL_PORT, WEBMAIL_PORT = 2083, 2096


@dataclass(frozen=True)
class Fact:
    key: str  # the placeholder's name
    label: str  # es-AR, as the client reads it
    value: str | None  # None: not known yet


def facts_of(*, kind: str, module: str | None, domain: str | None, server: str | None, account: str | None,
             nameservers: list[str]) -> list[Fact]:
    """What a client needs to use the service, by what it is: a hosting on a cPanel server has its panel, webmail,
    FTP and mail settings; a domain, where to delegate it; anything else, its domain if it has one."""
    hosting = module == "cpanel" or kind == "hosting"
    facts = [Fact("dominio", "Dominio", domain)] if domain or hosting or kind == "domain" else []
    if hosting:
        facts += [
            Fact("servidor", "Servidor", server),
            Fact("panel_url", "Panel de control (cPanel)", server and f"https://{server}:{CPANEL_PORT}"),
            Fact("webmail_url", "Webmail", server and f"https://{server}:{WEBMAIL_PORT}"),
            Fact("usuario", "Usuario de cPanel y FTP", account),
            Fact("ftp_host", "FTP (FTPS explícito, puerto 21)", server),
            Fact("correo_entrante", "Correo entrante (IMAP 993 o POP3 995, SSL/TLS)", server),
            Fact("correo_saliente", "Correo saliente (SMTP 465, SSL/TLS, con autenticación)", server),
        ]
    if hosting or kind == "domain":
        facts.append(Fact("nameservers", "Servidores de nombres (DNS)", ", ".join(nameservers) or None))
    return facts


def render(template: str | None, facts: list[Fact]) -> str | None:
    """The manual with each placeholder replaced by its fact; one the service has no value for (or that names no
    fact of this kind of service) reads as pending."""
    if template is None:
        return None
    values = {fact.key: fact.value for fact in facts}
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1)) or PENDING, template)
