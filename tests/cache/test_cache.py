"""Response caches (polyvox.cache): one behaviour suite run on memory, SQLite and Redis.

Redis runs for real against ``POLYVOX_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``),
each test under its own key prefix, removed afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from polyvox.cache import (
    CACHE_HIT_KEY,
    CacheStats,
    InMemoryResponseCache,
    RedisResponseCache,
    ResponseCache,
    SQLiteResponseCache,
)
from polyvox.cache.common import cache_key, decode, encode
from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator

# langchain-core flags ``loads`` (which the caches revive payloads with) as beta, once a process.
pytestmark = pytest.mark.filterwarnings("ignore:The function `loads` is in beta")

REDIS_URL = os.environ.get("POLYVOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LLM = "model=m temperature=0"
Factory = Callable[..., ResponseCache]


def require_redis() -> None:
    """Fail (not skip) when the Redis server the tests need is down."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.fail(
            f"Redis at {REDIS_URL} is unreachable ({exc}): start it or set POLYVOX_TEST_REDIS_URL"
        )
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    require_redis()
    prefix = f"polyvox-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        if keys := list(client.scan_iter(match=prefix + "*")):
            client.delete(*keys)
    finally:
        client.close()


def _factory(request: pytest.FixtureRequest, kind: str, tmp_path: Any) -> Iterator[Factory]:
    made: list[ResponseCache] = []
    prefix = request.getfixturevalue("redis_prefix") if kind == "redis" else ""

    def make(**kwargs: Any) -> ResponseCache:
        cache: ResponseCache
        if kind == "memory":
            kwargs.pop("compress", None)
            cache = InMemoryResponseCache(**{"max_size": None, **kwargs})
        elif kind == "sqlite":
            cache = SQLiteResponseCache(tmp_path / "cache.sqlite3", **kwargs)
        else:
            cache = RedisResponseCache(REDIS_URL, prefix=prefix, fail_open=False, **kwargs)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        if isinstance(cache, SQLiteResponseCache | RedisResponseCache):
            cache.close()


BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
STORES = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def make_cache(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Factory]:
    yield from _factory(request, request.param, tmp_path)


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Factory]:
    """Only the backends that serialise (and so can compress)."""
    yield from _factory(request, request.param, tmp_path)


def answer(text: str = "Paris.") -> list[Generation]:
    message = AIMessage(
        content=text,
        response_metadata={"model_name": "m", "model_provider": "openai"},
        usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "call_1"}],
    )
    return [ChatGeneration(message=message, generation_info={"finish_reason": "stop"})]


def text_of(value: Any) -> str:
    assert isinstance(value, list)
    return str(value[0].text)


# ---- every backend ----------------------------------------------------------------------


def test_miss_then_hit_with_stats(make_cache: Factory) -> None:
    cache = make_cache()
    assert cache.lookup("capital of France?", LLM) is None
    cache.update("capital of France?", LLM, answer())
    assert text_of(cache.lookup("capital of France?", LLM)) == "Paris."
    assert cache.lookup("capital of France?", "model=other") is None
    assert cache.stats == CacheStats(hits=1, misses=2, hit_rate=1 / 3, size=1, evictions=0)
    cache.reset_stats()
    assert cache.stats == CacheStats(hits=0, misses=0, hit_rate=0.0, size=1, evictions=0)


def test_a_hit_is_a_marked_copy_and_the_stored_value_stays_clean(make_cache: Factory) -> None:
    cache = make_cache()
    original = answer()
    cache.update("q", LLM, original)
    first = cache.lookup("q", LLM)
    assert isinstance(first, list)  # LangChain treats only a list as a hit
    hit = first[0]
    assert isinstance(hit, ChatGeneration)
    assert hit.message.response_metadata[CACHE_HIT_KEY] is True
    assert hit.generation_info == {"finish_reason": "stop", CACHE_HIT_KEY: True}
    assert hit.message.response_metadata["model_name"] == "m"
    assert isinstance(hit.message, AIMessage)
    assert hit.message.usage_metadata == original[0].message.usage_metadata  # type: ignore[attr-defined]
    assert hit.message.tool_calls[0]["args"] == {"q": "x"}
    # neither the caller's value nor the stored one is marked or shared
    assert CACHE_HIT_KEY not in original[0].message.response_metadata  # type: ignore[attr-defined]
    hit.message.response_metadata["tampered"] = True
    hit.message.tool_calls[0]["args"]["q"] = "changed"
    again = cache.lookup("q", LLM)
    assert again is not None
    assert "tampered" not in again[0].message.response_metadata  # type: ignore[attr-defined]
    assert again[0].message.tool_calls[0]["args"] == {"q": "x"}  # type: ignore[attr-defined]


