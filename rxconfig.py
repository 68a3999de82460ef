"""Reflex configuration. Everything that would reach the internet at start-up is off (telemetry,
the version check, the badge linking off-site); ports and origin come from the settings."""

import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin
from reflex_base.environment import environment

from portal.settings import get_settings

_settings = get_settings()
# A backend-only process (the scale-out set-up, deploy/) must name no frontend port: Reflex refuses
# one. This is read when the config loads, before `--backend-only` is parsed, so the launcher sets
# REFLEX_BACKEND_ONLY in the environment as well.
_ports = (
    {} if environment.REFLEX_BACKEND_ONLY.get() else {"frontend_port": _settings.port, "backend_port": _settings.port}
)

config = rx.Config(
    app_name="portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # No Radix Themes, no default plugins: the portal ships its own small stylesheet.
    plugins=[],
    disable_plugins=[SitemapPlugin],
    # The browser reaches websocket and uploads here; in single-port mode that is the public URL.
    api_url=_settings.public_url.rstrip("/"),
    **_ports,
    # Client addresses (router.session.client_ip) behind the configured proxies; the server
    # middleware uses the same rule (portal.protection.clients).
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    # The websocket handshake from any other origin is refused (docs/reflex.md, "Security knobs").
    cors_allowed_origins=[_settings.public_url.rstrip("/")],
    # Idle expiry of a session's state, also for the disk and memory managers (docs/reflex.md).
    redis_token_expiration=_settings.session_timeout_seconds,
)

# The backend's worker processes: Reflex reads granian's count from GRANIAN_WORKERS (else 2 x CPUs
# + 1 once Redis is configured). The setting decides, whatever the environment held.
os.environ["GRANIAN_WORKERS"] = str(_settings.workers)
if _settings.workers > 1 and not config.redis_url:
    # The disk and memory state managers keep sessions in one process: a second worker would not
    # see them.
    raise ValueError("PORTAL_WORKERS above 1 needs Reflex's Redis state manager (REFLEX_REDIS_URL)")
