"""Staff sign-in on a real SQLite file (and PostgreSQL when reachable), trusted headers, sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from portal.domain.errors import PortalError, StaffAuthError
from portal.settings import PortalSettings
from portal.staff.accounts import (
    GRANT_SECONDS,
    SignInGrants,
    StaffAccounts,
    StaffUser,
    identity_from_headers,
    new_session,
    staff_accounts,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PASSWORD = "korrekt Pferd Batterie"
# Lockout tests do many sign-ins; argon2's real cost is exercised by the tests that need it.
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def _accounts(database_url: str, hasher: PasswordHasher | None = None, **kwargs: int) -> StaffAccounts:
    accounts = StaffAccounts(database_url, hasher=hasher, **kwargs)
    accounts.create_all()
    return accounts


@pytest.fixture
def accounts(database_url: str) -> Iterator[StaffAccounts]:
    a = _accounts(database_url)
    yield a
    a.dispose()


@pytest.fixture
def fast(database_url: str) -> Iterator[StaffAccounts]:
    a = _accounts(database_url, FAST, max_failed_attempts=3, lockout_minutes=15)
    yield a
    a.dispose()


def _stored_hash(accounts: StaffAccounts, username: str) -> str:
    with accounts.engine.connect() as conn:
        row = conn.execute(staff_accounts.select().where(staff_accounts.c.username == username)).one()
    return str(row.password_hash)


def _code(call: object, *args: object) -> StaffAuthError:
    with pytest.raises(StaffAuthError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_create_stores_only_an_argon2id_hash(accounts: StaffAccounts, database_url: str) -> None:
    user = accounts.create("m.muster", "abh-potsdam", PASSWORD, "Max Muster", now=NOW)
    assert user == StaffUser("m.muster", "abh-potsdam", "Max Muster")
    stored = _stored_hash(accounts, "m.muster")
    assert stored != PASSWORD and PASSWORD not in stored
    assert stored.startswith("$argon2id$")
    # Another instance on the same file (another process, after a restart) signs the user in.
    other = StaffAccounts(database_url)
    assert other.verify("m.muster", PASSWORD, NOW) == user
    assert other.get("m.muster") == user and other.get("nobody") is None


def test_create_rules(accounts: StaffAccounts) -> None:
    accounts.create("a@behoerde.de", "abh-cottbus", PASSWORD)
    assert _code(accounts.create, "a@behoerde.de", "abh-potsdam", PASSWORD).code == "staff_user_exists"
    short = _code(accounts.create, "b", "abh-potsdam", "elf Zeichen")
    assert short.code == "password_too_short" and short.params == {"min_chars": 12}
    assert _code(accounts.create, "b", "abh-potsdam", "x" * 1025).code == "password_too_long"
    assert _code(accounts.create, "b c", "abh-potsdam", PASSWORD).code == "username_invalid"
    assert _code(accounts.create, "", "abh-potsdam", PASSWORD).code == "username_invalid"
    assert _code(accounts.create, "b", "ABH Potsdam", PASSWORD).code == "authority_invalid"
    assert _code(accounts.create, "b", "abh-potsdam", PASSWORD, "x\ny").code == "display_name_invalid"
    assert isinstance(StaffAuthError("sign_in_failed"), PortalError)


def test_wrong_password_and_unknown_user_look_the_same(database_url: str) -> None:
    hasher = CountingHasher()
    accounts = _accounts(database_url, hasher)
    try:
        accounts.create("m.muster", "abh-potsdam", PASSWORD)
        before = hasher.verifications
        wrong = _code(accounts.verify, "m.muster", "falsches Passwort", NOW)
        assert hasher.verifications == before + 1
        unknown = _code(accounts.verify, "niemand", "falsches Passwort", NOW)
        assert (wrong.code, wrong.params) == (unknown.code, unknown.params) == ("sign_in_failed", {})
        # An unknown name costs the same one argon2 verification (against a stand-in hash), so the
        # answer's timing does not tell whether a name exists. Counted rather than timed: the
        # seconds belong in a benchmark, and a busy machine would make them flake here.
        assert hasher.verifications == before + 2
    finally:
        accounts.dispose()


class CountingHasher(PasswordHasher):
    """argon2's own hasher, counting its verifications (cheap parameters for speed)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # argon2's parameter names
        self.verifications += 1
        return super().verify(hash, password)