def test_plain_generations_for_text_llms(make_cache: Factory) -> None:
    cache = make_cache()
    cache.update("p", LLM, [Generation(text="one"), Generation(text="two")])
    hit = cache.lookup("p", LLM)
    assert hit is not None
    assert [g.text for g in hit] == ["one", "two"]
    assert all(type(g) is Generation and g.generation_info == {CACHE_HIT_KEY: True} for g in hit)


def test_ttl_expiry(make_cache: Factory) -> None:
    cache = make_cache(ttl=0.25)
    cache.update("q", LLM, answer())
    assert cache.lookup("q", LLM) is not None
    time.sleep(0.35)
    assert cache.lookup("q", LLM) is None
    assert cache.stats.size == 0


def test_max_size_evicts_the_least_recently_used(make_cache: Factory) -> None:
    cache = make_cache(max_size=2)
    cache.update("a", LLM, answer("A"))
    cache.update("b", LLM, answer("B"))
    assert cache.lookup("a", LLM) is not None  # "b" is now the least recently used
    cache.update("c", LLM, answer("C"))
    assert cache.lookup("b", LLM) is None
    assert text_of(cache.lookup("a", LLM)) == "A"
    assert text_of(cache.lookup("c", LLM)) == "C"
    stats = cache.stats
    assert (stats.size, stats.evictions) == (2, 1)
    cache.update("c", LLM, answer("C2"))  # overwriting is not growing
    assert cache.stats.evictions == 1
    assert text_of(cache.lookup("c", LLM)) == "C2"


def test_clear(make_cache: Factory) -> None:
    cache = make_cache()
    for i in range(5):
        cache.update(f"q{i}", LLM, answer())
    assert cache.stats.size == 5
    cache.clear()
    assert cache.stats.size == 0
    assert cache.lookup("q0", LLM) is None


async def test_async_methods(make_cache: Factory) -> None:
    cache = make_cache(max_size=2)
    try:
        assert await cache.alookup("q", LLM) is None
        await cache.aupdate("q", LLM, answer("async"))
        hit = await cache.alookup("q", LLM)
        assert text_of(hit) == "async"
        assert hit[0].message.response_metadata[CACHE_HIT_KEY] is True  # type: ignore[index,union-attr]
        for name in ("x", "y"):
            await cache.aupdate(name, LLM, answer())
        assert await cache.alookup("q", LLM) is None  # evicted
        assert cache.stats.evictions == 1
        await cache.aclear()
        assert await cache.alookup("x", LLM) is None
        assert cache.stats.size == 0
    finally:
        if isinstance(cache, RedisResponseCache):
            assert (await cache.astats()).hits == 1
            await cache.aclose()


def test_many_threads_updating_and_looking_up(make_cache: Factory) -> None:
    cache = make_cache(max_size=8)
    errors: list[BaseException] = []
    lookups = 16 * 40

    def work(worker: int) -> None:
        try:
            for i in range(40):
                key = f"q{(worker + i) % 12}"
                if cache.lookup(key, LLM) is None:
                    cache.update(key, LLM, answer(key))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = cache.stats
    assert stats.hits + stats.misses == lookups
    assert stats.hits > 0
    assert stats.size <= 8
    for n in range(12):  # whatever survived is intact
        if (hit := cache.lookup(f"q{n}", LLM)) is not None:
            assert text_of(hit) == f"q{n}"


def test_limits_are_validated(make_cache: Factory) -> None:
    with pytest.raises(ValueError, match="ttl"):
        make_cache(ttl=0)
    with pytest.raises(ValueError, match="max_size"):
        make_cache(max_size=0)


# ---- serialising backends ---------------------------------------------------------------


def test_compression_round_trip_and_smaller_payloads(make_store: Factory) -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * 400
    plain = make_store()
    packed = make_store(compress=True, compress_threshold=256)
    plain.update("plain", LLM, answer(long_text))
    packed.update("packed", LLM, answer(long_text))
    packed.update("short", LLM, answer("tiny"))  # below the threshold: stored as is
    assert text_of(packed.lookup("packed", LLM)) == long_text
    assert text_of(plain.lookup("packed", LLM)) == long_text  # any instance reads either form
    assert text_of(packed.lookup("short", LLM)) == "tiny"
    sizes = {name: stored_size(packed, name) for name in ("plain", "packed")}
    assert sizes["packed"] * 5 < sizes["plain"]


def stored_size(cache: ResponseCache, prompt: str) -> int:
    key = cache_key(prompt, LLM)
    if isinstance(cache, SQLiteResponseCache):
        with sqlite3.connect(cache.path) as conn:
            row = conn.execute(
                "SELECT length(value) FROM polyvox_response_cache WHERE key = ?", (key,)
            ).fetchone()
        return int(row[0])
    assert isinstance(cache, RedisResponseCache)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.strlen(cache.prefix + key))
    finally:
        client.close()


def test_entries_are_shared_between_instances(make_store: Factory) -> None:
    writer, reader = make_store(), make_store()
    writer.update("q", LLM, answer("shared"))
    assert text_of(reader.lookup("q", LLM)) == "shared"
    assert reader.stats.size == 1


