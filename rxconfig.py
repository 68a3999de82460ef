"""Reflex configuration. Everything that would reach the internet at start-up is off (telemetry,
the version check, the badge linking off-site); ports and origin come from the settings."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from portal.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # No Radix Themes, no default plugins: the portal ships its own small stylesheet.
    plugins=[],
    disable_plugins=[SitemapPlugin],
    # The browser reaches websocket and uploads here; in single-port mode that is the public URL.
    api_url=_settings.public_url.rstrip("/"),
    frontend_port=_settings.port,
    backend_port=_settings.port,
    # Client addresses (router.session.client_ip) behind the configured proxies; the server
    # middleware uses the same rule (portal.protection.clients).
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    # The websocket handshake from any other origin is refused (docs/reflex.md, "Security knobs").
    cors_allowed_origins=[_settings.public_url.rstrip("/")],
    # Idle expiry of a session's state, also for the disk and memory managers (docs/reflex.md).
    redis_token_expiration=_settings.session_timeout_seconds,
)
