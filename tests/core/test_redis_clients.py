"""One set of Redis clients per server, shared by the response cache and the breaker store."""

from __future__ import annotations

import asyncio

import pytest

from polyvox.cache import RedisResponseCache
from polyvox.core.redis_clients import RedisClients, redact_url, shared_redis
from polyvox.router import RedisBreakerStore
from tests.cache.test_cache import REDIS_URL, require_redis

SCRIPT = "return 41 + tonumber(ARGV[1])"


def test_the_same_server_gets_the_same_clients() -> None:
    one = shared_redis("redis://127.0.0.1:6379/5", socket_timeout=1.0)
    assert shared_redis("redis://127.0.0.1:6379/5", socket_timeout=1) is one
    assert shared_redis("redis://127.0.0.1:6379/6", socket_timeout=1.0) is not one
    assert shared_redis("redis://127.0.0.1:6379/5", socket_timeout=2.0) is not one


def test_cache_and_breakers_share_one_sync_client() -> None:
    cache = RedisResponseCache("redis://127.0.0.1:6379/7", socket_timeout=1.5)
    store = RedisBreakerStore("redis://127.0.0.1:6379/7", socket_timeout=1.5)
    assert cache._sync_client()[0] is store._sync_client()[0]
    assert cache._sync_client()[1] is cache._sync_client()[1]


def test_changing_the_url_rebinds_to_that_servers_clients() -> None:
    cache = RedisResponseCache("redis://127.0.0.1:6379/8", socket_timeout=1.0)
    first = cache._sync_client()[0]
    cache.url = "redis://127.0.0.1:6379/9"
    assert cache._sync_client()[0] is not first
    assert cache._sync_client()[0] is shared_redis(cache.url, socket_timeout=1.0).sync()[0]


def test_scripts_run_and_disconnect_keeps_the_clients_usable() -> None:
    require_redis()
    clients = RedisClients(REDIS_URL, socket_timeout=2.0)
    client, (script,) = clients.sync([SCRIPT])
    assert script(args=[1], client=client) == 42
    clients.disconnect()
    assert clients.sync([SCRIPT])[1][0](args=[2], client=client) == 43


def test_one_async_client_per_event_loop() -> None:
    require_redis()
    clients = RedisClients(REDIS_URL, socket_timeout=2.0)

    async def use() -> tuple[object, int]:
        client, (script,) = clients.async_([SCRIPT])
        assert clients.async_([SCRIPT])[0] is client
        value = int(await script(args=[1], client=client))
        await clients.adisconnect()
        return client, value

    first, value = asyncio.run(use())
    second, _ = asyncio.run(use())
    assert value == 42
    assert first is not second  # a finished loop's connections are never reused


def test_the_password_never_shows() -> None:
    assert redact_url("redis://user:s3cret@host:6390/1") == "redis://user:***@host:6390/1"
    assert "s3cret" not in repr(RedisClients("redis://:s3cret@host/0", socket_timeout=1.0))
    assert redact_url("redis://host/0") == "redis://host/0"


def test_redis_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "polyvox-core\[redis\]"'):
        RedisClients(REDIS_URL, socket_timeout=1.0)
