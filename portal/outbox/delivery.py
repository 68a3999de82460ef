"""Drains the outbox: hands each committed reply to the case service, at least once, and thanks to
its idempotency key exactly once as the authority sees it.

- delivered: the entry is marked, its files are deleted from disk (the case service has them now);
- case service unavailable: retried with exponential backoff and jitter, files kept;
- refused for good (link answered by someone else, expired, revoked, reply rejected, files gone):
  marked rejected with the code and the files kept, for an operator to look at. The applicant was
  told "received", so this must never pass quietly: one ERROR line and a counter per refusal, the
  staff list shows it (``staff_status``), and retention keeps the files (``HOLDS_FILES``).

Log lines name the outbox reference, the message id and codes only: never a token, a name or
reply content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.client import CaseServiceClient
from portal.domain import clock
from portal.domain.errors import CaseServiceUnavailable, LinkAnswered, LinkError, ReplyRejected
from portal.metrics import METRICS, PortalMetrics
from portal.outbox.entries import OutboxEntry
from portal.outbox.store import PortalStore
from portal.storage import FileStorage

log = logging.getLogger(__name__)

# Replies claimed by one round; the loop runs again at once while rounds come back full.
BATCH_SIZE = 20
JITTER = 0.1
# What a code may look like in our log and database; the case service's own codes are its input.
SAFE_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often the loop looks for due replies, and how long a reply waits after a failed try."""

    initial_seconds: float  # the wait after the first failed try; doubles with each next one
    max_seconds: float  # the longest wait between two tries
    poll_seconds: float  # the loop's pause between rounds when nothing is due
    # How long a claimed reply is held for this worker. Short, so a worker that dies (a crash, a
    # killed process) leaves its replies to another within seconds; renewed every third of it
    # while the worker delivers, so a slow upload of a large reply keeps its claim.
    lease_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one round did, by outbox reference."""

    delivered: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.rejected)


@dataclass(slots=True)
class _Tally:
    delivered: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def report(self) -> DeliveryReport:
        return DeliveryReport(tuple(self.delivered), tuple(self.retried), tuple(self.rejected))


def backoff_seconds(attempts: int, policy: RetryPolicy) -> float:
    """Delay before the next try after ``attempts`` failed ones: initial·2^(n-1), capped, +≤10 %."""
    exponent = min(max(attempts - 1, 0), 32)
    base = min(policy.initial_seconds * 2.0**exponent, policy.max_seconds)
    # Jitter spreads the retries of many entries (and portal instances) after an outage.
    return base * (1.0 + random.uniform(0.0, JITTER))  # noqa: S311 - not security relevant


async def deliver_due(
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    policy: RetryPolicy,
    now: datetime | None = None,
    counters: PortalMetrics | None = None,
) -> DeliveryReport:
    """Claim the due outbox entries and try each once; ``counters`` defaults to the process's
    (``portal.metrics``; portal-wide figures come from the database, ``PortalStore.stats``)."""
    now = now or clock.now()
    counters = METRICS if counters is None else counters
    entries = await asyncio.to_thread(store.claim_due, now, policy.lease_seconds, BATCH_SIZE)
    tally = _Tally()
    if not entries:  # the usual poll: nothing due, no lease to keep
        return tally.report()
    held = {entry.id for entry in entries}
    renewing = asyncio.create_task(_renew_leases(store, held, policy.lease_seconds))
    try:
        for index, entry in enumerate(entries):
            try:
                await _deliver_one(store, files, client, policy, entry, now, tally, counters)
            except CaseServiceUnavailable:
                # The service is down: the rest of this batch would only wait for the same timeouts.
                for rest in entries[index:]:
                    await _retry(store, policy, rest, CaseServiceUnavailable.code, now)
                    tally.retried.append(rest.reference)
                break
            finally:
                held.discard(entry.id)
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
    return tally.report()


async def _renew_leases(store: PortalStore, held: set[int], lease_seconds: float) -> None:
    """Keeps this worker's claim on the replies of its batch that are not done yet."""
    while True:
        await asyncio.sleep(lease_seconds / 3)
        if held:
            until = clock.now() + timedelta(seconds=lease_seconds)
            try:
                await asyncio.to_thread(store.renew_leases, sorted(held), until)
            except Exception:
                # A missed renewal costs at most a second try by another worker, which the
                # idempotency key turns into the same reply; it must not stop this delivery.
                log.warning("could not renew the outbox leases of this worker")


