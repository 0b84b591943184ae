"""SDK clients shared by models with the same connection settings (polyvox.core.clients)."""

from __future__ import annotations

import asyncio
import gc

from polyvox.core.clients import client_key, lease_async_holder, lease_client
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


class _Holder:
    """Stands for a model (leases hold their holders weakly)."""


def test_the_key_freezes_mappings_in_order() -> None:
    assert client_key("x", {"h": {"b": 1, "a": 2}}) == client_key("x", {"h": {"a": 2, "b": 1}})
    one, two = _Holder(), _Holder()
    first = lease_client(("test", 1), object, one)
    assert first.value is lease_client(("test", 1), object, two).value
    assert lease_async_holder(("test", 2), one).value is lease_async_holder(("test", 2), two).value


def test_the_last_holder_to_release_gets_the_client_to_close() -> None:
    one, two = _Holder(), _Holder()
    first = lease_client(("test", 3), object, one)
    second = lease_client(("test", 3), object, two)
    assert first.release() is None, "another holder still uses it"
    assert first.release() is None, "a second release does nothing"
    assert second.release() is first.value
    third = lease_client(("test", 3), object, one)
    assert third.value is not first.value, "a closed client is never handed out again"


def test_a_collected_holder_lets_go_without_closing() -> None:
    kept = _Holder()
    gone = _Holder()
    lease = lease_client(("test", 4), object, gone)
    del gone
    gc.collect()
    again = lease_client(("test", 4), object, kept)
    assert again.value is lease.value, "the warm client is still shared"
    assert again.release() is lease.value, "its last holder closes it"
