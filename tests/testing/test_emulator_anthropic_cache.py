"""The emulator's Anthropic prompt cache on its own: prefixes, lifetimes, minimums, limits."""

from __future__ import annotations

from typing import Any

import pytest

from polyvox.testing.emulator.anthropic_cache import (
    CacheBreakpointError,
    CacheUse,
    PromptCache,
    minimum_tokens,
)

LONG = " ".join(f"word{i}" for i in range(5000))  # 5,000 tokens as the emulator counts
MODEL = "claude-sonnet-4-5"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _request(question: str, ttl: str | None = None, model: str = MODEL) -> dict[str, Any]:
    mark: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        mark["ttl"] = ttl
    return {
        "model": model,
        "max_tokens": 100,
        "system": [{"type": "text", "text": LONG, "cache_control": mark}],
        "messages": [{"role": "user", "content": question}],
    }


def test_first_request_writes_the_next_reads() -> None:
    cache = PromptCache(Clock())
    first = cache.use(_request("one?"))
    assert first == CacheUse(read=0, written_5m=5000, written_1h=0)
    assert cache.use(_request("two?")) == CacheUse(read=5000)


def test_no_breakpoint_no_cache() -> None:
    body = _request("one?")
    del body["system"][0]["cache_control"]
    assert PromptCache().use(body) is None


def test_another_model_does_not_share_the_entry() -> None:
    cache = PromptCache(Clock())
    cache.use(_request("one?"))
    assert cache.use(_request("one?", model="claude-opus-4-1")).read == 0


def test_entries_expire_after_their_ttl_and_each_use_refreshes_them() -> None:
    clock = Clock()
    cache = PromptCache(clock)
    cache.use(_request("q"))
    clock.now += 250
    assert cache.use(_request("q")).read == 5000  # refreshed: 5 minutes from now
    clock.now += 250
    assert cache.use(_request("q")).read == 5000
    clock.now += 301
    assert cache.use(_request("q")) == CacheUse(written_5m=5000)


def test_one_hour_entries_outlive_five_minutes() -> None:
    clock = Clock()
    cache = PromptCache(clock)
    assert cache.use(_request("q", ttl="1h")) == CacheUse(written_1h=5000)
    clock.now += 1800
    assert cache.use(_request("q", ttl="1h")).read == 5000


def test_a_growing_conversation_reads_the_earlier_prefix() -> None:
    cache = PromptCache(Clock())
    turn = [{"role": "user", "content": [
        {"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]}]  # fmt: skip
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": turn}
    assert cache.use(body) == CacheUse(written_5m=5000)
    later = [
        {"role": "user", "content": [{"type": "text", "text": LONG}]},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": [
            {"type": "text", "text": "And then?", "cache_control": {"type": "ephemeral"}}]},
    ]  # fmt: skip
    used = cache.use({**body, "messages": later})
    assert used is not None
    assert used.read == 5000
    assert used.written_5m == 5  # "Noted." (2 tokens) and "And then?" (3)
    assert cache.use({**body, "messages": later}) == CacheUse(read=5005)


def test_automatic_caching_marks_the_last_block() -> None:
    cache = PromptCache(Clock())
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 10,
        "cache_control": {"type": "ephemeral"},
        "messages": [{"role": "user", "content": LONG}],
    }
    assert cache.use(body) == CacheUse(written_5m=5000)
    assert cache.use(body) == CacheUse(read=5000)


def test_a_prefix_under_the_model_minimum_is_not_cached() -> None:
    cache = PromptCache(Clock())
    body = _request("q", model="claude-haiku-4-5")
    body["system"][0]["text"] = " ".join(["w"] * 3000)  # under Haiku 4.5's 4,096
    assert cache.use(body) == CacheUse()
    assert cache.use(body) == CacheUse()
    assert minimum_tokens("claude-haiku-4-5-20251001") == 4096
    assert minimum_tokens("claude-sonnet-4-5") == 1024


def test_more_than_four_breakpoints_and_odd_ttls_are_refused() -> None:
    mark = {"type": "ephemeral"}
    body = {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": f"part {i}", "cache_control": mark} for i in range(5)]}],
    }  # fmt: skip
    with pytest.raises(CacheBreakpointError, match="maximum of 4 blocks with cache_control"):
        PromptCache().use(body)
    with pytest.raises(CacheBreakpointError, match="ttl"):
        PromptCache().use(_request("q", ttl="2h"))


def test_clear_forgets_everything() -> None:
    cache = PromptCache(Clock())
    cache.use(_request("q"))
    cache.clear()
    assert cache.use(_request("q")) == CacheUse(written_5m=5000)
