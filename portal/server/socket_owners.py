"""A browser whose backend died keeps its session on the next backend.

With Reflex's Redis state manager every backend records in Redis which instance holds a tab's
websocket (``token_manager_socket_record_<client token>``). Reflex 0.10's ``RedisTokenManager``
takes an existing record as a second tab of the same browser and gives the reconnecting tab a
new, empty session. A backend that stops cleanly deletes its records, but one that is killed
(OOM, a crash, a lost machine) leaves them for the token expiry (an hour): every applicant it
served would reconnect to another backend and find their session gone.

So each backend holds a subscription to a Redis channel named after its instance for as long as
it runs (:func:`socket_owner_lifespan`). Redis drops a subscription the moment its connection
closes, and the kernel closes a killed process's connections, so ``PUBSUB NUMSUB`` on that
channel tells at once whether the owner of a record is alive. A record of a dead owner is
removed before Reflex looks (:class:`LivenessTokenManager`), and the tab reconnects to its own
session: the state is in Redis, and the draft in the portal's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from collections.abc import AsyncIterator
from typing import Any

from reflex.utils.token_manager import RedisTokenManager

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "portal_socket_owner_"
# How often the holder checks that its instance id is still the token manager's: Reflex gives a
# worker a fresh id when its event processor starts, which may be after this task started.
RECHECK_SECONDS = 1.0


def channel(instance_id: str) -> str:
    return f"{CHANNEL_PREFIX}{instance_id}"


class LivenessTokenManager(RedisTokenManager):
    """Reflex's Redis token manager, minus the records of instances that are gone."""

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        with contextlib.suppress(Exception):  # Redis trouble: Reflex's own handling applies
            await self._forget_dead_owner(token)
        return await super().link_token_to_sid(token, sid)

    async def _forget_dead_owner(self, token: str) -> None:
        key = self._get_redis_key(token)
        raw = await self.redis.get(key)
        if not raw:
            return
        record = pickle.loads(raw)  # noqa: S301 - written by Reflex into our own Redis
        owner = str(getattr(record, "instance_id", ""))
        if not owner or owner == self.instance_id:
            return
        counts = await self.redis.pubsub_numsub(channel(owner))
        if any(int(n) for _, n in counts):
            return  # alive: a second tab indeed
        # Only the record that was read: a live instance may have claimed the token meanwhile.
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if await pipe.get(key) == raw:
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                pipe.delete(key)
                await pipe.execute()
                log.info("a reconnecting tab takes over its session from a backend that is gone")


def install(event_namespace: Any) -> RedisTokenManager | None:
    """Makes the namespace's Redis token manager check liveness; None without Redis."""
    manager = getattr(event_namespace, "_token_manager", None)
    if not isinstance(manager, RedisTokenManager):
        return None
    if not isinstance(manager, LivenessTokenManager):
        # Reflex creates the manager inside its event namespace and offers no way to pass one in;
        # the subclass adds a method override and no state, so the existing object is re-classed.
        manager.__class__ = LivenessTokenManager
    return manager


@contextlib.asynccontextmanager
async def socket_owner_lifespan(app: Any) -> AsyncIterator[None]:
    """For as long as the backend runs: subscribed to its instance's channel (with Redis only)."""
    manager = install(getattr(app, "event_namespace", None))
    if manager is None:
        yield
        return
    task = asyncio.create_task(_hold(manager))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _hold(manager: RedisTokenManager) -> None:
    while True:
        try:
            async with manager.redis.pubsub() as pubsub:
                held = manager.instance_id
                await pubsub.subscribe(channel(held))
                while manager.instance_id == held:
                    # Reading keeps the connection serviced; nothing is ever published here.
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=RECHECK_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not hold the socket owner's subscription; trying again")
            await asyncio.sleep(RECHECK_SECONDS)