def test_unknown_user_costs_one_password_check_like_a_known_one(database_url: str) -> None:
    hasher = CountingHasher()
    accounts = _accounts(database_url, hasher)
    accounts.create("m.muster", "abh-potsdam", PASSWORD)
    accounts._dummy_hash  # noqa: B018 - made once per process, before any comparison
    for username in ("m.muster", "niemand"):
        before = hasher.verifications
        error = _code(accounts.verify, username, "falsches Passwort", NOW, "198.51.100.7")
        assert (error.code, error.params) == ("sign_in_failed", {})
        assert hasher.verifications - before == 1, username
    accounts.dispose()


def test_unknown_user_names_lock_like_known_ones(fast: StaffAccounts) -> None:
    fast.create("m.muster", "abh-potsdam", PASSWORD)
    for username in ("m.muster", "niemand"):
        answers = [_code(fast.verify, username, "falsch-falsch", NOW, "198.51.100.7") for _ in range(4)]
        assert [a.code for a in answers] == ["sign_in_failed", "sign_in_failed", "sign_in_locked", "sign_in_locked"]
        assert answers[2].params == {"locked_until": NOW + timedelta(minutes=15)}


def test_nobody_can_lock_an_account_from_elsewhere(fast: StaffAccounts) -> None:
    fast.create("m.muster", "abh-potsdam", PASSWORD)
    for _ in range(5):
        _code(fast.verify, "m.muster", "falsch-falsch", NOW, "203.0.113.66")
    assert _code(fast.verify, "m.muster", PASSWORD, NOW, "203.0.113.66").code == "sign_in_locked"
    # The staff member at their own desk is not locked out by a stranger's guesses.
    assert fast.verify("m.muster", PASSWORD, NOW, "198.51.100.7").username == "m.muster"
    # Another IPv6 address of the stranger's /64 is the same stranger.
    for _ in range(3):
        _code(fast.verify, "m.muster", "falsch-falsch", NOW, "2001:db8:5:6::1")
    assert _code(fast.verify, "m.muster", PASSWORD, NOW, "2001:db8:5:6::abcd").code == "sign_in_locked"


def test_one_address_cannot_try_name_after_name(database_url: str) -> None:
    hasher = CountingHasher()
    accounts = _accounts(database_url, hasher, max_failed_attempts=3, failed_per_address=4)
    accounts.create("m.muster", "abh-potsdam", PASSWORD)
    codes = [_code(accounts.verify, f"name-{i}", "falsch-falsch", NOW, "203.0.113.66").code for i in range(4)]
    assert codes == ["sign_in_failed"] * 4
    checked = hasher.verifications
    refused = _code(accounts.verify, "m.muster", PASSWORD, NOW, "203.0.113.66")
    assert refused.code == "too_many_attempts" and refused.params == {"retry_after": 15 * 60}
    # Refused attempts cost no argon2 work: a flood of them cannot eat the processor.
    assert hasher.verifications == checked
    assert accounts.verify("m.muster", PASSWORD, NOW, "198.51.100.7").username == "m.muster"
    # Successful sign-ins from a shared office address do not count against it.
    for _ in range(6):
        accounts.verify("m.muster", PASSWORD, NOW + timedelta(minutes=15), "198.51.100.9")
    accounts.dispose()


def test_locked_attempts_do_not_check_the_password(database_url: str) -> None:
    hasher = CountingHasher()
    accounts = _accounts(database_url, hasher, max_failed_attempts=2)
    accounts.create("m.muster", "abh-potsdam", PASSWORD)
    for _ in range(2):
        _code(accounts.verify, "m.muster", "falsch-falsch", NOW)
    checked = hasher.verifications
    for _ in range(5):
        assert _code(accounts.verify, "m.muster", PASSWORD, NOW).code == "sign_in_locked"
    assert hasher.verifications == checked
    accounts.dispose()


def test_sign_in_grants_are_single_use_short_lived_and_bound(accounts: StaffAccounts) -> None:
    grants = SignInGrants(accounts.engine)
    grants.create_all()
    user = StaffUser("m.muster", "abh-potsdam", "Max Muster")
    grant = grants.issue(user, "binding-a", NOW, "en")
    assert grants.redeem(grant, "binding-a", NOW + timedelta(seconds=5)) == (user, "en")
    assert grants.redeem(grant, "binding-a", NOW + timedelta(seconds=6)) is None  # used
    elsewhere = grants.issue(user, "binding-a", NOW)
    assert grants.redeem(elsewhere, "binding-b", NOW) is None  # another client
    assert grants.redeem(elsewhere, "binding-a", NOW) is None  # and it is gone for good
    late = grants.issue(user, "binding-a", NOW)
    assert grants.redeem(late, "binding-a", NOW + timedelta(seconds=GRANT_SECONDS)) is None
    for bad in ("", "x" * 43 + "!", "g" * 500):
        assert grants.redeem(bad, "binding-a", NOW) is None


