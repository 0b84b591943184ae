"""SDK clients shared by models with the same connection settings (polyvox.core.clients)."""

from __future__ import annotations

import asyncio

from polyvox.core.clients import client_key, shared_async_holder, shared_client
from polyvox.ollama import ChatOllama
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.testing import Emulator


def test_models_with_the_same_settings_share_one_client(emulator: Emulator) -> None:
    url = emulator.openai_base_url
    first = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=url, max_retries=0)
    second = ChatOpenAI(model="gpt-4.1", api_key="k", base_url=url, max_retries=0)
    assert first.client is second.client, "another model name, the same connection"
    other_key = ChatOpenAI(model="gpt-4o-mini", api_key="k2", base_url=url, max_retries=0)
    other_url = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=url + "/", max_retries=0)
    assert other_key.client is not first.client
    assert other_url.client is not first.client
    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small", api_key="k", base_url=url, max_retries=0
    )
    assert embeddings.client is first.client, "embeddings share it with the chat models"
    assert first.invoke("hi").content
    assert second.invoke("hi").content


def test_ollama_models_share_too(emulator: Emulator) -> None:
    a = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)
    b = ChatOllama(model="qwen2.5", base_url=emulator.ollama_url)
    assert a.client is b.client
    assert ChatOllama(model="x", base_url=emulator.ollama_url, timeout=3).client is not a.client


def test_async_clients_are_shared_per_event_loop(emulator: Emulator) -> None:
    url = emulator.openai_base_url
    first = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=url, max_retries=0)
    second = ChatOpenAI(model="gpt-4.1", api_key="k", base_url=url, max_retries=0)

    async def clients() -> tuple[object, object]:
        await first.ainvoke("hi")
        return first.async_client, second.async_client

    one, two = asyncio.run(clients())
    assert one is two
    three, _ = asyncio.run(clients())
    assert three is not one, "a new loop gets its own client"


def test_the_key_freezes_mappings_in_order() -> None:
    assert client_key("x", {"h": {"b": 1, "a": 2}}) == client_key("x", {"h": {"a": 2, "b": 1}})
    assert shared_client(("test", 1), lambda: object()) is shared_client(("test", 1), object)
    assert shared_async_holder(("test", 2)) is shared_async_holder(("test", 2))
