"""The portal's configuration, read once from the environment (prefix ``PORTAL_``).

Nothing else in the portal reads ``os.environ``: code receives a ``PortalSettings`` (usually via
``get_settings()``) so tests can build their own instance without touching the process.
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from portal.intake.limits import DEFAULT_LIMITS, MIB
from portal.intake.scanner import parse_address

# The operator's file (statement pages set in configuration files). Relative to the
# project root, so the portal finds it whatever the working directory.
CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "portal.toml"
# An HTTP header name (RFC 9110 token).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# e.g. ``openssl rand -hex 32`` gives 64.
METRICS_KEY_MIN_CHARS = 32
_LIMITS = DEFAULT_LIMITS


def _split_list(value: object) -> object:
    """Environment lists are usually "a,b" rather than JSON; both are accepted."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return tuple(json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return value


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", frozen=True, toml_file=CONFIG_FILE)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: arguments, environment, then the operator's TOML file, then the defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # The case service: the embedded reference implementation by default.
    case_service_url: str = "http://127.0.0.1:8100"
    # Empty by default so importing the settings never fails; the run scripts set the real key.
    case_service_key: SecretStr = SecretStr("")

    data_dir: Path = Path("data/portal")
    # Empty means the embedded SQLite file under data_dir; set a PostgreSQL URL to scale out.
    database_url: str = ""
    # Where uploads rest until delivered: "local" (a folder under data_dir, one instance) or
    # "database" (the portal's database, which every instance shares; see portal.storage).
    file_storage: Literal["local", "database"] = "local"
    public_url: str = "http://localhost:3000"
    # The fonts of the receipt PDF (portal.receipt_pdf names the files under it): Debian's
    # fonts-noto-core and fonts-droid-fallback, installed by scripts/setup; never fetched.
    receipt_fonts_dir: Path = Path("/usr/share/fonts/truetype")
    # The one port the production portal serves frontend, websocket and uploads on.
    port: int = Field(default=3000, ge=1, le=65535)
    # Reflex's own setting, read here too: set, Reflex keeps the sessions' state in this Redis
    # (several backends share it) and readiness checks that it answers. A secret: it may hold a password.
    reflex_redis_url: SecretStr = Field(default=SecretStr(""), validation_alias="REFLEX_REDIS_URL")
    # Worker processes of one backend (rxconfig hands it to granian). With Redis configured Reflex
    # would start 2 x CPUs + 1 of them, each a whole copy of the app; the default is one, and more
    # backends behind the proxy. More than one needs Reflex's Redis state manager (rxconfig checks).
    workers: int = Field(default=1, ge=1, le=32)

    # Upload limits, by default the figures of portal.intake.limits.Limits (where they are
    # explained). The per-reply totals keep one reply deliverable in a single request.
    # Decimal megabytes, as Babel shows sizes to the applicant ("10 MB").
    max_file_bytes: int = Field(default=_LIMITS.max_file_bytes, ge=1)
    max_files_per_item: int = Field(default=_LIMITS.max_files_per_item, ge=1)
    max_files_per_reply: int = Field(default=_LIMITS.max_files_per_reply, ge=1)
    max_reply_bytes: int = Field(default=_LIMITS.max_reply_bytes, ge=1)
    max_text_chars: int = Field(default=5000, ge=1)
    # What a PDF's pages may inflate to (content streams together); more is file_too_complex.
    max_pdf_content_bytes: int = Field(default=_LIMITS.max_pdf_content_bytes, ge=1)
    # Every parse, render and re-encode of an upload runs in a child process with hard limits
    # (portal/intake/sandbox.py): the MiB of address space one job may add, its wall-clock and
    # CPU seconds, and how many jobs run at once (the sandbox's memory is bounded by jobs x MiB).
    # A job stopped at a limit refuses the file (file_too_complex).
    sandbox_memory_mb: int = Field(default=_LIMITS.sandbox_memory_bytes // MIB, ge=64)
    sandbox_seconds: float = Field(default=_LIMITS.sandbox_seconds, gt=0)
    sandbox_jobs: int = Field(default=_LIMITS.sandbox_jobs, ge=1)

    request_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_retry_initial_seconds: float = Field(default=2.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=300.0, gt=0)
    delivery_poll_seconds: float = Field(default=2.0, gt=0)
    # A delivering worker's claim on a reply, renewed while it works: a crashed worker's replies
    # are taken up by another (or by the restarted portal) after at most this long.
    delivery_lease_seconds: float = Field(default=10.0, ge=1)
    # A stored file that neither a saved draft nor the outbox refers to (removed by the applicant,
    # or left by a crash) is deleted once it is this old. A saved draft refers to a file within
    # the event that stored it, so an hour is ample; drafts themselves keep theirs until the link
    # expires.
    upload_retention_hours: float = Field(default=1.0, gt=0)
    # A delivered reply's text, reasons, file names and hashes stay in the outbox this long (for
    # support questions about what was sent), then only reference, message id, times and state;
    # the entry itself is deleted after the second figure.
    delivered_reduce_after_days: float = Field(default=30.0, gt=0)
    delivered_delete_after_days: float = Field(default=365.0, gt=0)
    # An applicant's session (and draft) ends after this much idle time; the page warns this
    # long before, so the applicant can extend it (WCAG 2.2.1 Timing Adjustable).
    session_timeout_seconds: int = Field(default=3600, ge=120)
    session_warning_seconds: int = Field(default=300, ge=30)

    # Malware scanning through ClamAV's daemon: "unix:/run/clamav/clamd.ctl" or "tcp:host:port".
    # Empty (the default) scans nothing. When set, an upload clamd cannot vouch for is refused.
    # clamd's StreamMaxLength must be at least max_file_bytes.
    clamd_address: str = ""
    clamd_timeout_seconds: float = Field(default=30.0, gt=0)

    default_language: str = "de"
    # NoDecode: the env value is usually "de,en" rather than JSON (both are accepted).
    languages: Annotated[tuple[str, ...], NoDecode] = (
        "de",
        "de-simple",
        "en",
        "ar",
        "fa",
        "tr",
        "uk",
        "ru",
        "fr",
        "es",
        "vi",
        "zh",
        "sq",
    )

    # Who runs the portal: filled into the help, privacy, accessibility and imprint pages.
    operator_name: str = "Landesamt für Digitalisierung (Betrieb des Online-Dienstes Aufenthaltstitel)"
    operator_address: str = "Musterstraße 1, 14467 Potsdam"
    operator_email: str = "support@example.org"
    operator_phone: str = "+49 331 000000"
    accessibility_email: str = "barrierefreiheit@example.org"
    dpo_contact: str = "datenschutz@example.org"
    arbitration_body: str = "Schlichtungsstelle nach dem Behindertengleichstellungsgesetz, Mauerstraße 53, 10117 Berlin"

    # The staff area. "local": staff accounts in the portal's database (the embedded
    # default); "headers": an authenticating reverse proxy (single sign-on) names the staff member
    # in trusted headers, believed only from the proxy addresses listed here (IPs or CIDR networks).
    staff_auth: Literal["local", "headers"] = "local"
    staff_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    staff_user_header: str = "X-Remote-User"
    staff_authority_header: str = "X-Remote-Authority"
    # Idle time after which a staff session ends (sliding: every request extends it).
    staff_session_minutes: int = Field(default=30, ge=1)
    # Failed sign-ins per user name *and* address before that pair is locked for the lockout time:
    # a stranger elsewhere cannot lock anyone out, and unknown user names lock just the same.
    staff_max_failed_attempts: int = Field(default=5, ge=1)
    staff_lockout_minutes: int = Field(default=15, ge=1)

    # The operator's metrics endpoint (GET /_metrics, Prometheus text) answers only requests that
    # carry this key as a bearer token; empty (the default) switches the endpoint off (404).
    metrics_key: SecretStr = SecretStr("")
    # Reverse proxies in front of the portal that append the client's address to X-Forwarded-For
    # (0: none; the TCP peer is the client). Used for rate limits and session bindings, in the
    # server middleware and (rxconfig) by Reflex alike. With n > 0 the portal must be reachable
    # only through those proxies, or anyone could name any address.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    # Strict-Transport-Security's max-age, sent on answers over HTTPS (0 sends none).
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)

    # Rate limits, counted in the portal's database so every instance sees the same counts. They
    # are generous on purpose: many applicants may share one address (a carrier's NAT, a shelter).
    # Openings of a reply link (/r/<token>) and hand-overs of its token to the server, each:
    link_window_seconds: int = Field(default=60, ge=1)
    link_opens_per_address: int = Field(default=30, ge=1)
    link_opens_per_link: int = Field(default=20, ge=1)
    # Upload requests (one per pick of files):
    upload_window_seconds: int = Field(default=600, ge=1)
    uploads_per_address: int = Field(default=120, ge=1)
    uploads_per_link: int = Field(default=60, ge=1)
    # Failed staff sign-ins from one address, whatever the user name, per staff_lockout_minutes.
    staff_failed_sign_ins_per_address: int = Field(default=30, ge=1)

    @field_validator("languages", "staff_trusted_proxies", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("staff_trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # strict: "10.0.0.1/24" is refused rather than silently widened to 10.0.0.0/24.
        return tuple(str(ipaddress.ip_network(part.strip(), strict=True)) for part in value)

    @field_validator("staff_user_header", "staff_authority_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        value = value.strip()
        if not HEADER_NAME.fullmatch(value):
            raise ValueError("not an HTTP header name")
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_absolute(cls, value: Path) -> Path:
        # Resolved once, against the directory the portal was started in: the upload sandbox's
        # processes run elsewhere (cwd "/"), and every path handed to them must mean the same file.
        return value.expanduser().resolve()

    @field_validator("public_url")
    @classmethod
    def _public_url_is_an_origin(cls, value: str) -> str:
        # Redirects and the page's Content-Security-Policy are built from it.
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("public_url must be an http(s) URL")
        return value.strip()

    @field_validator("clamd_address")
    @classmethod
    def _clamd_address_parses(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_address(value)  # ValueError: the portal refuses to start misconfigured
        return value

    @field_validator("metrics_key")
    @classmethod
    def _metrics_key_is_long(cls, value: SecretStr) -> SecretStr:
        # A guessable key would publish the portal's state; refuse to start with one.
        key = value.get_secret_value()
        if key and (len(key) < METRICS_KEY_MIN_CHARS or key != key.strip()):
            raise ValueError(f"metrics_key must be at least {METRICS_KEY_MIN_CHARS} characters without spaces around")
        return value

    @model_validator(mode="after")
    def _default_language_is_offered(self) -> PortalSettings:
        if self.default_language not in self.languages:
            raise ValueError("default_language must be one of languages")
        return self

    @model_validator(mode="after")
    def _reduced_before_deleted(self) -> PortalSettings:
        if self.delivered_delete_after_days < self.delivered_reduce_after_days:
            raise ValueError("delivered_delete_after_days must not be less than delivered_reduce_after_days")
        return self

    @model_validator(mode="after")
    def _header_mode_names_its_proxies(self) -> PortalSettings:
        # Without proxies every request would be refused; better to refuse to start.
        if self.staff_auth == "headers" and not self.staff_trusted_proxies:
            raise ValueError("staff_auth 'headers' needs staff_trusted_proxies")
        if self.staff_user_header.lower() == self.staff_authority_header.lower():
            raise ValueError("staff_user_header and staff_authority_header must differ")
        return self

    @property
    def public_origin(self) -> str:
        """``scheme://host[:port]`` of the public URL: where redirects point and the page may connect."""
        parts = urlsplit(self.public_url.strip())
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    @property
    def max_upload_request_bytes(self) -> int:
        """The largest upload request the guard lets through: one item's files at most, with a
        little room for the multipart framing (a reverse proxy in front must allow as much)."""
        return min(self.max_reply_bytes, self.max_file_bytes * self.max_files_per_item) + 256 * 1024

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'portal.sqlite3'}"

    @property
    def files_dir(self) -> Path:
        """Where uploads wait until delivered: outside every served path, created on first use."""
        path = self.data_dir / "files"
        path.mkdir(parents=True, exist_ok=True)
        return path


@lru_cache(maxsize=1)
def get_settings() -> PortalSettings:
    return PortalSettings()