def test_lockout_after_consecutive_failures_and_its_end(fast: StaffAccounts) -> None:
    fast.create("m.muster", "abh-potsdam", PASSWORD)
    assert _code(fast.verify, "m.muster", "falsch-falsch-1", NOW).code == "sign_in_failed"
    assert _code(fast.verify, "m.muster", "falsch-falsch-2", NOW).code == "sign_in_failed"
    locking = _code(fast.verify, "m.muster", "falsch-falsch-3", NOW)
    assert locking.code == "sign_in_locked" and locking.params == {"locked_until": NOW + timedelta(minutes=15)}
    # Locked: even the right password is refused, and the lock is not extended by more tries.
    later = NOW + timedelta(minutes=14, seconds=59)
    refused = _code(fast.verify, "m.muster", PASSWORD, later)
    assert refused.code == "sign_in_locked" and refused.params["locked_until"] == NOW + timedelta(minutes=15)
    # After the lock a fresh count starts: one failure does not lock again.
    after = NOW + timedelta(minutes=15)
    assert _code(fast.verify, "m.muster", "falsch-falsch-4", after).code == "sign_in_failed"
    assert fast.verify("m.muster", PASSWORD, after).username == "m.muster"


def test_success_resets_the_count(fast: StaffAccounts) -> None:
    fast.create("m.muster", "abh-potsdam", PASSWORD)
    for _ in range(3):
        for _ in range(2):
            assert _code(fast.verify, "m.muster", "falsch-falsch-x", NOW).code == "sign_in_failed"
        fast.verify("m.muster", PASSWORD, NOW)
    assert _code(fast.verify, "m.muster", "falsch-falsch-x", NOW).code == "sign_in_failed"


def test_parallel_guesses_cannot_pass_the_limit(fast: StaffAccounts) -> None:
    fast.create("m.muster", "abh-potsdam", PASSWORD)
    codes: list[str] = []

    def guess(i: int) -> None:
        try:
            fast.verify("m.muster", f"falsch-parallel-{i}", NOW)
        except StaffAuthError as error:
            codes.append(error.code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # At most max_failed_attempts guesses reach the password check; every other one is refused.
    assert len(codes) == 12 and codes.count("sign_in_failed") <= 2
    assert _code(fast.verify, "m.muster", PASSWORD, NOW).code == "sign_in_locked"


def test_outdated_hash_is_upgraded_at_sign_in(database_url: str) -> None:
    old = _accounts(database_url, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I))
    old.create("m.muster", "abh-potsdam", PASSWORD)
    assert _stored_hash(old, "m.muster").startswith("$argon2i$")
    current = _accounts(database_url)
    assert current.verify("m.muster", PASSWORD, NOW).username == "m.muster"
    upgraded = _stored_hash(current, "m.muster")
    assert upgraded.startswith("$argon2id$") and not current.hasher.check_needs_rehash(upgraded)
    assert current.verify("m.muster", PASSWORD, NOW).username == "m.muster"
    assert _stored_hash(current, "m.muster") == upgraded  # no rehash when current
    old.dispose()
    current.dispose()


def test_from_settings(tmp_path: Path) -> None:
    settings = PortalSettings(data_dir=tmp_path / "d", staff_max_failed_attempts=2, staff_lockout_minutes=1)
    accounts = StaffAccounts.from_settings(settings)
    accounts.create_all()
    assert (accounts.max_failed_attempts, accounts.lockout) == (2, timedelta(minutes=1))
    assert (tmp_path / "d" / "portal.sqlite3").is_file()
    accounts.dispose()


# ---------------------------------------------------------------------- trusted headers

HEADERS = {"X-Remote-User": "m.muster@brandenburg.de", "X-Remote-Authority": "abh-potsdam"}


