"""Health for an orchestrator: live while the process answers, ready while the store, Reflex's Redis
(when configured) and the case service answer (checked against the real reference case service, a
real SQLite store and the machine's Redis)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.client import CaseServiceClient
from portal.outbox.store import PortalStore
from portal.server.health import Check, HealthEndpoints
from portal.settings import get_settings
from tests.support.processes import free_port


async def downstream(scope: Any, receive: Any, send: Any) -> None:
    """Stands in for the Reflex app: answers every path it is handed with 204."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _case_service_check(url: str, key: str) -> Check:
    async def check() -> None:
        async with CaseServiceClient(url, key, timeout=1.0) as client:
            await client.check_health()

    return check


def _store_check(store: PortalStore) -> Check:
    async def check() -> None:
        await asyncio.to_thread(store.check)

    return check


async def _get(app: HealthEndpoints, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        return await client.request(method, path)


async def test_ready_when_the_store_and_the_case_service_answer(case_service: Any, store: PortalStore) -> None:
    checks = {
        "store": _store_check(store),
        "case_service": _case_service_check(case_service.url, case_service.portal_key),
    }
    app = HealthEndpoints(downstream, checks=checks)
    ready = await _get(app, "/health/ready")
    assert ready.status_code == 200 and ready.headers["cache-control"] == "no-store"
    assert ready.json() == {"status": "ready", "checks": {"store": "ok", "case_service": "ok"}}
    live = await _get(app, "/health/live")
    assert live.status_code == 200 and live.json() == {"status": "live"}
    # Every other path is the app's.
    assert (await _get(app, "/reply")).status_code == 204
    assert (await _get(app, "/health/ready", "POST")).status_code == 405


async def test_not_ready_names_what_failed_and_stays_live(
    case_service: Any, store: PortalStore, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    app = HealthEndpoints(
        downstream,
        checks={"store": _store_check(store), "case_service": _case_service_check(nobody, "key")},
    )
    ready = await _get(app, "/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "checks": {"store": "ok", "case_service": "failed"}}
    # Nothing of the failure (the address, the exception) is in the answer.
    assert nobody not in ready.text and "Error" not in ready.text
    assert (await _get(app, "/health/live")).status_code == 200

    # A store whose database cannot be opened (here: its path is a folder).
    (tmp_path / "a-folder").mkdir()
    broken = PortalStore(f"sqlite:///{tmp_path / 'a-folder'}")
    try:
        app = HealthEndpoints(
            downstream,
            checks={
                "store": _store_check(broken),
                "case_service": _case_service_check(case_service.url, case_service.portal_key),
            },
        )
        ready = await _get(app, "/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"store": "failed", "case_service": "ok"}
    finally:
        broken.dispose()


async def test_a_check_that_hangs_counts_as_failed() -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    app = HealthEndpoints(downstream, checks={"slow": hangs}, timeout=0.2)
    ready = await _get(app, "/health/ready")
    assert ready.status_code == 503 and json.loads(ready.text)["checks"] == {"slow": "failed"}


async def test_probes_in_quick_succession_share_one_round_of_checks() -> None:
    rounds: list[int] = []

    async def counted() -> None:
        rounds.append(1)

    app = HealthEndpoints(downstream, checks={"store": counted}, reuse=60)
    answers = await asyncio.gather(*(_get(app, "/health/ready") for _ in range(20)))
    assert all(a.status_code == 200 for a in answers) and len(rounds) == 1
    fresh = HealthEndpoints(downstream, checks={"store": counted}, reuse=0)
    await _get(fresh, "/health/ready")
    await _get(fresh, "/health/ready")
    assert len(rounds) == 3


# ------------------------------------------------------------------ Reflex's Redis, when configured

REDIS = "redis://127.0.0.1:6379/11"


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (scale-out mode); its absence fails the test, it is part of the set-up."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            pass
    except OSError:
        pytest.fail("Redis on 127.0.0.1:6379 is not reachable: start the machine's redis-server")
    return REDIS


def _readiness(portal_runtime: Any, monkeypatch: pytest.MonkeyPatch, redis: str | None) -> HealthEndpoints:
    """The checks the portal builds from its settings, with ``REFLEX_REDIS_URL`` set or not."""
    if redis is None:
        monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    else:
        monkeypatch.setenv("REFLEX_REDIS_URL", redis)
    get_settings.cache_clear()
    return HealthEndpoints(downstream, checks=portal_runtime.readiness_checks())


async def test_ready_checks_redis_when_reflex_keeps_the_sessions_there(
    portal_runtime: Any, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    ready = await _get(_readiness(portal_runtime, monkeypatch, redis_url), "/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"store": "ok", "redis": "ok", "receipt_fonts": "ok", "case_service": "ok"},
    }
    # Without Redis configured there is nothing to check (the embedded default keeps sessions on disk).
    plain = await _get(_readiness(portal_runtime, monkeypatch, None), "/health/ready")
    assert plain.json() == {"status": "ready", "checks": {"store": "ok", "receipt_fonts": "ok", "case_service": "ok"}}


async def test_a_redis_that_does_not_answer_is_named_and_not_shown(
    portal_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = f"redis://:a-password@127.0.0.1:{free_port()}/0"
    ready = await _get(_readiness(portal_runtime, monkeypatch, closed), "/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not_ready",
        "checks": {"store": "ok", "redis": "failed", "receipt_fonts": "ok", "case_service": "ok"},
    }
    assert "a-password" not in ready.text and "127.0.0.1" not in ready.text
    assert (await _get(_readiness(portal_runtime, monkeypatch, closed), "/health/live")).status_code == 200


async def test_a_redis_that_hangs_fails_within_the_checks_timeout(
    portal_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A listener that accepts and never answers: the PING waits until the check's timeout.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        monkeypatch.setenv("REFLEX_REDIS_URL", f"redis://127.0.0.1:{port}/0")
        get_settings.cache_clear()
        app = HealthEndpoints(downstream, checks=portal_runtime.readiness_checks(), timeout=0.5)
        ready = await _get(app, "/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "failed"
