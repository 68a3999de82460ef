"""Process-wide resources of the portal, created once and shared by states and the server.

Kept out of the Reflex states so they stay thin and picklable: a state holds ids, never
connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import cast

import redis.asyncio

from portal import links, receipt_pdf
from portal.client import CaseServiceClient
from portal.domain import clock, errors
from portal.intake.limits import MIB
from portal.intake.pipeline import Limits
from portal.intake.scanner import make_scanner
from portal.outbox.delivery import RetryPolicy
from portal.outbox.draft_marks import DraftMarks
from portal.outbox.receipts import Receipts
from portal.outbox.saved_drafts import SavedDrafts
from portal.outbox.store import PortalStore
from portal.protection.handover import Handovers
from portal.protection.quotas import LinkSessions
from portal.protection.ratelimit import PortalRules, RateLimiter
from portal.settings import PortalSettings, get_settings
from portal.staff.accounts import SignInGrants, StaffAccounts
from portal.storage import FileStorage, make_storage


def settings() -> PortalSettings:
    return get_settings()


@lru_cache(maxsize=1)
def staff_accounts() -> StaffAccounts:
    accounts = StaffAccounts.from_settings(settings(), limiter=rate_limiter())
    accounts.create_all()
    return accounts


@lru_cache(maxsize=1)
def staff_grants() -> SignInGrants:
    grants = SignInGrants(staff_accounts().engine)
    grants.create_all()
    return grants


@lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    """The counters of every rate limit, in the portal's database (shared by all instances)."""
    limiter = RateLimiter(settings().effective_database_url)
    limiter.create_all()
    return limiter


@lru_cache(maxsize=1)
def rate_rules() -> PortalRules:
    return PortalRules.from_settings(settings())


@lru_cache(maxsize=1)
def drafts() -> DraftMarks:
    return DraftMarks(store().engine)


@lru_cache(maxsize=1)
def saved_drafts() -> SavedDrafts:
    return SavedDrafts(store().engine)


@lru_cache(maxsize=1)
def receipts() -> Receipts:
    """The applicants' copies of their receipts, until their links expire."""
    return Receipts(store().engine)


@lru_cache(maxsize=1)
def file_storage() -> FileStorage:
    """Where accepted uploads rest: this machine's folder, or the database every instance shares."""
    s = settings()
    return make_storage(s.file_storage, store().engine, s.files_dir, clock.now)


@lru_cache(maxsize=1)
def link_sessions() -> LinkSessions:
    return LinkSessions(store().engine, timedelta(seconds=settings().session_timeout_seconds))


@lru_cache(maxsize=1)
def handovers() -> Handovers[links.OpenedLink | errors.PortalError]:
    """Link openings of this process's first responses, kept for their pages' websockets."""
    return Handovers()


async def open_link(token: str) -> links.OpenedLink:
    """``links.open_link`` with the process's client of the case service."""
    async with case_service() as client:
        return await links.open_link(client, token)


async def committed_at(message_id: str) -> datetime | None:
    """When a reply to the message was committed to this portal's outbox, if one waits there."""
    entry = await asyncio.to_thread(store().by_message, message_id)
    return entry.created_at if entry is not None else None


async def may_upload(client_token: str) -> bool:
    """Whether the session of this client token holds a verified, open reply link."""
    found = await asyncio.to_thread(link_sessions().message_of, client_token, clock.now())
    return found is not None


@lru_cache(maxsize=1)
def store() -> PortalStore:
    portal_store = PortalStore(settings().effective_database_url)
    portal_store.create_all()
    return portal_store


# The case-service clients of this process, one per event loop (a connection belongs to the loop
# it was opened on) and per configuration (settings read anew, e.g. in tests, get their own).
_case_services: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, float], CaseServiceClient]]
_case_services = weakref.WeakKeyDictionary()


def case_service() -> CaseServiceClient:
    """The process's client of the case service, lent; use as ``async with case_service() as
    client``. Leaving the block keeps its connections open for the next request: a link opening
    and every step then reuse a connection instead of opening one (call it inside the event loop
    that uses the client)."""
    s = settings()
    config = (s.case_service_url, s.case_service_key.get_secret_value(), s.request_timeout_seconds)
    clients = _case_services.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(config)
    if client is None or client.closed:
        client = clients[config] = CaseServiceClient(config[0], config[1], timeout=config[2])
    return client.lend()


async def close_case_service() -> None:
    """Closes this event loop's case-service clients (their pooled connections)."""
    clients = _case_services.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.aclose()


@contextlib.asynccontextmanager
async def case_service_lifespan() -> AsyncIterator[None]:
    """The backend's connections to the case service are closed when it stops."""
    try:
        yield
    finally:
        await close_case_service()


async def store_answers() -> None:
    """The readiness check of the portal's store."""
    await asyncio.to_thread(store().check)


async def receipt_fonts_installed() -> None:
    """The readiness check of the receipt's fonts: without them every submission is refused."""
    missing = receipt_pdf.missing_fonts(settings().receipt_fonts_dir)
    if missing:
        raise RuntimeError(f"{len(missing)} font files of the receipt are missing")


async def case_service_answers() -> None:
    """The readiness check of the case service."""
    async with case_service() as client:
        await client.check_health()


async def redis_answers() -> None:
    """The readiness check of Reflex's Redis: a PING on a connection of its own (the health
    endpoint's timeout bounds it, as every check)."""
    client = redis.asyncio.Redis.from_url(settings().reflex_redis_url.get_secret_value())
    try:
        # redis-py types its commands for its sync and async clients at once (``bool | Awaitable``).
        await cast(Awaitable[bool], client.ping())
    finally:
        await client.aclose()


def readiness_checks() -> dict[str, Callable[[], Awaitable[None]]]:
    """What ``/health/ready`` checks: the store, Redis when Reflex keeps the sessions there, the
    receipt's fonts, the case service."""
    checks: dict[str, Callable[[], Awaitable[None]]] = {"store": store_answers}
    if settings().reflex_redis_url.get_secret_value():
        checks["redis"] = redis_answers
    checks["receipt_fonts"] = receipt_fonts_installed
    checks["case_service"] = case_service_answers
    return checks


def retry_policy() -> RetryPolicy:
    """How the delivery loop polls the outbox and spaces the tries of a reply."""
    s = settings()
    return RetryPolicy(
        initial_seconds=s.delivery_retry_initial_seconds,
        max_seconds=s.delivery_retry_max_seconds,
        poll_seconds=s.delivery_poll_seconds,
        lease_seconds=s.delivery_lease_seconds,
    )


@lru_cache(maxsize=1)
def scanner() -> Callable[[Path], None] | None:
    """The malware scanner when clamd is configured; None scans nothing."""
    s = settings()
    return make_scanner(s.clamd_address, s.clamd_timeout_seconds)


def limits() -> Limits:
    s = settings()
    return Limits(
        max_file_bytes=s.max_file_bytes,
        max_files_per_item=s.max_files_per_item,
        max_files_per_reply=s.max_files_per_reply,
        max_reply_bytes=s.max_reply_bytes,
        max_pdf_content_bytes=s.max_pdf_content_bytes,
        sandbox_memory_bytes=s.sandbox_memory_mb * MIB,
        sandbox_seconds=s.sandbox_seconds,
        sandbox_jobs=s.sandbox_jobs,
    )


def files_dir() -> Path:
    return settings().files_dir
