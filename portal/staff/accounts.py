"""Staff sign-in: who may open the staff area, and for which authority.

Two modes, chosen by ``PortalSettings.staff_auth``:

* ``local`` (the embedded default): ``StaffAccounts`` keeps accounts in the portal's database,
  passwords only as argon2id hashes. Failures count per user name *and* client address (a
  stranger elsewhere cannot lock anybody out) and per address (one address cannot try name
  after name); unknown user names count, lock and cost exactly like known ones.
* ``headers`` (single sign-on): an authenticating reverse proxy names the staff member in two
  headers; ``identity_from_headers`` believes them only from the configured proxy addresses.

Either way the result is a ``StaffUser`` bound to exactly one authority, and a ``StaffSession``
that ends after a stretch of idleness. A session never starts on the credential it was asked
from: ``SignInGrants`` hands a signed-in user over, once, to a fresh one (see ``state.staff``).
Sign-out is dropping the session (in header mode the proxy's own sign-out ends the single
sign-on as well).

Synchronous and CPU-bound (argon2 takes tens of milliseconds on purpose): async callers wrap
``StaffAccounts`` calls in ``asyncio.to_thread``. Timestamps are aware UTC, as in the store.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.database import UtcDateTime, make_engine
from portal.domain import clock
from portal.domain.errors import StaffAuthError
from portal.protection.clients import address_group
from portal.protection.ratelimit import RateLimiter, Rule

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
    # No longer read: failures now count per user name and address (rate_counters), so that a lock
    # cannot be set on anyone's account from anywhere. Kept so databases made before still insert.
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)


# A sign-in handed to a fresh session credential: single use, bound to the client, short-lived.
staff_sign_in_grants = Table(
    "staff_sign_in_grants",
    metadata,
    Column("grant_hash", String(64), primary_key=True),
    Column("username", String(120), nullable=False),
    Column("authority_id", String(64), nullable=False),
    Column("display_name", String(MAX_DISPLAY_NAME_CHARS), nullable=False),
    Column("binding", String(64), nullable=False),
    Column("lang", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
GRANT_SECONDS = 60


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


class SignInGrants:
    """One-time hand-over of a sign-in from the credential it happened on to a fresh one.

    A session credential someone else already knows (planted before the sign-in, or read from a
    log) must not become signed in. So a sign-in only issues a grant: a random value stored as its
    hash, valid once, for ``GRANT_SECONDS``, from the same client binding. The browser takes it to
    a new page load with a new credential, which redeems it. In the database, so that any
    instance can redeem what another issued.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def create_all(self) -> None:
        metadata.create_all(self.engine, tables=[staff_sign_in_grants])

    def issue(self, user: StaffUser, binding: str, now: datetime, lang: str = "") -> str:
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        grant = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(staff_sign_in_grants).where(staff_sign_in_grants.c.expires_at <= now))
            conn.execute(
                insert(staff_sign_in_grants).values(
                    grant_hash=_grant_hash(grant),
                    username=user.username,
                    authority_id=user.authority_id,
                    display_name=user.display_name,
                    binding=binding,
                    lang=lang[:16],
                    expires_at=now + timedelta(seconds=GRANT_SECONDS),
                )
            )
        return grant

    def redeem(self, grant: str, binding: str, now: datetime) -> tuple[StaffUser, str] | None:
        """The user (and the language they chose) for a grant, once; None when unknown, used,
        expired or presented by another client."""
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        if not GRANT.fullmatch(grant):
            return None
        c = staff_sign_in_grants.c
        with self.engine.begin() as conn:
            # Deleted as it is read: a second redemption (a race included) finds nothing.
            row = conn.execute(
                delete(staff_sign_in_grants).where(c.grant_hash == _grant_hash(grant)).returning(*c)
            ).first()
        if row is None or row.expires_at <= now or not secrets.compare_digest(row.binding, binding):
            return None
        return _user(row), str(row.lang)


GRANT = re.compile(r"[A-Za-z0-9_-]{43}")


def _grant_hash(grant: str) -> str:
    return hashlib.sha256(grant.encode()).hexdigest()