def _proxy_settings(*proxies: str, **kwargs: str) -> PortalSettings:
    return PortalSettings(staff_auth="headers", staff_trusted_proxies=",".join(proxies), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("client_ip", "trusted"),
    [
        ("10.0.0.7", True),  # inside 10.0.0.0/24
        ("10.0.1.7", False),
        ("192.168.5.5", True),  # the single address
        ("192.168.5.6", False),
        ("::ffff:10.0.0.9", True),  # an IPv4 peer on a dual-stack socket
        ("2001:db8::1", True),  # inside 2001:db8::/32
        ("2001:db9::1", False),
        ("::1", False),
        ("not-an-ip", False),
        ("", False),
    ],
)
def test_headers_count_only_from_trusted_proxies(client_ip: str, trusted: bool) -> None:
    settings = _proxy_settings("10.0.0.0/24", "192.168.5.5", "2001:db8::/32")
    if trusted:
        assert identity_from_headers(HEADERS, client_ip, settings) == StaffUser(
            "m.muster@brandenburg.de", "abh-potsdam", "m.muster@brandenburg.de"
        )
    else:
        assert _code(identity_from_headers, HEADERS, client_ip, settings).code == "untrusted_proxy"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Remote-User": "m.muster"},
        {"X-Remote-Authority": "abh-potsdam"},
        {"X-Remote-User": "", "X-Remote-Authority": "abh-potsdam"},
        {"X-Remote-User": "m.muster", "X-Remote-Authority": "  "},
        {"X-Remote-User": "m muster", "X-Remote-Authority": "abh-potsdam"},
        {"X-Remote-User": "a,b", "X-Remote-Authority": "abh-potsdam"},
        {"X-Remote-User": "x" * 121, "X-Remote-Authority": "abh-potsdam"},
        {"X-Remote-User": "m.muster", "X-Remote-Authority": "ABH-Potsdam"},
        {"X-Remote-User": "m.muster", "X-Remote-Authority": "abh-potsdam,abh-cottbus"},
        {"X-Remote-User": "m.muster", "X-Remote-Authority": "a" * 65},
    ],
)
def test_missing_or_invalid_header_values(headers: dict[str, str]) -> None:
    assert _code(identity_from_headers, headers, "127.0.0.1", _proxy_settings("127.0.0.1")).code == "sign_in_failed"


def test_header_names_are_configurable_and_case_insensitive() -> None:
    settings = _proxy_settings("127.0.0.1", staff_user_header="Remote-User", staff_authority_header="X-Authority")
    user = identity_from_headers({"remote-user": "kim", "x-authority": "abh-cottbus"}, "127.0.0.1", settings)
    assert (user.username, user.authority_id) == ("kim", "abh-cottbus")
    assert user.sees("abh-cottbus") and not user.sees("abh-potsdam")


# ---------------------------------------------------------------------- sessions


def test_session_expires_and_touch_slides() -> None:
    user = StaffUser("m.muster", "abh-potsdam", "Max Muster")
    session = new_session(user, NOW, 30)
    assert session.expires_at == NOW + timedelta(minutes=30)
    assert session.is_valid(NOW + timedelta(minutes=29, seconds=59))
    assert not session.is_valid(NOW + timedelta(minutes=30))
    touched = session.touch(NOW + timedelta(minutes=20))
    assert touched.expires_at == NOW + timedelta(minutes=50) and touched.user == user
    assert touched.is_valid(NOW + timedelta(minutes=45))
    assert session.expires_at == NOW + timedelta(minutes=30)  # frozen: touch returns a new session
    assert _code(touched.touch, NOW + timedelta(minutes=50)).code == "session_expired"
    with pytest.raises(ValueError):
        new_session(user, NOW.replace(tzinfo=None), 30)


# ---------------------------------------------------------------------- PostgreSQL


def test_postgresql(pg_url: str) -> None:
    a = _accounts(pg_url, FAST, max_failed_attempts=2)
    b = _accounts(pg_url, FAST, max_failed_attempts=2)
    try:
        a.create("m.muster", "abh-potsdam", PASSWORD, now=NOW)
        assert _code(b.create, "m.muster", "abh-cottbus", PASSWORD).code == "staff_user_exists"
        assert b.verify("m.muster", PASSWORD, NOW).authority_id == "abh-potsdam"
        assert _code(a.verify, "m.muster", "falsch-falsch-1", NOW).code == "sign_in_failed"
        locked = _code(b.verify, "m.muster", "falsch-falsch-2", NOW)
        assert locked.code == "sign_in_locked" and locked.params["locked_until"] == NOW + timedelta(minutes=15)
        assert _code(a.verify, "m.muster", PASSWORD, NOW).code == "sign_in_locked"
        assert a.verify("m.muster", PASSWORD, NOW + timedelta(minutes=15)).username == "m.muster"
    finally:
        a.dispose()
        b.dispose()
