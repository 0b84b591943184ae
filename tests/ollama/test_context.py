"""The module-level cache of context lengths (``polyvox.ollama.context``)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.exceptions import ContextOverflowError, ModelNotFoundError

from polyvox.ollama import ChatOllama
from polyvox.ollama.context import (
    acontext_window,
    clear_context_windows,
    context_window,
)
from polyvox.testing import Emulator


def _shows(emulator: Emulator) -> int:
    return len([r for r in emulator.requests if r.path == "/api/show"])


def test_instances_share_the_cache(emulator: Emulator) -> None:
    first = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, temperature=0)
    second = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, seed=7)
    assert context_window(first, "llama3.2") == 131072
    assert _shows(emulator) == 1
    assert context_window(second, "llama3.2") == 131072
    second.invoke("hi")
    assert _shows(emulator) == 1, "the second instance asked nothing: the entry is shared"


async def test_async_lookups_share_the_cache_with_sync_ones(emulator: Emulator) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)
    assert await acontext_window(model, "llama3.2") == 131072
    other = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)
    assert context_window(other, "llama3.2") == 131072
    await other.ainvoke("hi")
    assert _shows(emulator) == 1


def test_the_key_is_host_and_model(emulator: Emulator) -> None:
    emulator.ollama_models.add("gemma3:4b", context_length=65536)
    local = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)
    by_name = ChatOllama(
        model="llama3.2", base_url=emulator.ollama_url.replace("127.0.0.1", "localhost")
    )
    assert context_window(local, "llama3.2") == 131072
    assert context_window(local, "gemma3:4b") == 65536
    assert context_window(by_name, "llama3.2") == 131072
    assert _shows(emulator) == 3


def test_clearing_makes_the_next_call_ask_again(emulator: Emulator) -> None:
    emulator.ollama_models.add("gemma3:4b", context_length=65536)
    model = ChatOllama(model="gemma3:4b", base_url=emulator.ollama_url)
    long = "word " * 30_000  # 150,000 characters: 37,500 to 50,000 tokens
    model.invoke(long)
    emulator.ollama_models.add("gemma3:4b", context_length=32768)  # replaced on the server
    model.invoke(long)
    assert _shows(emulator) == 1
    clear_context_windows()
    with pytest.raises(ContextOverflowError):  # ~37K tokens at least: it fits no more
        model.invoke(long)
    model.invoke("hi")
    assert _shows(emulator) == 2
    chats = [r.json for r in emulator.requests if r.path == "/api/chat"]
    # The server cut the second request's 65,536 to the new model's 32,768 and has it
    # loaded so: after clearing, "hi" reuses that window rather than reloading at 8,192.
    assert [c["options"]["num_ctx"] for c in chats if isinstance(c, dict)] == [
        65536,
        65536,
        32768,
    ]


def test_concurrent_first_calls_of_threads_share_one_show(emulator: Emulator) -> None:
    models = [ChatOllama(model="llama3.2", base_url=emulator.ollama_url) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        lengths = list(pool.map(lambda m: context_window(m, "llama3.2"), models))
    assert lengths == [131072] * 8
    assert _shows(emulator) == 1


async def test_concurrent_first_calls_of_tasks_share_one_show(emulator: Emulator) -> None:
    models = [ChatOllama(model="llama3.2", base_url=emulator.ollama_url) for _ in range(8)]
    lengths = await asyncio.gather(*(acontext_window(m, "llama3.2") for m in models))
    assert lengths == [131072] * 8
    assert _shows(emulator) == 1


def test_a_failed_lookup_is_not_kept(emulator: Emulator) -> None:
    model = ChatOllama(model="phi4", base_url=emulator.ollama_url, max_retries=0)
    with pytest.raises(ModelNotFoundError, match="ollama pull phi4"):
        context_window(model, "phi4")
    model.pull()
    assert context_window(model, "phi4")


async def test_a_cancelled_first_lookup_lets_the_waiting_tasks_fetch() -> None:
    from polyvox.ollama.context import _Lookups

    lookups: _Lookups[str, int] = _Lookups()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()  # the first fetch hangs until cancelled
        return 42

    first = asyncio.create_task(lookups.aget("k", fetch))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(lookups.aget("k", fetch)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    assert await asyncio.gather(*waiters) == [42, 42, 42], "not cancelled themselves"
    assert first.cancelled()
    assert calls == 2, "one waiter fetched again; the others shared its fetch"


async def test_a_failed_first_lookup_fails_its_waiters_and_is_not_kept() -> None:
    from polyvox.ollama.context import _Lookups

    lookups: _Lookups[str, int] = _Lookups()
    gate = asyncio.Event()

    async def broken() -> int:
        await gate.wait()
        raise RuntimeError("down")

    tasks = [asyncio.create_task(lookups.aget("k", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def fine() -> int:
        return 7

    assert await lookups.aget("k", fine) == 7
