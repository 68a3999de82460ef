"""The process's counters: a registry of the portal's own, label values only in the shape of the
portal's codes (the endpoint and the real code paths that count are in tests/portal/server)."""

from __future__ import annotations

import prometheus_client
import pytest

from portal import metrics
from portal.metrics import OTHER, PortalMetrics, bounded


@pytest.mark.parametrize("code", ["opened", "link_expired", "file_type_html", "too_many_files_reply"])
def test_a_code_is_its_own_label(code: str) -> None:
    assert bounded(code) == code


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Link_Expired",
        "a" * 49,
        "T" * 43,  # a token's shape
        "f13bbfe4-685f",  # part of a message id
        "scan.pdf",
        "Amina Yilmaz",
        "link_expired\n# TYPE x gauge",
    ],
)
def test_anything_else_becomes_other(value: str) -> None:
    assert bounded(value) == OTHER


def test_each_set_of_counters_has_its_own_registry_not_the_global_one() -> None:
    first, second = PortalMetrics(), PortalMetrics()
    first.link_openings.labels(outcome="opened").inc()
    assert first.registry.get_sample_value("portal_link_openings_total", {"outcome": "opened"}) == 1
    assert second.registry.get_sample_value("portal_link_openings_total", {"outcome": "opened"}) == 0
    assert prometheus_client.REGISTRY.get_sample_value("portal_link_openings_total", {"outcome": "opened"}) is None


def test_the_process_counters_take_bounded_labels() -> None:
    def sample(name: str, label: str, value: str) -> float:
        found = metrics.METRICS.registry.get_sample_value(name, {label: value})
        return 0.0 if found is None else found

    before = (
        sample("portal_uploads_refused_total", "reason", OTHER),
        sample("portal_link_openings_total", "outcome", "link_expired"),
    )
    metrics.count_upload_refused("Lebenslauf Amina.pdf")
    metrics.count_link_opening("link_expired")
    after = (
        sample("portal_uploads_refused_total", "reason", OTHER),
        sample("portal_link_openings_total", "outcome", "link_expired"),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    text = prometheus_client.generate_latest(metrics.METRICS.registry).decode()
    assert "Amina" not in text
