"""Models pickle without their SDK clients (issue 13 item 9), for multiprocessing."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from polyvox.ollama import ChatBielik, ChatOllama, OllamaEmbeddings, OllamaLLM
from polyvox.openai import (
    ChatCloudRu,
    ChatLlamaCpp,
    ChatOpenAI,
    ChatOpenRouter,
    ChatTogether,
    ChatVLLM,
    OpenAIEmbeddings,
    OpenAILLM,
)
from polyvox.testing import Emulator

Factory = Callable[[Emulator], Any]

MODELS: dict[str, Factory] = {
    "ChatOpenAI": lambda emu: ChatOpenAI(
        model="gpt-4o-mini", api_key="sk-secret", base_url=emu.openai_base_url
    ),
    "ChatOpenRouter": lambda emu: ChatOpenRouter(
        model="openai/gpt-4o", api_key="sk-secret", base_url=emu.openai_base_url, app_name="a"
    ),
    "ChatCloudRu": lambda emu: ChatCloudRu(
        model="m", api_key="sk-secret", base_url=emu.openai_base_url
    ),
    "ChatLlamaCpp": lambda emu: ChatLlamaCpp(api_key="sk-secret", base_url=emu.openai_base_url),
    "ChatVLLM": lambda emu: ChatVLLM(model="m", api_key="sk-secret", base_url=emu.openai_base_url),
    "ChatTogether": lambda emu: ChatTogether(
        model="m", api_key="sk-secret", base_url=emu.openai_base_url
    ),
    "OpenAIEmbeddings": lambda emu: OpenAIEmbeddings(
        api_key="sk-secret", base_url=emu.openai_base_url
    ),
    "OpenAILLM": lambda emu: OpenAILLM(
        model="gpt-4o-mini", api_key="sk-secret", base_url=emu.openai_base_url
    ),
    "ChatOllama": lambda emu: ChatOllama(
        model="llama3.2", api_key="sk-secret", base_url=emu.ollama_url
    ),
    "ChatBielik": lambda emu: ChatBielik(api_key="sk-secret", base_url=emu.ollama_url),
    "OllamaEmbeddings": lambda emu: OllamaEmbeddings(base_url=emu.ollama_url),
    "OllamaLLM": lambda emu: OllamaLLM(model="llama3.2", base_url=emu.ollama_url),
}


def _call(model: Any) -> Any:
    if hasattr(model, "embed_query"):
        return model.embed_query("hello")
    return model.invoke("hello")


async def _acall(model: Any) -> Any:
    if hasattr(model, "aembed_query"):
        return await model.aembed_query("hello")
    return await model.ainvoke("hello")


def _chat_model(model: Any) -> Any:
    return getattr(model, "chat_model", model)  # an LLM adapter's chat model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_used_model_pickles_and_the_copy_works(emulator: Emulator, name: str) -> None:
    model = MODELS[name](emulator)
    assert _call(model)
    assert asyncio.run(_acall(model))  # sync and async clients made
    restored = pickle.loads(pickle.dumps(model))
    assert type(restored) is type(model)
    assert restored.model_dump() == model.model_dump()
    inner, original = _chat_model(restored), _chat_model(model)
    assert inner._client is None, "no client travels: the copy takes its own"
    assert inner._async_client is None
    if original.api_key is not None:
        assert inner.api_key.get_secret_value() == original.api_key.get_secret_value()
        assert "sk-secret" not in repr(restored)
    assert _call(restored)
    assert asyncio.run(_acall(restored))
    assert not original.closed
    assert _call(model), "the original is untouched"


def test_a_closed_model_unpickles_open(emulator: Emulator) -> None:
    model = MODELS["ChatOpenAI"](emulator)
    model.invoke("hi")
    model.close()
    restored = pickle.loads(pickle.dumps(model))
    assert not restored.closed
    assert restored.invoke("hi").content
    restored.close()


def _chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("human", "Tell me about {topic}")])
    return prompt | model | StrOutputParser()


@pytest.mark.parametrize("name", ["ChatOpenAI", "ChatOllama"])
def test_a_chain_runs_in_a_spawned_process_pool(emulator: Emulator, name: str) -> None:
    model = MODELS[name](emulator)
    chain = _chain(model)
    assert chain.invoke({"topic": "here"})  # used (clients made) before it is pickled
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        answers = pool.map(chain.invoke, [{"topic": "Warsaw"}, {"topic": "Kraków"}])
    assert [answer.startswith("You said:") for answer in answers] == [True, True]
    assert "Warsaw" in answers[0]
    assert "Kraków" in answers[1]
