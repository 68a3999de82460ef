"""Configuration of the case service, read once from ``CASESVC_*`` environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from casesvc.tokens import REPLY_PATH, TOKEN_CHARS

# BundID carries the sender URL of a mailbox message in at most 255 characters.
MAX_LINK_LENGTH = 255
# A bearer key shorter than this is a password, not a key; refuse it instead of guessing.
MIN_KEY_LENGTH = 16
KiB = 1024
MiB = 1024 * KiB


def parse_authority_keys(raw: object) -> dict[str, str]:
    """Turn the configured authority keys into ``{key: authority_id}``.

    Accepts ``"abh-potsdam:KEY,abh-cottbus:KEY"`` (easy to write in an env file) or a JSON object
    ``{"KEY": "abh-potsdam"}`` (key first, so one authority can hold several keys while rotating).
    """
    if isinstance(raw, dict):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            loaded = json.loads(text)
            if not isinstance(loaded, dict):
                raise ValueError("authority_keys JSON must be an object of key -> authority id")
            pairs = [(str(k), str(v)) for k, v in loaded.items()]
        else:
            pairs = []
            for entry in filter(None, (part.strip() for part in text.split(","))):
                authority_id, sep, key = entry.partition(":")
                if not sep:
                    raise ValueError("authority_keys entries look like authority-id:key")
                pairs.append((key.strip(), authority_id.strip()))
    else:
        raise ValueError("authority_keys must be a string or a mapping")
    mapping: dict[str, str] = {}
    for key, authority_id in pairs:
        if not authority_id:
            raise ValueError("authority_keys has an entry without an authority id")
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"the key of authority {authority_id!r} is shorter than {MIN_KEY_LENGTH} characters")
        if key in mapping and mapping[key] != authority_id:
            raise ValueError("one key is configured for two authorities")
        mapping[key] = authority_id
    if not mapping:
        raise ValueError("authority_keys names no authority")
    return mapping


class CaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASESVC_", extra="ignore")

    data_dir: Path = Path("data/casesvc")
    database_url: str = Field(default="", description="Empty means sqlite:///<data_dir>/casesvc.sqlite3")
    portal_base_url: str = "http://localhost:3000"
    portal_key: SecretStr
    # Stored as key -> authority id; NoDecode because the env value is usually not JSON.
    authority_keys: Annotated[dict[str, str], NoDecode]
    grace_days: int = Field(default=14, ge=0, le=365)
    info_link_days: int = Field(default=90, ge=1, le=3650)
    timezone: str = "Europe/Berlin"
    # The whole multipart reply upload (files, the reply JSON and the multipart framing).
    max_reply_bytes: int = Field(default=150 * MiB, ge=1)
    # Every other request body (JSON). The largest valid message is about 110 KiB of ASCII JSON, and
    # under 700 KiB with every character escaped as \uXXXX: a valid body is never refused for size.
    max_json_bytes: int = Field(default=1 * MiB, ge=1 * KiB)
    max_file_bytes: int = Field(default=25 * MiB, ge=1)
    # Audit entries older than this are deleted whenever a new one is written.
    audit_retention_days: int = Field(default=365, ge=1, le=3650)

    @field_validator("authority_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> dict[str, str]:
        return parse_authority_keys(value)

    @field_validator("portal_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("portal_base_url must be an http(s) URL without query or fragment")
        # Refuse at start-up rather than mint a link that BundID truncates later.
        if len(value) + len(REPLY_PATH) + TOKEN_CHARS > MAX_LINK_LENGTH:
            raise ValueError(f"portal_base_url is too long: reply links would exceed {MAX_LINK_LENGTH} characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_keys(self) -> CaseServiceSettings:
        portal_key = self.portal_key.get_secret_value()
        if len(portal_key) < MIN_KEY_LENGTH:
            raise ValueError(f"portal_key is shorter than {MIN_KEY_LENGTH} characters")
        if portal_key in self.authority_keys:
            raise ValueError("the portal key must differ from every authority key")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'casesvc.sqlite3'}"
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def __repr_args__(self) -> Any:
        # Keep authority keys out of reprs and logs; SecretStr already covers the portal key.
        for name, value in super().__repr_args__():
            yield name, ("**********" if name == "authority_keys" else value)
