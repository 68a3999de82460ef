"""The process's Prometheus counters, in a registry of the portal's own (not prometheus-client's
global default), so that what the operator's endpoint serves is exactly the portal's and a test can
count on a fresh set (``PortalMetrics()``).

Counters are this process's since it started: with several backends, Prometheus scrapes each one
and sums. Figures about the whole portal (the outbox) are read from the database at scrape time
(``portal.server.metrics``). Label values come from the portal's own codes, never from a request:
no token, name or message id can become a series.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter

# The shape of the portal's codes (``link_expired``, ``file_too_large``); anything else is "other",
# so a label can never carry free text or an identifier.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
OTHER = "other"

OPENED = "opened"
# Outcomes of a link opening besides "opened": the codes of portal.domain.errors that the reply
# page can end in. Listed so each series exists (at 0) from the start; others count as they come.
LINK_OUTCOMES = (
    OPENED,
    "link_malformed",
    "link_unknown",
    "link_expired",
    "link_revoked",
    "link_answered",
    "too_many_attempts",
    "case_service_unavailable",
    "internal",
)
# Refusals before the body is read (portal.server.guard) and the per-link limit; the intake's
# per-file codes (file_too_large, file_type_*, pdf_encrypted, ...) count as they come.
UPLOAD_REASONS = (
    "upload_too_large",
    "length_required",
    "upload_malformed",
    "upload_handler_unknown",
    "link_not_verified",
    "too_many_uploads",
)
DELIVERY_FAILURES = ("unavailable", "internal")


def bounded(code: str) -> str:
    """``code`` when it looks like one of the portal's codes, else ``other``."""
    return code if _CODE.fullmatch(code) else OTHER


class PortalMetrics:
    """The counters of one process (``METRICS``), or of one test."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.delivery_attempts = Counter(
            "portal_delivery_attempts",
            "Replies sent to the case service by this process (each try of each reply).",
            registry=self.registry,
        )
        self.delivered = Counter(
            "portal_delivery_delivered",
            "Replies the case service confirmed, by this process.",
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "portal_delivery_failures",
            "Delivery tries that failed and will be retried, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "portal_outbox_rejected",
            "Replies the case service refused for good, by this process (kept for an operator).",
            registry=self.registry,
        )
        self.uploads_refused = Counter(
            "portal_uploads_refused",
            "Upload requests and files refused by this process, by the refusal's code.",
            ["reason"],
            registry=self.registry,
        )
        self.link_openings = Counter(
            "portal_link_openings",
            "Reply links handed to this process, by outcome: opened, or the code of the page shown instead.",
            ["outcome"],
            registry=self.registry,
        )
        for reason in DELIVERY_FAILURES:
            self.delivery_failures.labels(reason=reason)
        for reason in UPLOAD_REASONS:
            self.uploads_refused.labels(reason=reason)
        for outcome in LINK_OUTCOMES:
            self.link_openings.labels(outcome=outcome)


METRICS = PortalMetrics()


def count_link_opening(outcome: str) -> None:
    """A reply link was handed over: ``opened``, or the code of the page it got instead."""
    METRICS.link_openings.labels(outcome=bounded(outcome)).inc()


def count_upload_refused(reason: str) -> None:
    """An upload request or one of its files was refused with the code ``reason``."""
    METRICS.uploads_refused.labels(reason=bounded(reason)).inc()
