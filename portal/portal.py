"""Builds the app and registers the pages; nothing else lives here."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventHandler
from reflex_base.utils.format import format_event_handler

from portal import links, routes, runtime
from portal.domain.clock import today
from portal.intake.task import sandbox_lifespan
from portal.outbox.task import delivery_lifespan
from portal.pages.home import home_page
from portal.pages.info import info_page
from portal.pages.reply import reply_page
from portal.pages.staff import list_page, preview_page, sign_in_page
from portal.server.assets import HashedAssets, compiled_assets_dir
from portal.server.guard import PortalGuard
from portal.server.health import with_health
from portal.server.link_page import LinkPages, reply_template
from portal.server.metrics import with_metrics
from portal.server.socket_owners import socket_owner_lifespan
from portal.state.binding import SessionBinding
from portal.state.language import LanguageState
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from portal.state.staff_preview import PreviewState
from portal.state.staff_session import StaffSessionState


def _event_name(handler: object) -> str:
    """The name under which the browser sends ``handler``'s events.

    Read on its state's class, an ``@rx.event`` method is an EventHandler; mypy types it as the
    decorator's class (EventNamespace), hence the check instead of the annotation.
    """
    assert isinstance(handler, EventHandler), handler
    return format_event_handler(handler)


_settings = runtime.settings()
_link_pages = LinkPages(
    reply_template(compiled_assets_dir),
    runtime.open_link,
    runtime.committed_at,
    runtime.handovers(),
    _settings.languages,
    _settings.trusted_proxy_hops,
    today,
)

app = rx.App(
    theme=None,
    # No toaster: the page shell has its own accessible connection notice.
    toaster=None,
    stylesheets=[routes.STYLESHEET],
    html_lang="de",
    head_components=[
        rx.el.meta(name="referrer", content="no-referrer"),
        rx.el.script(custom_attrs={"dangerouslySetInnerHTML": {"__html": links.HANDOFF}}),
    ],
    # Applied in order, each wrapping the last: the guard stays outermost (headers on every answer).
    api_transformer=[
        with_metrics(_settings.metrics_key, runtime.store),
        with_health(runtime.readiness_checks()),
        # Inside the guard, so its headers apply; before Reflex's routing, which the hashed
        # build files do not need.
        lambda asgi: HashedAssets(asgi, compiled_assets_dir()),
        lambda asgi: PortalGuard(
            asgi,
            max_upload_request_bytes=_settings.max_upload_request_bytes,
            settings=_settings,
            limiter=runtime.rate_limiter,
            upload_refused_handler=_event_name(ReplyState.upload_refused),
            upload_handlers=[_event_name(ReplyState.upload)],
            may_upload=runtime.may_upload,
            link_page=_link_pages.answer,
        ),
    ],
)
# Sessions that hold something end when an event comes from another client (state.binding).
app.add_middleware(SessionBinding(ReplyState, StaffSessionState))
# Reflex's default connection overlay (pulser and toast) fails colour contrast; ours replaces it.
app.app_wraps.pop((5, "Overlay"), None)
# First registered, last left: the delivery loop stops before the pooled connections close.
app.register_lifespan_task(runtime.case_service_lifespan)
app.register_lifespan_task(delivery_lifespan)
app.register_lifespan_task(sandbox_lifespan)
# Behind several backends: a tab whose backend died keeps its session on the next one.
app.register_lifespan_task(socket_owner_lifespan)

app.add_page(home_page, route=routes.HOME, title="Rückkanal", on_load=LanguageState.start)
app.add_page(reply_page, route=routes.REPLY, title="Rückkanal", on_load=ReplyState.on_reply_page)
for _name in routes.INFO_PAGES:
    app.add_page(info_page(_name), route=routes.info(_name), title="Rückkanal", on_load=LanguageState.start)
# The staff area: each page checks the staff session on load.
app.add_page(sign_in_page, route=routes.STAFF_SIGN_IN, title="Rückkanal", on_load=StaffState.open_sign_in)
app.add_page(list_page, route=routes.STAFF_HOME, title="Rückkanal", on_load=StaffState.open_list)
app.add_page(preview_page, route=routes.STAFF_MESSAGE, title="Rückkanal", on_load=PreviewState.open_preview)
