"""Streams do not pile up on the SDK's exit stacks: a sync stream closes a client of its own,
async clients are retired after a number of streams and closed after their last call."""

from __future__ import annotations

from typing import Any

import huggingface_hub
import pytest

from polyvox.huggingface import ChatHuggingFace, HuggingFaceEndpoint, _streams
from polyvox.testing import Emulator


def _chat(emulator: Emulator) -> ChatHuggingFace:
    return ChatHuggingFace(
        model="meta-llama/Llama-3.3-70B-Instruct",
        api_key="hf_test",
        base_url=f"{emulator.url}/huggingface/router/v1",
        max_retries=0,
    )


def _count_closes(monkeypatch: pytest.MonkeyPatch, cls: type[Any]) -> list[object]:
    closed: list[object] = []
    original = cls.close

    def close(self: Any) -> Any:
        closed.append(self)
        return original(self)

    monkeypatch.setattr(cls, "close", close)
    return closed


def test_each_sync_stream_closes_its_own_client(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _count_closes(monkeypatch, huggingface_hub.InferenceClient)
    model = _chat(emulator)
    assert "".join(str(c.content) for c in model.stream("one two")) == "You said: one two"
    abandoned = model.stream("three four five")
    next(abandoned)
    abandoned.close()  # a stream left half-way still gives its response back
    llm = HuggingFaceEndpoint(endpoint_url=f"{emulator.url}/huggingface/tgi")
    assert "".join(llm.stream("six")) == "You said: six"
    assert len(closed) == 3
    assert model.client not in closed  # the shared client serves the plain calls
    assert model.invoke("seven").content == "You said: seven"


async def test_async_clients_are_retired_after_their_streams(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_streams, "STREAMS_PER_ASYNC_CLIENT", 2)
    closed = _count_closes(monkeypatch, huggingface_hub.AsyncInferenceClient)
    model = _chat(emulator)
    first = model.async_client
    for word in ("a", "b", "c", "d", "e"):
        chunks = [str(c.content) async for c in model.astream(word)]
        assert "".join(chunks) == f"You said: {word}"
    assert (await model.ainvoke("f")).content == "You said: f"
    pool = model._async_pool()
    assert pool.made == 3  # streams 1-2, 3-4, then 5 and the plain call
    assert closed[0] is first
    assert len(closed) == 2
    assert model.async_client not in closed
    await model.aclose()
    assert len(closed) == 3


async def test_a_retired_client_waits_for_its_last_call() -> None:
    class Client:
        def __init__(self) -> None:
            self.closed = False

        async def close(self) -> None:
            self.closed = True

    pool = _streams.AsyncClientPool(Client, limit=1)  # type: ignore[arg-type]
    plain = pool.acquire(stream=False)
    streamed = pool.acquire(stream=True)  # the first stream retires the client
    assert streamed is plain
    fresh = pool.acquire(stream=False)
    assert fresh is not plain
    await pool.release(streamed)
    assert not plain.closed  # the plain call still runs on it  # type: ignore[attr-defined]
    await pool.release(plain)
    assert plain.closed  # type: ignore[attr-defined]
    await pool.release(fresh)
    assert not fresh.closed  # type: ignore[attr-defined]
    await pool.aclose()
    assert fresh.closed  # type: ignore[attr-defined]