async def _deliver_one(
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    policy: RetryPolicy,
    entry: OutboxEntry,
    now: datetime,
    tally: _Tally,
    counters: PortalMetrics,
) -> None:
    counters.delivery_attempts.inc()
    try:
        delivery = await client.deliver_reply(entry.message_id, entry.held_reply(), entry.idempotency_key, files)
    except CaseServiceUnavailable:
        counters.delivery_failures.labels(reason="unavailable").inc()
        log.info("outbox %s: case service unavailable, will retry", entry.reference)
        raise
    except LinkAnswered:
        # An idempotent replay of our own delivery answers 201; 409 means the message was answered
        # from elsewhere. The applicant's reply is not lost: files stay for an operator.
        await _reject(store, entry, LinkAnswered.code, tally, counters)
    except ReplyRejected as exc:
        await _reject(store, entry, exc.server_code, tally, counters)
    except LinkError as exc:
        await _reject(store, entry, exc.code, tally, counters)
    except OSError:
        # A file of the reply has gone from the file storage: retrying cannot bring it back.
        await _reject(store, entry, "files_missing", tally, counters)
    except Exception as exc:
        # A bug of ours must not lose the reply nor stop the loop; retry with backoff.
        counters.delivery_failures.labels(reason="internal").inc()
        log.error("outbox %s: unexpected %s while delivering", entry.reference, type(exc).__name__)
        await _retry(store, policy, entry, "internal", now)
        tally.retried.append(entry.reference)
    else:
        await asyncio.to_thread(store.mark_delivered, entry.id, delivery.reply_id, delivery.received_at)
        # The case service has the files now: the portal keeps no copy.
        await asyncio.to_thread(files.delete, [f.stored_as for f in entry.held_reply().attached])
        counters.delivered.inc()
        log.info("outbox %s: delivered", entry.reference)
        tally.delivered.append(entry.reference)


async def _retry(store: PortalStore, policy: RetryPolicy, entry: OutboxEntry, code: str, now: datetime) -> None:
    next_at = now + timedelta(seconds=backoff_seconds(entry.attempts, policy))
    await asyncio.to_thread(store.mark_retry, entry.id, code, next_at)


async def _reject(store: PortalStore, entry: OutboxEntry, code: str, tally: _Tally, counters: PortalMetrics) -> None:
    # The case service's code is its input to our log: anything unexpected is replaced.
    code = code if SAFE_CODE.fullmatch(code) else "unrecognised_code"
    await asyncio.to_thread(store.mark_rejected, entry.id, code)
    counters.rejected.inc()
    # The applicant was told "received": an operator must act. Alert on this line (or the metrics).
    log.error(
        "outbox %s: reply refused for good (message=%s code=%s); kept with its files for an operator",
        entry.reference,
        entry.message_id,
        code,
    )
    tally.rejected.append(entry.reference)


# ---------------------------------------------------------------- the background loop

_wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def kick() -> None:
    """Wake every delivery loop of this process now (e.g. right after a submission was enqueued).

    Safe to call from any thread. Loops in other processes pick the entry up at their next poll.
    """
    try:
        current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for loop, event in list(_wakers):
        if loop is current:
            event.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


async def run_delivery_loop(
    store: PortalStore,
    files: FileStorage,
    client_factory: Callable[[], CaseServiceClient],
    policy: RetryPolicy,
    stop: asyncio.Event,
    wake: asyncio.Event | None = None,
) -> None:
    """Deliver due replies every ``policy.poll_seconds`` until ``stop`` is set.

    ``wake`` (or the module's ``kick()``) starts the next round at once.
    """
    wake = wake or asyncio.Event()
    waker = (asyncio.get_running_loop(), wake)
    _wakers.add(waker)
    try:
        async with client_factory() as client:
            while not stop.is_set():
                wake.clear()
                report = DeliveryReport()
                try:
                    report = await deliver_due(store, files, client, policy)
                except Exception as exc:
                    # E.g. the database is briefly unreachable: log and try again next round.
                    log.error("delivery round failed: %s", type(exc).__name__)
                if report.claimed >= BATCH_SIZE and not report.retried:
                    continue  # more may be due right now
                await _sleep(stop, wake, policy.poll_seconds)
    finally:
        _wakers.discard(waker)


async def _sleep(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
