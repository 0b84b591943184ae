"""RedisResponseCache specifics: fail-open, the unreachable-server error, prefixes, expiries."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration

from polyvox.cache import CacheUnavailableError, RedisResponseCache
from polyvox.cache.common import cache_key
from tests.cache.test_cache import LLM, REDIS_URL, require_redis

# langchain-core flags ``loads`` (which the caches revive payloads with) as beta, once a process.
pytestmark = pytest.mark.filterwarnings("ignore:The function `loads` is in beta")

UNREACHABLE = "redis://127.0.0.1:1/0"
ANSWER = [ChatGeneration(message=AIMessage(content="hi"))]


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    require_redis()
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(server: redis.Redis) -> Iterator[str]:
    name = f"polyvox-test:{uuid.uuid4().hex}:"
    yield name
    if keys := list(server.scan_iter(match=name + "*")):
        server.delete(*keys)


def test_fail_open_treats_an_unreachable_server_as_a_miss(caplog: pytest.LogCaptureFixture) -> None:
    cache = RedisResponseCache(UNREACHABLE)
    with caplog.at_level(logging.WARNING, logger="polyvox.cache"):
        assert cache.lookup("q", LLM) is None
        cache.update("q", LLM, ANSWER)  # skipped for retry_interval: no new attempt, no error
        assert cache.lookup("q", LLM) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert UNREACHABLE in warnings[0].getMessage()
    assert cache.stats.misses == 2
    assert cache.stats.size == 0


async def test_fail_open_async(caplog: pytest.LogCaptureFixture) -> None:
    cache = RedisResponseCache(UNREACHABLE, retry_interval=0)
    with caplog.at_level(logging.WARNING, logger="polyvox.cache"):
        assert await cache.alookup("q", LLM) is None
        await cache.aupdate("q", LLM, ANSWER)
        assert (await cache.astats()).size == 0
    assert len([r for r in caplog.records if UNREACHABLE in r.getMessage()]) == 3
    await cache.aclose()


def test_fail_closed_names_the_url() -> None:
    cache = RedisResponseCache(UNREACHABLE, fail_open=False)
    with pytest.raises(CacheUnavailableError, match=r"redis://127\.0\.0\.1:1/0"):
        cache.lookup("q", LLM)
    with pytest.raises(CacheUnavailableError, match="unreachable"):
        cache.update("q", LLM, ANSWER)


async def test_fail_closed_async() -> None:
    cache = RedisResponseCache(UNREACHABLE, fail_open=False)
    with pytest.raises(CacheUnavailableError, match=r"redis://127\.0\.0\.1:1/0"):
        await cache.alookup("q", LLM)
    with pytest.raises(CacheUnavailableError):
        await cache.aupdate("q", LLM, ANSWER)
    await cache.aclose()


async def test_clear_always_raises_when_unreachable() -> None:
    cache = RedisResponseCache(UNREACHABLE)  # fail_open, yet clearing nothing must not pass
    with pytest.raises(CacheUnavailableError):
        cache.clear()
    with pytest.raises(CacheUnavailableError):
        await cache.aclear()
    await cache.aclose()


def test_the_password_never_shows() -> None:
    cache = RedisResponseCache("redis://:s3cret@127.0.0.1:1/0", fail_open=False)
    with pytest.raises(CacheUnavailableError) as info:
        cache.lookup("q", LLM)
    assert "s3cret" not in str(info.value)
    assert ":***@127.0.0.1:1/0" in str(info.value)
    assert "s3cret" not in repr(cache)


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_REDIS_URL", UNREACHABLE)
    assert RedisResponseCache().url == UNREACHABLE
    monkeypatch.delenv("POLYVOX_REDIS_URL")
    assert RedisResponseCache().url == "redis://127.0.0.1:6379/0"
    with pytest.raises(ValueError, match="prefix"):
        RedisResponseCache(prefix="")


@pytest.mark.redis
def test_entries_live_under_the_prefix_with_a_redis_expiry(
    server: redis.Redis, prefix: str
) -> None:
    cache = RedisResponseCache(REDIS_URL, prefix=prefix, ttl=60, max_size=10, fail_open=False)
    cache.update("q", LLM, ANSWER)
    key = prefix + cache_key("q", LLM)
    assert 0 < server.pttl(key) <= 60_000
    assert server.zscore(prefix + "lru", key) is not None
    cache.close()


@pytest.mark.redis
def test_clear_keeps_other_prefixes(server: redis.Redis, prefix: str) -> None:
    mine = RedisResponseCache(REDIS_URL, prefix=prefix + "mine:", fail_open=False)
    theirs = RedisResponseCache(REDIS_URL, prefix=prefix + "theirs:", fail_open=False)
    mine.update("q", LLM, ANSWER)
    theirs.update("q", LLM, ANSWER)
    mine.clear()
    assert mine.lookup("q", LLM) is None
    assert theirs.lookup("q", LLM) is not None
    assert (mine.stats.size, theirs.stats.size) == (0, 1)
    mine.close()
    theirs.close()


@pytest.mark.redis
def test_glob_characters_in_the_prefix_are_literal(server: redis.Redis, prefix: str) -> None:
    starred = RedisResponseCache(REDIS_URL, prefix=prefix + "a*", fail_open=False)
    other = RedisResponseCache(REDIS_URL, prefix=prefix + "ab", fail_open=False)
    starred.update("q", LLM, ANSWER)
    other.update("q", LLM, ANSWER)
    starred.clear()
    assert other.lookup("q", LLM) is not None
    starred.close()
    other.close()


def test_importing_the_package_does_not_import_redis() -> None:
    code = "import sys, polyvox.cache; print('redis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("fail_open", [True, False])
async def test_a_key_of_the_wrong_type_is_a_miss_for_that_key_only(
    server: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture, fail_open: bool
) -> None:
    cache = RedisResponseCache(REDIS_URL, prefix=prefix, fail_open=fail_open)
    cache.update("good", LLM, ANSWER)
    server.lpush(prefix + cache_key("bad", LLM), "another program's list")
    with caplog.at_level(logging.WARNING, logger="polyvox.costs"):
        assert cache.lookup("bad", LLM) is None
    assert "could not be read" in caplog.text
    assert "going on without it" not in caplog.text, "the cache stayed on"
    assert cache.lookup("good", LLM) is not None, "every other key still answers"
    assert not server.exists(prefix + cache_key("bad", LLM)), "the bad entry was removed"
    server.lpush(prefix + cache_key("bad-async", LLM), "x")
    assert await cache.alookup("bad-async", LLM) is None
    assert await cache.alookup("good", LLM) is not None
    cache.update("bad", LLM, ANSWER)  # the key is usable again
    assert cache.lookup("bad", LLM) is not None
    await cache.aclose()
    cache.close()