# ---------------------------------------------------------------------- local accounts


class StaffAccounts:
    def __init__(
        self,
        database_url: str,
        *,
        max_failed_attempts: int = 5,
        lockout_minutes: int = 15,
        failed_per_address: int = 30,
        hasher: PasswordHasher | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        if max_failed_attempts < 1 or lockout_minutes < 1 or failed_per_address < 1:
            raise ValueError("max_failed_attempts, lockout_minutes and failed_per_address must be positive")
        self.engine = make_engine(database_url)
        self.max_failed_attempts = max_failed_attempts
        self.lockout = timedelta(minutes=lockout_minutes)
        self.limiter = limiter or RateLimiter(database_url)
        window = lockout_minutes * 60
        # A user name from one address: locked after max_failed_attempts for the rest of the window.
        self._pair_rule = Rule("staff_failures_name_address", max_failed_attempts, window)
        # One address, any user names: stops trying name after name (password spraying).
        self._address_rule = Rule("staff_failures_address", failed_per_address, window)
        # argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile; a new release
        # that raises them makes check_needs_rehash upgrade stored hashes at the next sign-in.
        self.hasher = hasher or PasswordHasher()

    @classmethod
    def from_settings(cls, settings: PortalSettings, limiter: RateLimiter | None = None) -> StaffAccounts:
        return cls(
            settings.effective_database_url,
            max_failed_attempts=settings.staff_max_failed_attempts,
            lockout_minutes=settings.staff_lockout_minutes,
            failed_per_address=settings.staff_failed_sign_ins_per_address,
            limiter=limiter,
        )

    def create_all(self) -> None:
        metadata.create_all(self.engine)
        self.limiter.create_all()

    def dispose(self) -> None:
        self.engine.dispose()
        self.limiter.dispose()

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
                        created_at=now or clock.now(),
                    )
                )
        except IntegrityError:
            raise StaffAuthError("staff_user_exists") from None
        return StaffUser(username=username, authority_id=authority_id, display_name=display_name)

    def get(self, username: str) -> StaffUser | None:
        row = self._row(username)
        return _user(row) if row is not None else None

    def verify(self, username: str, password: str, now: datetime, source: str = "") -> StaffUser:
        """The staff member for this username and password, or ``StaffAuthError``.

        ``source`` is the client's address. ``sign_in_failed`` covers unknown user and wrong
        password alike. ``sign_in_locked`` (``locked_until`` in params) answers while this user
        name is locked for this address, whatever the password, and for the failure that locks
        it; ``too_many_attempts`` (``retry_after``) while the address has failed too often with
        any names. Both answer without any password check: a lock cannot test passwords, and a
        flood of refused attempts costs no argon2 work. Known and unknown names take the same
        path through the counters, the lookup and one argon2 verification, so nothing tells
        them apart.
        """
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        name = username.strip()
        address = address_group(source)
        # Each attempt is counted as a failure *before* the password is checked (taken back on
        # success): parallel guesses cannot all slip in before the lock.
        from_address = self.limiter.hit([(self._address_rule, address)], now)
        if not from_address.allowed:
            raise StaffAuthError("too_many_attempts", retry_after=from_address.retry_after)
        pair = f"{name}\0{address}"
        attempt = self.limiter.hit([(self._pair_rule, pair)], now)
        if not attempt.allowed:
            raise StaffAuthError("sign_in_locked", locked_until=now + timedelta(seconds=attempt.resets_in))
        row = self._row(name) if len(password) <= MAX_PASSWORD_CHARS else None
        ok = False
        if row is None:
            self._burn(password)
        else:
            try:
                ok = self.hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if ok and row is not None:
            self.limiter.reset(self._pair_rule, pair)
            self.limiter.release(self._address_rule, address, now)
            if self.hasher.check_needs_rehash(row.password_hash):
                self._update(row.id, password_hash=self.hasher.hash(password))
            return _user(row)
        if attempt.remaining == 0:
            raise StaffAuthError("sign_in_locked", locked_until=now + timedelta(seconds=attempt.resets_in))
        raise StaffAuthError("sign_in_failed")

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
