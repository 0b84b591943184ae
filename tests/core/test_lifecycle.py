"""Closing models (issue 13 item 10): ``close()``, ``aclose()``, ``with``, ``async with``.

Models with the same settings share their SDK clients (polyvox.core.clients): closing one
gives its share back, and the clients close with the last model holding them.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest

from polyvox.core import ModelClosedError
from polyvox.ollama import ChatOllama, OllamaEmbeddings, OllamaLLM
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings, OpenAILLM
from polyvox.testing import Emulator

Factory = Callable[[Emulator], Any]

CHAT: dict[str, Factory] = {
    "openai": lambda emu: ChatOpenAI(
        model="gpt-4o-mini", api_key="k", base_url=emu.openai_base_url, max_retries=0
    ),
    "ollama": lambda emu: ChatOllama(model="llama3.2", base_url=emu.ollama_url, max_retries=0),
}


def _is_closed(client: Any) -> bool:
    """Whether an ``openai`` or ``ollama`` client (sync or async) was closed."""
    if hasattr(client, "is_closed") and callable(client.is_closed):
        return bool(client.is_closed())  # openai
    return bool(client._client.is_closed)  # ollama, over httpx


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_closing_one_of_two_models_sharing_a_client(emulator: Emulator, provider: str) -> None:
    first, second = CHAT[provider](emulator), CHAT[provider](emulator)
    assert first.invoke("hi").content
    assert second.invoke("hi").content
    client = first.client
    assert second.client is client
    first.close()
    assert first.closed
    assert not _is_closed(client), "the other model still holds it"
    assert second.invoke("still there").content
    with pytest.raises(ModelClosedError, match="was closed"):
        first.invoke("hi")
    first.close()  # again: nothing happens
    second.close()
    assert _is_closed(client), "closed with the last model holding it"


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_aclose_closes_the_running_loops_client_last(emulator: Emulator, provider: str) -> None:
    first, second = CHAT[provider](emulator), CHAT[provider](emulator)

    async def run() -> None:
        await first.ainvoke("hi")
        await second.ainvoke("hi")
        client = first.async_client
        assert second.async_client is client
        await first.aclose()
        assert not _is_closed(client)
        assert (await second.ainvoke("still there")).content
        with pytest.raises(ModelClosedError):
            await first.ainvoke("hi")
        await second.aclose()
        assert _is_closed(client)

    asyncio.run(run())


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_sync_close_inside_a_loop_closes_its_client_there(
    emulator: Emulator, provider: str
) -> None:
    model = CHAT[provider](emulator)

    async def run() -> Any:
        await model.ainvoke("hi")
        client = model.async_client
        model.close()  # sync, with the loop running: a task of the loop closes it
        await asyncio.sleep(0.05)
        return client

    assert _is_closed(asyncio.run(run()))


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_with_blocks(emulator: Emulator, provider: str) -> None:
    other = CHAT[provider](emulator)
    assert other.invoke("hi").content
    with CHAT[provider](emulator) as model:
        assert model.invoke("hi").content
    assert model.closed
    with pytest.raises(ModelClosedError):
        model.invoke("hi")
    with pytest.raises(ModelClosedError), model:
        pass
    assert other.invoke("unaffected").content

    async def run() -> None:
        async with CHAT[provider](emulator) as inner:
            assert (await inner.ainvoke("hi")).content
        assert inner.closed
        with pytest.raises(ModelClosedError):
            await inner.ainvoke("hi")
        assert (await other.ainvoke("unaffected")).content

    asyncio.run(run())
    other.close()


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_streams_of_a_closed_model_raise(emulator: Emulator, provider: str) -> None:
    model = CHAT[provider](emulator)
    model.close()
    with pytest.raises(ModelClosedError):
        list(model.stream("hi"))


def test_embeddings_close_like_chat_models(emulator: Emulator) -> None:
    openai_chat = CHAT["openai"](emulator)
    openai_chat.invoke("hi")
    with OpenAIEmbeddings(api_key="k", base_url=emulator.openai_base_url, max_retries=0) as emb:
        assert emb.embed_query("hi")
        assert emb.client is openai_chat.client, "chat and embeddings share the client"
    assert not _is_closed(openai_chat.client)
    with pytest.raises(ModelClosedError):
        emb.embed_query("hi")
    ollama = OllamaEmbeddings(base_url=emulator.ollama_url)

    async def run() -> None:
        assert await ollama.aembed_query("hi")
        client = ollama.async_client
        await ollama.aclose()
        assert _is_closed(client)

    asyncio.run(run())
    openai_chat.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda emu: OpenAILLM(model="gpt-4o-mini", api_key="k", base_url=emu.openai_base_url),
        lambda emu: OllamaLLM(model="llama3.2", base_url=emu.ollama_url),
    ],
    ids=["OpenAILLM", "OllamaLLM"],
)
def test_the_llm_adapter_closes_its_chat_model(emulator: Emulator, make: Factory) -> None:
    with make(emulator) as llm:
        assert llm.invoke("hi")
    assert llm.chat_model.closed
    llm = make(emulator)

    async def run() -> None:
        async with llm:
            assert await llm.ainvoke("hi")

    asyncio.run(run())
    assert llm.chat_model.closed


@pytest.mark.parametrize("provider", sorted(CHAT))
def test_copies_take_their_own_share(emulator: Emulator, provider: str) -> None:
    model = CHAT[provider](emulator)
    model.invoke("hi")
    client = model.client
    shallow = model.model_copy(update={"temperature": 0.5})
    deep = copy.deepcopy(model)
    for copied in (shallow, deep):
        assert copied.invoke("hi").content
        assert copied.client is client, "same settings: the same shared client"
    model.close()
    for copied in (shallow, deep):
        assert not copied.closed, "a copy holds its own share"
        assert copied.invoke("hi").content
    shallow.close()
    assert not _is_closed(client)
    deep.close()
    assert _is_closed(client)
    reopened = model.model_copy()  # a copy of a closed model is a new, open one
    assert reopened.invoke("hi").content
    assert reopened.client is not client
    reopened.close()
