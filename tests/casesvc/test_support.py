"""The case service as the other suites run it (through tests/support/processes.py): real HTTP, a
restart on the same port keeps the data, a failed start shows why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.case_service import CaseServiceProcess, run_case_service
from tests.support.messages import message_in
from tests.support.processes import free_port


def test_run_case_service_serves_and_survives_a_restart(tmp_path: Path) -> None:
    with run_case_service(tmp_path) as service:
        assert set(service.authority_keys) == {"abh-potsdam", "abh-cottbus"}
        potsdam = {"Authorization": f"Bearer {service.authority_keys['abh-potsdam']}"}
        created = httpx.post(
            f"{service.url}/api/v1/messages", json=message_in(kind="status"), headers=potsdam, trust_env=False
        )
        assert created.status_code == 201, created.text
        token = created.json()["reply_link"].rsplit("/", 1)[1]
        portal = {"Authorization": f"Bearer {service.portal_key}"}
        port = service.port

        service.stop()
        try:
            httpx.get(f"{service.url}/health", timeout=1, trust_env=False)
            raise AssertionError("the service still answers after stop()")
        except httpx.TransportError:
            pass

        service.start()
        assert service.port == port
        resolved = httpx.post(
            f"{service.url}/api/v1/links/resolve", json={"token": token}, headers=portal, trust_env=False
        )
        assert resolved.status_code == 200 and resolved.json()["message_id"] == created.json()["id"]
        cottbus = {"Authorization": f"Bearer {service.authority_keys['abh-cottbus']}"}
        other = httpx.get(f"{service.url}/api/v1/messages/{created.json()['id']}", headers=cottbus, trust_env=False)
        assert other.status_code == 404


def test_a_service_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    service = CaseServiceProcess(tmp_path, free_port(), extra_env={"CASESVC_PORTAL_KEY": "short"})
    with pytest.raises(RuntimeError, match="exited with 2 while starting") as refused:
        service.start()
    assert "portal_key is shorter than 16 characters" in str(refused.value)
    assert not service.running and service.pid is None
