"""The nginx configuration as deploy.nginx renders it: accepted by Debian's nginx, the portal's
own security headers, no token or query in the access log's format, nothing test-only in a
production rendering."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.cluster import NGINX, main_config
from deploy.nginx import TEST_COOKIE, NginxSite, fill, render
from portal.server.headers import ResponseHeaders
from portal.settings import PortalSettings

SETTINGS = PortalSettings(public_url="https://portal.example.org", case_service_key="k" * 20)


def _site(tmp_path: Path, *, test_routing: bool = False) -> NginxSite:
    return NginxSite(
        listen="127.0.0.1:8080",
        internal_listen="127.0.0.1:9090",
        backends=["10.0.0.11:8000", "10.0.0.12:8000"],
        frontend_dir=tmp_path / "frontend",
        conf_dir=tmp_path / "conf",
        access_log=str(tmp_path / "access.log"),
        error_log=str(tmp_path / "error.log"),
        test_routing=test_routing,
    )


@pytest.mark.parametrize("test_routing", [False, True])
def test_nginx_accepts_the_rendering(tmp_path: Path, test_routing: bool) -> None:
    if not Path(NGINX).exists():
        pytest.fail("Debian's nginx is not installed: run scripts/setup --cluster")
    conf_dir = tmp_path / "conf"
    portal_conf = render(_site(tmp_path, test_routing=test_routing), SETTINGS)
    (conf_dir / "nginx.conf").write_text(main_config(portal_conf, conf_dir))
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(conf_dir), "-c", str(conf_dir / "nginx.conf")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert (TEST_COOKIE in portal_conf.read_text()) is test_routing


def test_what_nginx_serves_carries_the_portals_headers(tmp_path: Path) -> None:
    render(_site(tmp_path), SETTINGS)
    snippet = (tmp_path / "conf" / "portal-headers.conf").read_text()
    headers = ResponseHeaders(SETTINGS.public_origin, 0, SETTINGS.hsts_max_age_seconds)
    for name, value in headers.fixed:
        assert f'add_header {name.decode()} "{value.decode()}" always;' in snippet
    assert "connect-src 'self' https://portal.example.org wss://portal.example.org" in snippet
    assert 'strict-transport-security "max-age=31536000"' in snippet  # an https public URL


def test_the_access_log_holds_no_token_and_no_query(tmp_path: Path) -> None:
    conf = render(_site(tmp_path), SETTINGS).read_text()
    log_format = conf.split("log_format portal", 1)[1].split(";", 1)[0]
    assert "$portal_log_path" in log_format
    for leaky in ("$request ", "$request_uri", "$args", "$query_string", "$uri", "$http_referer"):
        assert leaky not in log_format
    assert '"~^/r/" "/r/*";' in conf
    # Staff identity headers never pass from outside; metrics only on the internal listener.
    proxy = (tmp_path / "conf" / "portal-proxy.conf").read_text()
    assert 'proxy_set_header X-Remote-User "";' in proxy and "proxy_set_header Host $http_host;" in proxy
    public = conf.split("# The operator's listener", 1)[0]
    assert "location ^~ /_metrics {\n        return 404;" in public


def test_a_template_and_its_values_must_agree() -> None:
    assert fill("a @X@ b", {"X": "1"}) == "a 1 b"
    with pytest.raises(ValueError):
        fill("a @X@ @Y@", {"X": "1"})
    with pytest.raises(ValueError):
        fill("a @X@", {"X": "1", "Z": "2"})
