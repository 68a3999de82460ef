"""The nginx configuration of the scale-out set-up, rendered from ``deploy/nginx.conf``.

The template holds what nginx does; this module fills in what depends on the deployment (the
backends, the addresses, the frontend's folder) and writes the two snippets the template includes,
built from the portal's own code so they cannot drift from single-port mode: the security headers
of ``portal.server.headers`` (for what nginx serves itself) and the proxy headers (the staff
identity headers of ``portal.settings`` removed from every request, as the README demands).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from portal.server.headers import STATIC_SUFFIXES, ResponseHeaders
from portal.settings import PortalSettings

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
PLACE = re.compile(r"@([A-Z_]+)@")
HEADERS_FILE = "portal-headers.conf"
PROXY_FILE = "portal-proxy.conf"
# The cookie with which the test configuration picks a backend (never in a production file).
TEST_COOKIE = "portal_test_backend"


@dataclass(frozen=True)
class NginxSite:
    """What one rendering needs besides the portal's settings."""

    listen: str  # e.g. "127.0.0.1:3000" or "443 ssl"
    internal_listen: str  # the operator's listener (metrics, health)
    backends: Sequence[str]  # "host:port" of each backend-only process
    frontend_dir: Path  # the exported build (.web/build/client)
    conf_dir: Path  # where the rendered files go
    access_log: str
    error_log: str
    server_name: str = "_"
    # Tests only: a cookie chooses the backend (the others stay as its backups).
    test_routing: bool = False


def render(site: NginxSite, settings: PortalSettings) -> Path:
    """Write the configuration and its snippets into ``site.conf_dir``; return the main file."""
    site.conf_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "STATIC_SUFFIXES": "|".join(re.escape(suffix.lstrip(".")) for suffix in STATIC_SUFFIXES),
        "BACKENDS": "\n".join(_server(address) for address in site.backends),
        "EXTRA_HTTP": _test_routing(site.backends) if site.test_routing else "",
        "POOL": "$portal_pool" if site.test_routing else "portal_backends",
        "LISTEN": site.listen,
        "INTERNAL_LISTEN": site.internal_listen,
        "SERVER_NAME": site.server_name,
        "ACCESS_LOG": site.access_log,
        "ERROR_LOG": site.error_log,
        "FRONTEND": str(site.frontend_dir),
        # The portal refuses larger uploads itself; nginx must let them reach it to do so.
        "MAX_BODY": str(settings.max_upload_request_bytes + 1024 * 1024),
        "HEADERS_FILE": str(site.conf_dir / HEADERS_FILE),
        "PROXY_FILE": str(site.conf_dir / PROXY_FILE),
    }
    (site.conf_dir / HEADERS_FILE).write_text(security_headers(settings))
    (site.conf_dir / PROXY_FILE).write_text(proxy_headers(settings))
    target = site.conf_dir / "portal.conf"
    target.write_text(fill(TEMPLATE.read_text(), values))
    return target


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``@NAME@`` replaced; a place without a value, or a value without a
    place, is an error (a template and its renderer that disagree must not yield a config)."""
    places = set(PLACE.findall(template))
    if places != set(values):
        raise ValueError(f"template places {sorted(places)} and values {sorted(values)} differ")
    return PLACE.sub(lambda found: values[found.group(1)], template)


def security_headers(settings: PortalSettings) -> str:
    """``add_header`` lines for what nginx serves itself: the portal's fixed headers and CSP, and
    HSTS when the public URL is https (Cache-Control is set per location)."""
    headers = ResponseHeaders(settings.public_origin, 0, settings.hsts_max_age_seconds)
    pairs = [(name.decode(), value.decode()) for name, value in headers.fixed]
    if headers.public_is_https and headers.hsts:
        pairs.append(("strict-transport-security", headers.hsts.decode()))
    return "".join(f'add_header {name} "{_quoted(value)}" always;\n' for name, value in pairs)


def proxy_headers(settings: PortalSettings) -> str:
    """What every proxied request carries: the browser's Host (Reflex's origin check and the
    redirects need it), the client's address for ``PORTAL_TRUSTED_PROXY_HOPS=1``, and never a
    staff identity header from outside."""
    lines = [
        "proxy_http_version 1.1;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        f'proxy_set_header {settings.staff_user_header} "";',
        f'proxy_set_header {settings.staff_authority_header} "";',
        # A dead backend refuses the connection at once; the next one gets the request.
        "proxy_connect_timeout 2s;",
        "proxy_next_upstream error timeout;",
        "proxy_next_upstream_tries 2;",
    ]
    return "".join(line + "\n" for line in lines)


def _server(address: str) -> str:
    return f"    server {address} max_fails=1 fail_timeout=5s;"


def _test_routing(backends: Sequence[str]) -> str:
    """One upstream per backend (the others as its backups) and the cookie that picks one."""
    blocks = []
    entries = []
    for number, address in enumerate(backends, start=1):
        backups = "".join(f"    server {other} backup;\n" for other in backends if other != address)
        blocks.append(f"upstream portal_backend_{number} {{\n{_server(address)}\n{backups}}}\n")
        entries.append(f"    {number} portal_backend_{number};\n")
    choice = f"map $cookie_{TEST_COOKIE} $portal_pool {{\n    default portal_backends;\n{''.join(entries)}}}\n"
    return "\n# Tests only: the cookie chooses the backend.\n" + "".join(blocks) + choice


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
