"""Staff sign-in (issue #6): who may open the staff area, and for which authority.

Two modes, chosen by ``PortalSettings.staff_auth``:

* ``local`` (the embedded default): ``StaffAccounts`` keeps accounts in the portal's database,
  passwords only as argon2id hashes, with consecutive failures locking an account for a while.
* ``headers`` (single sign-on): an authenticating reverse proxy names the staff member in two
  headers; ``identity_from_headers`` believes them only from the configured proxy addresses.

Either way the result is a ``StaffUser`` bound to exactly one authority, and a ``StaffSession``
that ends after a stretch of idleness. Sign-out is dropping the session (in header mode the
proxy's own sign-out ends the single sign-on as well).

Synchronous and CPU-bound (argon2 takes tens of milliseconds on purpose): async callers wrap
``StaffAccounts`` calls in ``asyncio.to_thread``. Timestamps are aware UTC, as in the store.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Integer, MetaData, String, Table, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.domain.errors import StaffAuthError
from portal.domain.store import UtcDateTime, make_engine

if TYPE_CHECKING:
    from portal.settings import PortalSettings

USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,120}")
AUTHORITY_ID = re.compile(r"[a-z0-9-]{1,64}")
MIN_PASSWORD_CHARS = 12
# argon2 pre-hashes any length, but a cap keeps a megabyte "password" from being a cheap DoS and
# still leaves room for long passphrases.
MAX_PASSWORD_CHARS = 1024
MAX_DISPLAY_NAME_CHARS = 200

metadata = MetaData()

staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("authority_id", String(64), nullable=False, index=True),
    Column("display_name", String(MAX_DISPLAY_NAME_CHARS), nullable=False, default=""),
    Column("password_hash", String(512), nullable=False),
    # Consecutive failures since the last success or the end of the last lock.
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class StaffUser:
    username: str
    authority_id: str
    display_name: str

    def sees(self, authority_id: str) -> bool:
        """Whether this staff member may see a message of ``authority_id`` (only their own)."""
        return secrets.compare_digest(self.authority_id, authority_id)


@dataclass(frozen=True, slots=True)
class StaffSession:
    user: StaffUser
    expires_at: datetime
    idle: timedelta

    def is_valid(self, now: datetime) -> bool:
        return now < self.expires_at

    def touch(self, now: datetime) -> StaffSession:
        """The session extended by its idle time from ``now`` (sliding expiry); an expired
        session is not revived, so a page must sign in again."""
        if not self.is_valid(now):
            raise StaffAuthError("session_expired")
        return replace(self, expires_at=now + self.idle)


def new_session(user: StaffUser, now: datetime, minutes: int) -> StaffSession:
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    idle = timedelta(minutes=minutes)
    return StaffSession(user=user, expires_at=now + idle, idle=idle)


# ---------------------------------------------------------------------- local accounts


class StaffAccounts:
    def __init__(
        self,
        database_url: str,
        *,
        max_failed_attempts: int = 5,
        lockout_minutes: int = 15,
        hasher: PasswordHasher | None = None,
    ) -> None:
        if max_failed_attempts < 1 or lockout_minutes < 1:
            raise ValueError("max_failed_attempts and lockout_minutes must be positive")
        self.engine = make_engine(database_url)
        self.max_failed_attempts = max_failed_attempts
        self.lockout = timedelta(minutes=lockout_minutes)
        # argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile; a new release
        # that raises them makes check_needs_rehash upgrade stored hashes at the next sign-in.
        self.hasher = hasher or PasswordHasher()

    @classmethod
    def from_settings(cls, settings: PortalSettings) -> StaffAccounts:
        return cls(
            settings.effective_database_url,
            max_failed_attempts=settings.staff_max_failed_attempts,
            lockout_minutes=settings.staff_lockout_minutes,
        )

    def create_all(self) -> None:
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    @cached_property
    def _dummy_hash(self) -> str:
        # Unknown users are checked against this, so they cost the same argon2 work as known ones.
        return self.hasher.hash(secrets.token_urlsafe(24))

    def create(
        self,
        username: str,
        authority_id: str,
        password: str,
        display_name: str = "",
        *,
        now: datetime | None = None,
    ) -> StaffUser:
        username, authority_id, display_name = username.strip(), authority_id.strip(), display_name.strip()
        if not USERNAME.fullmatch(username):
            raise StaffAuthError("username_invalid")
        if not AUTHORITY_ID.fullmatch(authority_id):
            raise StaffAuthError("authority_invalid")
        if len(display_name) > MAX_DISPLAY_NAME_CHARS or not display_name.isprintable():
            raise StaffAuthError("display_name_invalid")
        check_password_policy(password)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(staff_accounts).values(
                        username=username,
                        authority_id=authority_id,
                        display_name=display_name,
                        password_hash=self.hasher.hash(password),
                        failed_attempts=0,
                        locked_until=None,
                        created_at=now or datetime.now(UTC),
                    )
                )
        except IntegrityError:
            raise StaffAuthError("staff_user_exists") from None
        return StaffUser(username=username, authority_id=authority_id, display_name=display_name)

    def get(self, username: str) -> StaffUser | None:
        row = self._row(username)
        return _user(row) if row is not None else None

    def verify(self, username: str, password: str, now: datetime) -> StaffUser:
        """The staff member for this username and password, or ``StaffAuthError``.

        ``sign_in_failed`` covers unknown user and wrong password alike. ``sign_in_locked``
        (``locked_until`` in params) answers while an account is locked, whatever the password,
        and for the failure that locks it.
        """
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        row = self._row(username) if len(password) <= MAX_PASSWORD_CHARS else None
        if row is None:
            self._burn(password)
            raise StaffAuthError("sign_in_failed")
        if not self._reserve_attempt(row.id, now):
            # Locked: never look at the real hash, so a lock cannot be used to test passwords.
            self._burn(password)
            current = self._row(username)
            raise StaffAuthError("sign_in_locked", locked_until=current.locked_until if current else None)
        ok: bool
        try:
            ok = self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok:
            values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
            if self.hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = self.hasher.hash(password)
            self._update(row.id, **values)
            return _user(row)
        locked_until = self._lock_if_exhausted(row.id, now)
        if locked_until is not None:
            raise StaffAuthError("sign_in_locked", locked_until=locked_until)
        raise StaffAuthError("sign_in_failed")

    def _reserve_attempt(self, account_id: int, now: datetime) -> bool:
        """Count this attempt as a failure *before* checking the password, in one conditional
        UPDATE: parallel guesses then cannot all slip in before the lock (a success resets the
        count). False when the account is locked, or its attempts are used up by guesses still
        running. An expired lock starts a fresh count."""
        c = staff_accounts.c
        unlocked = c.locked_until.is_(None) & (c.failed_attempts < self.max_failed_attempts)
        lock_over = c.locked_until.is_not(None) & (c.locked_until <= now)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(staff_accounts)
                .where((c.id == account_id) & (unlocked | lock_over))
                .values(
                    failed_attempts=case((c.locked_until.is_not(None), 1), else_=c.failed_attempts + 1),
                    locked_until=None,
                )
            )
        return result.rowcount == 1

    def _lock_if_exhausted(self, account_id: int, now: datetime) -> datetime | None:
        c = staff_accounts.c
        locked_until = now + self.lockout
        with self.engine.begin() as conn:
            result = conn.execute(
                update(staff_accounts)
                .where(
                    (c.id == account_id) & c.locked_until.is_(None) & (c.failed_attempts >= self.max_failed_attempts)
                )
                .values(locked_until=locked_until)
            )
        return locked_until if result.rowcount == 1 else None

    def _burn(self, password: str) -> None:
        try:
            self.hasher.verify(self._dummy_hash, password[:MAX_PASSWORD_CHARS])
        except VerificationError:
            pass

    def _row(self, username: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(staff_accounts).where(staff_accounts.c.username == username.strip())).first()

    def _update(self, account_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(staff_accounts).where(staff_accounts.c.id == account_id).values(**values))


def check_password_policy(password: str) -> None:
    # Length is the policy (NIST SP 800-63B): composition rules add little and annoy.
    if len(password) < MIN_PASSWORD_CHARS:
        raise StaffAuthError("password_too_short", min_chars=MIN_PASSWORD_CHARS)
    if len(password) > MAX_PASSWORD_CHARS:
        raise StaffAuthError("password_too_long", max_chars=MAX_PASSWORD_CHARS)


def _user(row: Any) -> StaffUser:
    return StaffUser(username=row.username, authority_id=row.authority_id, display_name=row.display_name)


# ---------------------------------------------------------------------- trusted proxy headers


def identity_from_headers(headers: Mapping[str, str], client_ip: str, settings: PortalSettings) -> StaffUser:
    """The staff member an authenticating reverse proxy vouches for.

    ``client_ip`` must be the TCP peer of this request, never a forwarded-for value: anyone can
    send the identity headers, so they count only when the connection itself comes from a
    configured proxy (which must overwrite them on every request it passes on).
    """
    if not is_trusted_proxy(client_ip, settings.staff_trusted_proxies):
        raise StaffAuthError("untrusted_proxy")
    # Header names are case-insensitive; a plain dict from a test or framework may use any case.
    lowered = {name.lower(): value for name, value in headers.items()}
    username = lowered.get(settings.staff_user_header.lower(), "").strip()
    authority_id = lowered.get(settings.staff_authority_header.lower(), "").strip()
    # A value that fails the patterns (e.g. two values joined by a comma) is no identity at all.
    if not USERNAME.fullmatch(username) or not AUTHORITY_ID.fullmatch(authority_id):
        raise StaffAuthError("sign_in_failed")
    return StaffUser(username=username, authority_id=authority_id, display_name=username)


def is_trusted_proxy(client_ip: str, trusted: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return False
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; match them against IPv4 entries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for entry in trusted:
        network = ipaddress.ip_network(entry, strict=False)
        if network.version == address.version and address in network:
            return True
    return False