def test_an_unreadable_entry_is_a_miss(make_store: Factory, caplog: Any) -> None:
    cache = make_store()
    cache.update("q", LLM, answer())
    key = cache_key("q", LLM)
    if isinstance(cache, SQLiteResponseCache):
        with sqlite3.connect(cache.path) as conn:
            conn.execute("UPDATE polyvox_response_cache SET value = ?", (b"zgarbage",))
    else:
        assert isinstance(cache, RedisResponseCache)
        client = redis.Redis.from_url(REDIS_URL)
        client.set(cache.prefix + key, b'j[{"lc": 1, "type": "constructor", "id": ["os"]}]')
        client.close()
    assert cache.lookup("q", LLM) is None
    assert "unreadable" in caplog.text
    assert cache.stats.size == 0  # dropped


# ---- shared pieces ----------------------------------------------------------------------


def test_keys_do_not_collide_by_concatenation() -> None:
    assert cache_key("bc", "a") != cache_key("c", "ab")
    assert len(cache_key("p", "l")) == 64


def test_payloads_revive_only_generations_and_ai_messages() -> None:
    assert decode(encode(answer("x")))[0].text == "x"
    from langchain_core.load import dumps
    from langchain_core.prompts import PromptTemplate

    with pytest.raises(ValueError, match="unreadable"):
        decode(b"j" + dumps(PromptTemplate.from_template("{x}")).encode())
    with pytest.raises(ValueError, match="format"):
        decode(b"?{}")


def test_sqlite_specifics(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="InMemoryResponseCache"):
        SQLiteResponseCache(":memory:")
    monkeypatch.setenv("POLYVOX_CACHE_PATH", str(tmp_path / "sub" / "env.sqlite3"))
    cache = SQLiteResponseCache()
    assert cache.path == tmp_path / "sub" / "env.sqlite3"
    cache.update("q", LLM, answer())
    cache.close()  # a later call reconnects
    assert cache.lookup("q", LLM) is not None
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cache.close()
    assert SQLiteResponseCache(cache.path).lookup("q", LLM) is not None  # it persists


def test_memory_cache_default_size() -> None:
    cache = InMemoryResponseCache()
    assert cache.max_size == 1000
    assert cache.ttl is None


# ---- end to end through LangChain -------------------------------------------------------


class _Ends(BaseCallbackHandler):
    """What a cost handler sees: the result passed to on_llm_end."""

    def __init__(self) -> None:
        self.flags: list[bool] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        assert isinstance(generation, ChatGeneration)
        self.flags.append(bool(generation.message.response_metadata.get(CACHE_HIT_KEY)))


def test_global_cache_serves_the_second_identical_call(emulator: Emulator) -> None:
    cache = InMemoryResponseCache()
    ends = _Ends()
    set_llm_cache(cache)
    try:
        model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url)
        first = model.invoke("Hello, cache!", config={"callbacks": [ends]})
        second = model.invoke("Hello, cache!", config={"callbacks": [ends]})
        assert len(emulator.requests) == 1
        assert second.content == first.content
        assert CACHE_HIT_KEY not in first.response_metadata
        assert second.response_metadata[CACHE_HIT_KEY] is True
        assert ends.flags == [False, True]  # the callback sees the mark, so it records cost 0
        assert cache.stats.hits == 1
        uncached = ChatOpenAI(
            model="m", api_key="k", base_url=emulator.openai_base_url, cache=False
        )
        bypassed = uncached.invoke("Hello, cache!")
        assert len(emulator.requests) == 2
        assert CACHE_HIT_KEY not in bypassed.response_metadata
        assert cache.stats.hits == 1
    finally:
        set_llm_cache(None)


def test_cache_passed_to_the_model(emulator: Emulator, tmp_path: Any) -> None:
    cache = SQLiteResponseCache(tmp_path / "model.sqlite3", compress=True)
    model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url, cache=cache)
    model.invoke("Once.")
    assert model.invoke("Once.").response_metadata[CACHE_HIT_KEY] is True
    assert len(emulator.requests) == 1
    other = ChatOpenAI(model="m2", api_key="k", base_url=emulator.openai_base_url, cache=cache)
    other.invoke("Once.")  # another model is another key
    assert len(emulator.requests) == 2
    cache.close()


@pytest.mark.redis
async def test_async_invoke_through_redis(emulator: Emulator, redis_prefix: str) -> None:
    cache = RedisResponseCache(REDIS_URL, prefix=redis_prefix, fail_open=False)
    set_llm_cache(cache)
    try:
        model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url)
        first = await model.ainvoke("Hello, Redis!")
        second = await model.ainvoke("Hello, Redis!")
        assert len(emulator.requests) == 1
        assert second.content == first.content
        assert second.response_metadata[CACHE_HIT_KEY] is True
        assert (await cache.astats()).hits == 1
    finally:
        set_llm_cache(None)
        await cache.aclose()
