"""Portal settings: defaults, the PORTAL_ environment, derived paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from portal.settings import PortalSettings, get_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = PortalSettings()
    assert settings.case_service_url == "http://127.0.0.1:8100"
    assert settings.case_service_key.get_secret_value() == ""
    assert settings.max_file_bytes == 10_000_000 and settings.max_reply_bytes == 60_000_000
    assert (settings.max_files_per_item, settings.max_files_per_reply, settings.max_text_chars) == (10, 30, 5000)
    assert settings.languages[:3] == ("de", "de-simple", "en") and len(settings.languages) == 13
    assert settings.default_language == "de"
    assert settings.clamd_address == "" and settings.clamd_timeout_seconds == 30.0
    assert (settings.sandbox_memory_mb, settings.sandbox_seconds, settings.sandbox_jobs) == (512, 30.0, 2)
    assert settings.max_pdf_content_bytes == 100_000_000
    data = tmp_path.resolve() / "data" / "portal"
    assert settings.effective_database_url == f"sqlite:///{data}/portal.sqlite3"
    assert settings.files_dir == data / "files" and (tmp_path / "data/portal/files").is_dir()


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", "s3cret-key-0123456789")
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://portal@db/portal")
    monkeypatch.setenv("PORTAL_LANGUAGES", "de, en, ar")
    monkeypatch.setenv("PORTAL_DELIVERY_POLL_SECONDS", "0.5")
    monkeypatch.setenv("PORTAL_CLAMD_ADDRESS", "tcp:clamav:3310")
    settings = PortalSettings()
    assert settings.clamd_address == "tcp:clamav:3310"
    assert settings.case_service_key.get_secret_value() == "s3cret-key-0123456789"
    assert "s3cret" not in repr(settings)
    assert settings.effective_database_url == "postgresql+psycopg://portal@db/portal"
    assert settings.languages == ("de", "en", "ar") and settings.delivery_poll_seconds == 0.5
    assert settings.files_dir == tmp_path / "d" / "files"

    monkeypatch.setenv("PORTAL_LANGUAGES", '["en"]')
    with pytest.raises(ValidationError):
        PortalSettings()  # default_language "de" is not offered
    assert PortalSettings(default_language="en").languages == ("en",)


def test_get_settings_is_read_once() -> None:
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_operator_file_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic_settings import SettingsConfigDict

    from portal.settings import PortalSettings

    config = tmp_path / "portal.toml"
    config.write_text('operator_name = "Stadt Cottbus"\noperator_email = "portal@cottbus.example"\n')

    class FromFile(PortalSettings):
        model_config = SettingsConfigDict(**{**PortalSettings.model_config, "toml_file": config})

    monkeypatch.delenv("PORTAL_OPERATOR_NAME", raising=False)
    monkeypatch.setenv("PORTAL_OPERATOR_EMAIL", "ops@cottbus.example")
    settings = FromFile()
    assert settings.operator_name == "Stadt Cottbus"
    assert settings.operator_email == "ops@cottbus.example"


def test_the_shipped_operator_file_parses() -> None:
    from portal.settings import CONFIG_FILE, PortalSettings

    assert CONFIG_FILE.is_file()
    assert PortalSettings().operator_name


def test_staff_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = PortalSettings()
    assert settings.staff_auth == "local" and settings.staff_trusted_proxies == ()
    assert (settings.staff_user_header, settings.staff_authority_header) == ("X-Remote-User", "X-Remote-Authority")
    assert (settings.staff_session_minutes, settings.staff_max_failed_attempts, settings.staff_lockout_minutes) == (
        30,
        5,
        15,
    )


def test_staff_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_STAFF_AUTH", "headers")
    monkeypatch.setenv("PORTAL_STAFF_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")
    monkeypatch.setenv("PORTAL_STAFF_USER_HEADER", "Remote-User")
    monkeypatch.setenv("PORTAL_STAFF_SESSION_MINUTES", "10")
    settings = PortalSettings()
    assert settings.staff_auth == "headers" and settings.staff_user_header == "Remote-User"
    assert settings.staff_trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32", "::1/128")
    assert settings.staff_session_minutes == 10
    monkeypatch.setenv("PORTAL_STAFF_TRUSTED_PROXIES", '["192.168.0.0/16"]')
    assert PortalSettings().staff_trusted_proxies == ("192.168.0.0/16",)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"staff_auth": "headers"},  # no proxy would ever be believed
        {"staff_auth": "kerberos"},
        {"staff_trusted_proxies": ("10.0.0.1/8",)},  # host bits set: a typo, not a network
        {"staff_trusted_proxies": ("proxy.example",)},
        {"staff_user_header": "X Remote User"},
        {"staff_user_header": "x-remote-authority"},  # both headers the same
        {"staff_session_minutes": 0},
        {"staff_max_failed_attempts": 0},
        {"staff_lockout_minutes": 0},
    ],
)
def test_staff_misconfiguration_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PortalSettings(**kwargs)  # type: ignore[arg-type]


def test_metrics_key_is_off_by_default_and_never_short(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PortalSettings().metrics_key.get_secret_value() == ""
    key = "0123456789abcdef" * 4
    monkeypatch.setenv("PORTAL_METRICS_KEY", key)
    settings = PortalSettings()
    assert settings.metrics_key.get_secret_value() == key and key not in repr(settings)
    for bad in ("short", "x" * 31, f" {key}"):
        monkeypatch.setenv("PORTAL_METRICS_KEY", bad)
        with pytest.raises(ValidationError):
            PortalSettings()


def test_reflexs_redis_url_is_read_under_reflexs_name_and_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    assert PortalSettings().reflex_redis_url.get_secret_value() == ""
    url = "redis://:geheim@127.0.0.1:6379/2"
    # Reflex reads REFLEX_REDIS_URL (not the portal's prefix): the readiness check must see the same.
    monkeypatch.setenv("PORTAL_REFLEX_REDIS_URL", url)
    assert PortalSettings().reflex_redis_url.get_secret_value() == ""
    monkeypatch.setenv("REFLEX_REDIS_URL", url)
    settings = PortalSettings()
    assert settings.reflex_redis_url.get_secret_value() == url and "geheim" not in repr(settings)


def test_limits_proxies_and_public_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = PortalSettings()
    assert (settings.trusted_proxy_hops, settings.link_opens_per_address, settings.link_opens_per_link) == (0, 30, 20)
    assert (settings.uploads_per_address, settings.uploads_per_link, settings.staff_failed_sign_ins_per_address) == (
        120,
        60,
        30,
    )
    monkeypatch.setenv("PORTAL_TRUSTED_PROXY_HOPS", "2")
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://Portal.Example.de/")
    settings = PortalSettings()
    assert settings.trusted_proxy_hops == 2
    assert settings.public_origin == "https://portal.example.de"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trusted_proxy_hops": -1},
        {"link_opens_per_address": 0},
        {"uploads_per_link": 0},
        {"public_url": "portal.example.de"},  # no scheme: redirects and the CSP need an origin
        {"public_url": "javascript:alert(1)"},
    ],
)
def test_limit_misconfiguration_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PortalSettings(**kwargs)  # type: ignore[arg-type]


def test_a_relative_data_dir_is_made_absolute_where_the_portal_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTAL_DATA_DIR", "data/portal")
    settings = PortalSettings()
    assert settings.data_dir == tmp_path.resolve() / "data" / "portal"
    assert settings.files_dir.is_absolute()


def test_delivered_replies_are_reduced_before_they_are_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_DELIVERED_REDUCE_AFTER_DAYS", "7")
    monkeypatch.setenv("PORTAL_DELIVERED_DELETE_AFTER_DAYS", "90")
    settings = PortalSettings()
    assert (settings.delivered_reduce_after_days, settings.delivered_delete_after_days) == (7, 90)
    with pytest.raises(ValidationError):
        PortalSettings(delivered_reduce_after_days=90, delivered_delete_after_days=7)


def test_workers_and_the_upload_request_size(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PortalSettings().workers == 1
    monkeypatch.setenv("PORTAL_WORKERS", "3")
    assert PortalSettings().workers == 3
    with pytest.raises(ValidationError):
        PortalSettings(workers=0)
    # One item's files and the multipart framing; never more than a whole reply.
    settings = PortalSettings(max_file_bytes=1000, max_files_per_item=3, max_reply_bytes=10_000_000)
    assert settings.max_upload_request_bytes == 3000 + 256 * 1024
    assert PortalSettings(max_reply_bytes=500).max_upload_request_bytes == 500 + 256 * 1024
