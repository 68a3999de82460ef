"""A tab whose backend died keeps its token on the next backend; a second tab does not (real Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from reflex.utils.token_manager import RedisTokenManager, SocketRecord

from portal.server import socket_owners

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is not reachable ({type(exc).__name__}); the scale-out tests need it")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def _manager(redis: Redis) -> RedisTokenManager:
    manager = RedisTokenManager(redis)
    assert socket_owners.install(type("Namespace", (), {"_token_manager": manager})()) is manager
    return manager


async def _record(redis: Redis, manager: RedisTokenManager, token: str) -> SocketRecord:
    # Reflex's own record format, in the test's own Redis database.
    return pickle.loads(await redis.get(manager._get_redis_key(token)))  # noqa: S301


async def _recorded_by(redis: Redis, manager: RedisTokenManager, token: str, instance_id: str) -> None:
    await redis.set(manager._get_redis_key(token), pickle.dumps(SocketRecord(instance_id=instance_id, sid="old")))


@contextlib.asynccontextmanager
async def _running(manager: RedisTokenManager) -> AsyncIterator[None]:
    """The backend's lifespan task, holding the instance's subscription until it ends."""
    app = SimpleNamespace(event_namespace=SimpleNamespace(_token_manager=manager))
    async with socket_owners.socket_owner_lifespan(app):
        for _ in range(100):
            counts = await manager.redis.pubsub_numsub(socket_owners.channel(manager.instance_id))
            if any(n for _, n in counts):
                break
            await asyncio.sleep(0.02)
        yield


async def test_a_tab_of_a_dead_backend_keeps_its_token(redis: Redis) -> None:
    survivor = _manager(redis)
    await _recorded_by(redis, survivor, "tab-1", "killed-instance")  # nobody holds its channel
    assert await survivor.link_token_to_sid("tab-1", "new-sid") is None
    record = await _record(redis, survivor, "tab-1")
    assert (record.instance_id, record.sid) == (survivor.instance_id, "new-sid")


async def test_a_second_tab_of_a_live_backend_gets_a_token_of_its_own(redis: Redis) -> None:
    other, here = _manager(redis), _manager(redis)
    async with _running(other):
        await _recorded_by(redis, here, "tab-1", other.instance_id)
        new = await here.link_token_to_sid("tab-1", "second-sid")
    assert new is not None and new != "tab-1"
    # The first tab's record is left as it was.
    record = await _record(redis, here, "tab-1")
    assert record.instance_id == other.instance_id


async def test_the_subscription_ends_with_the_backend(redis: Redis) -> None:
    manager = _manager(redis)
    async with _running(manager):
        assert (await redis.pubsub_numsub(socket_owners.channel(manager.instance_id)))[0][1] == 1
    for _ in range(100):
        if (await redis.pubsub_numsub(socket_owners.channel(manager.instance_id)))[0][1] == 0:
            break
        await asyncio.sleep(0.02)
    assert (await redis.pubsub_numsub(socket_owners.channel(manager.instance_id)))[0][1] == 0


def test_without_redis_nothing_is_installed() -> None:
    assert socket_owners.install(object()) is None
