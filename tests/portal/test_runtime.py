"""Process-wide resources built from the settings."""

from __future__ import annotations

import pytest

from portal import runtime
from portal.intake.limits import Limits
from portal.settings import get_settings


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_MAX_FILE_BYTES", "5000000")
    monkeypatch.setenv("PORTAL_MAX_PDF_CONTENT_BYTES", "20000000")
    monkeypatch.setenv("PORTAL_SANDBOX_MEMORY_MB", "256")
    monkeypatch.setenv("PORTAL_SANDBOX_SECONDS", "12.5")
    monkeypatch.setenv("PORTAL_SANDBOX_JOBS", "3")
    get_settings.cache_clear()
    try:
        limits = runtime.limits()
    finally:
        get_settings.cache_clear()
    assert limits.max_file_bytes == 5_000_000 and limits.max_pdf_content_bytes == 20_000_000
    assert (limits.sandbox_memory_bytes, limits.sandbox_seconds, limits.sandbox_jobs) == (256 * 2**20, 12.5, 3)
    # What the settings leave out keeps the domain's default.
    assert limits.max_image_pixels == Limits().max_image_pixels


def test_the_delivery_policy_and_the_scanner_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_DELIVERY_RETRY_INITIAL_SECONDS", "3")
    monkeypatch.setenv("PORTAL_DELIVERY_RETRY_MAX_SECONDS", "90")
    monkeypatch.setenv("PORTAL_DELIVERY_POLL_SECONDS", "7")
    monkeypatch.setenv("PORTAL_CLAMD_ADDRESS", "tcp:127.0.0.1:3310")
    monkeypatch.setenv("PORTAL_CLAMD_TIMEOUT_SECONDS", "7.5")
    get_settings.cache_clear()
    runtime.scanner.cache_clear()
    try:
        policy = runtime.retry_policy()
        scan = runtime.scanner()
    finally:
        get_settings.cache_clear()
        runtime.scanner.cache_clear()
    assert (policy.initial_seconds, policy.max_seconds, policy.poll_seconds) == (3.0, 90.0, 7.0)
    assert scan is not None
    assert repr(scan.__self__) == "ClamdScanner('tcp:127.0.0.1:3310', timeout=7.5)"  # type: ignore[attr-defined]


def test_the_default_settings_give_the_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # One definition: the settings' defaults are the limits' own.
    for field in Limits.__dataclass_fields__:
        monkeypatch.delenv(f"PORTAL_{field.upper()}", raising=False)
    monkeypatch.delenv("PORTAL_SANDBOX_MEMORY_MB", raising=False)
    get_settings.cache_clear()
    try:
        limits = runtime.limits()
    finally:
        get_settings.cache_clear()
    assert limits == Limits()
    assert (limits.max_files_per_item, limits.max_files_per_reply, limits.max_reply_bytes) == (10, 30, 60_000_000)
